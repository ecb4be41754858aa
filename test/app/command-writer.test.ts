// Group commit for commands, as the application sees it: commands submitted together are
// planned in arrival order, each against the state the ones before it left, each with its own
// outcome, and committed in one write (one transaction, one fsync) on the writer thread.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type CommandRequest, executeCommand } from '../../src/app/execute-command';
import { createServices, type Services } from '../../src/app/services';
import { STALE_POSITION } from '../../src/db/port';
import { createStores, type Stores } from '../../src/db/index';
import type { SqliteStores } from '../../src/db/sqlite/stores';
import type { Command } from '../../src/domain/topology/types';

let dir: string;
let stores: Stores;
let services: Services;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'doorbell-commands-'));
  stores = await createStores(join(dir, 'doorbell.db'));
  services = createServices(stores);
});
afterEach(async () => {
  await stores.close();
  rmSync(dir, { recursive: true, force: true });
});

const metadata = () => ({ occurredAt: new Date().toISOString(), actor: 'test', requestId: 'r' });
const request = (vmId: string, command: Command, extra: Partial<CommandRequest> = {}): CommandRequest => ({
  vmId,
  command,
  status: 201,
  represent: ({ state }) => ({ body: { vm: state.id } }),
  metadata: metadata(),
  ...extra,
});
const bus = (vmId: string, id: string, busNr: number): CommandRequest =>
  request(vmId, { type: 'AddBus', busId: id, busType: 'pxb-pcie', busNr });

describe('group commit', () => {
  it('commits commands submitted together in one write; a rejected one leaves the others committed', async () => {
    await executeCommand(services, request('vm1', { type: 'DefineVm', vmId: 'vm1' }));
    const writes = vi.spyOn(stores.records, 'write');
    const outcomes = await Promise.allSettled([
      executeCommand(services, bus('vm1', 'pcie.1', 1)),
      executeCommand(services, bus('vm1', 'pcie.2', 1)), // bus number 1 is taken by the one before: 409
      executeCommand(services, bus('vm1', 'pcie.3', 3)),
      executeCommand(services, request('vm2', { type: 'DefineVm', vmId: 'vm2' })),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect((outcomes[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'BUS_NUMBER_TAKEN' });
    expect(writes).toHaveBeenCalledTimes(1);
    // Positions are gap-free across the batch, in arrival order.
    const events = await stores.events.readAll(0, 100);
    expect(events.map((e) => [e.position, e.streamId, e.type])).toEqual([
      [1, 'vm1', 'VmDefined'],
      [2, 'vm1', 'BusAdded'],
      [3, 'vm1', 'BusAdded'],
      [4, 'vm2', 'VmDefined'],
    ]);
    expect((await services.vms.load('vm1'))?.buses.has('pcie.3')).toBe(true);
  });

  it('checks each If-Match against the version the commands before it in the batch left', async () => {
    await executeCommand(services, request('vm1', { type: 'DefineVm', vmId: 'vm1' }));
    const ifMatch1 = { precondition: { versions: [1] } };
    const outcomes = await Promise.allSettled([
      executeCommand(services, { ...bus('vm1', 'pcie.1', 1), ...ifMatch1 }),
      executeCommand(services, { ...bus('vm1', 'pcie.2', 2), ...ifMatch1 }),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected']);
    expect((outcomes[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'PRECONDITION_FAILED' });
    expect(await stores.events.version('vm1')).toBe(2);
  });

  it('answers a retry under the same Idempotency-Key in the same batch with the first answer, appending once', async () => {
    const claim = { idempotency: { key: 'k1', fingerprint: 'same' } };
    const [first, retry] = await Promise.all([
      executeCommand(services, request('vm1', { type: 'DefineVm', vmId: 'vm1' }, claim)),
      executeCommand(services, request('vm1', { type: 'DefineVm', vmId: 'vm1' }, claim)),
    ]);
    expect(first.replayed).toBe(false);
    expect(retry).toEqual({ ...first, replayed: true });
    expect(await stores.events.lastPosition()).toBe(1);
    const other = executeCommand(
      services,
      request('vm1', { type: 'DefineVm', vmId: 'vm1' }, { idempotency: { key: 'k1', fingerprint: 'other' } }),
    );
    await expect(other).rejects.toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });
  });

  it('publishes a state only once its events are committed: a read during the commit sees the old version', async () => {
    await executeCommand(services, request('vm1', { type: 'DefineVm', vmId: 'vm1' }));
    const pending = executeCommand(services, bus('vm1', 'pcie.1', 1));
    // The batch is planned on the next turn of the event loop and committed on the writer thread.
    await new Promise((r) => setImmediate(r));
    expect((await services.vms.load('vm1'))?.version).toBe(1);
    await pending;
    expect((await services.vms.load('vm1'))?.version).toBe(2);
  });

  it('the writer refuses events placed after a position the log has moved past (another process appended)', async () => {
    await executeCommand(services, request('vm1', { type: 'DefineVm', vmId: 'vm1' }));
    // On SQLite the record writer commits the events too (a test of the SQLite adapter's writer).
    const write = (stores as Stores & Pick<SqliteStores, 'records'>).records.write({
      append: { afterPosition: 0, events: [], idempotency: [] },
    });
    await expect(write).rejects.toThrow(STALE_POSITION);
  });

  it('plans on what another process appended meanwhile, not on the state it last knew', async () => {
    await executeCommand(services, request('vm1', { type: 'DefineVm', vmId: 'vm1' }));
    await executeCommand(services, bus('vm1', 'pcie.1', 1));
    // Another process on the same file takes bus number 2 for pcie.2.
    const other = await createStores(join(dir, 'doorbell.db'));
    try {
      await executeCommand(createServices(other), bus('vm1', 'pcie.2', 2));
    } finally {
      await other.close();
    }
    // This process last knew vm1 at version 2; planned on that, bus number 2 would look free.
    await expect(executeCommand(services, bus('vm1', 'pcie.3', 2))).rejects.toMatchObject({ code: 'BUS_NUMBER_TAKEN' });
    expect(await stores.events.version('vm1')).toBe(3);
  });
});
