// The storage contract (contract v1.2, Storage), one suite run on both engines: SQLite
// (sqlite.test.ts; two instances on one file, as two processes) and PostgreSQL (postgres.test.ts;
// two instances on one database, as two nodes). Each test says what a client sees.

import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { executeCommand } from '../../src/app/execute-command';
import { VmRepository } from '../../src/app/vm-repository';
import type { EventRow } from '../../src/db/port';
import type { Engine } from '../../src/db/port';
import { STALE_POSITION } from '../../src/db/port';
import { createStores, type Stores } from '../../src/db/index';
import type { Command } from '../../src/domain/topology/types';
import { openSse } from '../helpers/sse';
import { startTestAppOn, type TestApp } from '../helpers/test-app';
import { acceleratedS10, command, emulatedBaseline } from '../helpers/topology';

export interface ContractDatabase {
  /** DOORBELL_DB for the service: a file path or a postgres:// URL. */
  setting: string;
  /** Runs SQL behind the service's back (as an operator's shell would); rejects when the database refuses. */
  raw(sql: string): Promise<void>;
  drop(): Promise<void>;
}

/**
 * How long a test waits for an event to reach another node or listener: loose, so that a busy CI
 * machine does not fail it. The target (within a second) is measured by the bench, not here.
 */
const LOOSE_DELIVERY_MS = 10_000;

const metadata = () => ({ occurredAt: new Date().toISOString(), actor: 'contract', requestId: 'contract' });

/** Appends through the port, planning again when another instance appended first (SQLite's refusal). */
async function appendRetrying(stores: Stores, plan: (after: number) => Promise<EventRow[]>): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    try {
      // The events go after the position the append answers (PostgreSQL places them at commit).
      const { afterPosition } = await stores.events.append(async (after) => ({
        afterPosition: after,
        events: await plan(after),
        idempotency: [],
      }));
      return afterPosition + 1;
    } catch (error) {
      if (!(error instanceof Error) || !error.message.includes(STALE_POSITION) || attempt > 5) throw error;
    }
  }
}

/** A VmDefined event row for a new VM, placed after `after`. */
function defineRow(stores: Stores, vmId: string, after: number): EventRow[] {
  return stores.events.rowsFor(vmId, 0, after, [{ type: 'VmDefined', data: definedData(vmId) } as never], metadata());
}

function definedData(vmId: string) {
  return { vmId, ramSize: 1n << 30n, gicVersion: 3, its: true, kvm: true, hostItsBase: null };
}

export function storageContract(engine: Engine, newDatabase: () => Promise<ContractDatabase>): void {
  describe(`storage contract on ${engine}`, () => {
    let database: ContractDatabase;
    let a: TestApp;
    let b: TestApp;

    beforeAll(async () => {
      database = await newDatabase();
      a = await startTestAppOn(database.setting);
      b = await startTestAppOn(database.setting);
    });

    afterAll(async () => {
      await a?.close();
      await b?.close();
      await database?.drop();
    });

    it('numbers events from 1, gap-free and in commit order, with writers on both instances', async () => {
      const writes = Array.from({ length: 12 }, (_, i) =>
        (i % 2 === 0 ? a : b).http.post('/v1/vms').send({ id: `gap-${i}`, ramSize: '0x40000000' }),
      );
      const answers = await Promise.all(writes);
      expect(answers.map((r) => r.status)).toEqual(answers.map(() => 201));
      const page = await b.http.get('/v1/events?limit=1000').expect(200);
      const positions = (page.body.results as { position: number }[]).map((e) => e.position);
      expect(positions).toEqual(positions.map((_, i) => i + 1));
      // Every acknowledged position is in the log exactly once.
      const acknowledged = answers.flatMap((r) => (r.body.events as { position: number }[]).map((e) => e.position));
      expect(new Set(acknowledged).size).toBe(acknowledged.length);
      for (const p of acknowledged) expect(positions).toContain(p);
    });

    it('a pager of ?after= misses nothing when a slow append and a fast one overlap', async () => {
      const pagerAfter = (await a.http.get('/v1/events?limit=1').expect(200)).body.count as number;
      const start = (await b.stores.events.lastPosition()) as number;
      expect(pagerAfter).toBe(start);
      let releaseSlow!: () => void;
      const slowMayFinish = new Promise<void>((r) => {
        releaseSlow = r;
      });
      let slowPlanned!: () => void;
      const slowStarted = new Promise<void>((r) => {
        slowPlanned = r;
      });
      // The slow one plans first and takes long to finish (on PostgreSQL its events take their
      // positions when it commits, after the fast one's; on SQLite its commit is refused and it
      // plans again).
      let slowAttempts = 0;
      const slow = appendRetrying(a.stores, async (after) => {
        slowAttempts += 1;
        slowPlanned();
        if (slowAttempts === 1) await slowMayFinish;
        return defineRow(a.stores, 'slow-vm', after);
      });
      await slowStarted;
      const fast = appendRetrying(b.stores, async (after) => defineRow(b.stores, 'fast-vm', after));
      // The pager reads while the two are in flight, and after.
      const seen: number[] = [];
      let cursor = start;
      const readPage = async () => {
        const page = await a.http.get(`/v1/events?after=${cursor}&limit=100`).expect(200);
        for (const e of page.body.results as { position: number }[]) {
          seen.push(e.position);
          cursor = e.position;
        }
      };
      await new Promise((r) => setTimeout(r, 100));
      await readPage();
      releaseSlow();
      await Promise.all([slow, fast]);
      await readPage();
      expect(seen).toEqual([start + 1, start + 2]);
      const page = await b.http.get(`/v1/events?after=${start}`).expect(200);
      expect((page.body.results as { streamId: string }[]).map((e) => e.streamId).sort()).toEqual([
        'fast-vm',
        'slow-vm',
      ]);
    });

    it('two instances appending with the same If-Match: exactly one wins, the other gets 412 with the current version', async () => {
      await emulatedBaseline(a, 'race');
      const version = Number(((await b.http.get('/v1/vms/race').expect(200)).headers.etag as string).replace(/"/g, ''));
      for (let round = 0; round < 5; round++) {
        const current = version + round;
        const [one, two] = await Promise.all(
          [a, b].map((t, i) =>
            t.http
              .put(`/v1/vms/race/devices/net0/msi-vectors/${round}`)
              .set('If-Match', `"${current}"`)
              .send({ address: '0x8090040', data: `0x${(i + 1).toString(16)}` }),
          ),
        );
        const statuses = [one!.status, two!.status].sort();
        expect(statuses, JSON.stringify([one!.body, two!.body])).toEqual([200, 412].sort());
        const loser = one!.status === 412 ? one! : two!;
        expect(loser.body).toMatchObject({ code: 'PRECONDITION_FAILED', currentVersion: current + 1 });
      }
    });

    it('one Idempotency-Key sent to both instances at once appends once, and both answers are the same', async () => {
      const before = await a.stores.events.lastPosition();
      const send = (t: TestApp) =>
        t.http.post('/v1/vms').set('Idempotency-Key', 'contract-once').send({ id: 'idem-vm', ramSize: '0x40000000' });
      const [one, two] = await Promise.all([send(a), send(b)]);
      expect(one!.status).toBe(201);
      expect(two!.status).toBe(201);
      expect(two!.text).toBe(one!.text);
      expect(await b.stores.events.lastPosition()).toBe(before + 1);
      const page = await a.http.get(`/v1/events?after=${before}`).expect(200);
      expect(page.body.count).toBe(1);
    });

    /**
     * Holds instance `t`'s next append after it planned, until `release` resolves: what another
     * instance commits meanwhile is in the log before it. (On SQLite its commit is then refused and
     * it plans again; on PostgreSQL it takes its positions at commit, after the other's.)
     */
    function holdNextAppend(t: TestApp) {
      let planned!: () => void;
      const hasPlanned = new Promise<void>((r) => {
        planned = r;
      });
      let release!: () => void;
      const released = new Promise<void>((r) => {
        release = r;
      });
      const events = t.stores.events;
      const append = events.append.bind(events);
      const spy = vi.spyOn(events, 'append').mockImplementationOnce((plan, streams) =>
        append(async (after, versions) => {
          const write = await plan(after, versions);
          planned();
          await released;
          return write;
        }, streams),
      );
      return { hasPlanned, release, restore: () => spy.mockRestore() };
    }

    it('a command planned while the other instance appends answers with the positions the log gave it, also on a retry', async () => {
      await emulatedBaseline(a, 'placed');
      const held = holdNextAppend(a);
      try {
        const vector = a.http
          .put('/v1/vms/placed/devices/net0/msi-vectors/0')
          .set('Idempotency-Key', 'contract-placed')
          .send({ address: '0x8090040', data: '0x7' })
          .then((r) => r);
        await held.hasPlanned;
        await command(b, 'post', '/v1/vms', { id: 'placed-meanwhile', ramSize: '0x40000000' });
        held.release();
        const answer = await vector;
        expect(answer.status, answer.text).toBe(200);
        const log = await b.http.get('/v1/events?limit=1000').expect(200);
        const results = log.body.results as { position: number; streamId: string; type: string }[];
        const [meanwhile] = results.filter((e) => e.streamId === 'placed-meanwhile');
        const programmed = results.filter((e) => e.streamId === 'placed').at(-1)!;
        expect(programmed.type).toBe('MsiVectorProgrammed');
        // Committed after the other instance's event, and answered with that position.
        expect(programmed.position).toBeGreaterThan(meanwhile!.position);
        expect(answer.body.events).toEqual([
          expect.objectContaining({ position: programmed.position, type: 'MsiVectorProgrammed' }),
        ]);
        expect(answer.body.setBy).toBe(programmed.position);
        // The state both instances serve names the same event.
        for (const t of [a, b]) {
          const read = await t.http.get('/v1/vms/placed/devices/net0/msi-vectors/0').expect(200);
          expect(read.body.setBy).toBe(programmed.position);
        }
        // A retry under the key, on either instance, gets the first answer byte for byte.
        for (const t of [a, b]) {
          const again = await t.http
            .put('/v1/vms/placed/devices/net0/msi-vectors/0')
            .set('Idempotency-Key', 'contract-placed')
            .send({ address: '0x8090040', data: '0x7' })
            .expect(200);
          expect(again.text).toBe(answer.text);
        }
      } finally {
        held.restore();
      }
    });

    it('a command planned on a VM the other instance changes meanwhile is planned again on the change', async () => {
      const before = await b.http.get('/v1/vms/placed').expect(200);
      const version = Number((before.headers.etag as string).replace(/"/g, ''));
      const held = holdNextAppend(a);
      try {
        const mine = a.http
          .put('/v1/vms/placed/devices/net0/msi-vectors/1')
          .send({ address: '0x8090040', data: '0x11' })
          .then((r) => r);
        await held.hasPlanned;
        const theirs = await command(b, 'put', '/v1/vms/placed/devices/net0/msi-vectors/2', {
          address: '0x8090040',
          data: '0x12',
        });
        held.release();
        const answer = await mine;
        expect(answer.status, answer.text).toBe(200);
        expect(theirs.body.version).toBe(version + 1);
        expect(answer.body.version).toBe(version + 2);
        const vm = await b.http.get('/v1/vms/placed/devices/net0/msi-vectors').expect(200);
        expect(JSON.stringify(vm.body)).toContain('"data":"0x11"');
        expect(JSON.stringify(vm.body)).toContain('"data":"0x12"');
        if (engine === 'postgres') {
          const metrics = await a.http.get('/metrics').expect(200);
          expect(metrics.text).toMatch(/^doorbell_pg_append_replans_total [1-9]\d*$/m);
        }
      } finally {
        held.restore();
      }
    });

    it(`while a batch waits for its commit, a command on another VM ${engine === 'postgres' ? 'is committed meanwhile' : 'waits for it'}; one on the same VM always waits`, async () => {
      await command(a, 'post', '/v1/vms', { id: 'flight-b', ramSize: '0x40000000' });
      const held = holdNextAppend(a);
      try {
        const program = (vm: string, vector: number) =>
          a.http
            .put(`/v1/vms/${vm}/devices/net0/msi-vectors/${vector}`)
            .send({ address: '0x8090040', data: `0x${vector}` })
            .then((r) => r);
        const answered: string[] = [];
        const noting =
          (name: string) =>
          <T>(response: T) => {
            answered.push(name);
            return response;
          };
        const first = program('placed', 5).then(noting('placed 5'));
        await held.hasPlanned;
        const sameVm = program('placed', 6).then(noting('placed 6'));
        const otherVm = a.http
          .post('/v1/vms/flight-b/smmus')
          .send({ id: 'smmuv3.0', primaryBus: 'pcie.0' })
          .then(noting('flight-b'));
        if (engine === 'postgres') {
          expect((await otherVm).status).toBe(201);
          expect(answered).toEqual(['flight-b']);
        } else {
          await new Promise((r) => setTimeout(r, 200));
          expect(answered).toEqual([]);
        }
        held.release();
        const [one, two, other] = await Promise.all([first, sameVm, otherVm]);
        expect([one.status, two.status, other.status]).toEqual([200, 200, 201]);
        // The same VM's commands in the order they came, each on the version the one before left.
        expect(answered.indexOf('placed 5')).toBeLessThan(answered.indexOf('placed 6'));
        expect(two.body.version).toBe(one.body.version + 1);
      } finally {
        held.restore();
      }
    });

    it('refuses UPDATE, DELETE and TRUNCATE of events and records in the database itself', async () => {
      const resolution = await command(a, 'post', '/v1/vms/race/msi-resolutions', { device: 'net0', vector: 0 });
      expect(resolution.status).toBe(201);
      const refused = [
        'UPDATE events SET type = type',
        'DELETE FROM events',
        'UPDATE msi_resolutions SET vm_id = vm_id',
      ];
      refused.push('DELETE FROM msi_resolutions', 'DELETE FROM resolution_bodies');
      if (engine === 'postgres') refused.push('TRUNCATE events', 'TRUNCATE msi_resolutions', 'TRUNCATE fleet_sweeps');
      for (const sql of refused) await expect(database.raw(sql), sql).rejects.toThrow(/immutable/);
      const again = await b.http.get(resolution.headers.location as string).expect(200);
      expect(again.text).toBe(resolution.text);
    });

    it('a read on one instance reflects every change the other acknowledged before it (no stale cache)', async () => {
      await acceleratedS10(a, 'fresh');
      // Both instances have the VM and its live route in memory now.
      const route = '/v1/vms/fresh/devices/hostdev0/msi-vectors/0/route';
      await command(a, 'put', '/v1/vms/fresh/devices/hostdev0/msi-vectors/0', { address: '0xfffff040', data: '0x1' });
      const first = await a.http.get(route).expect(200);
      await b.http.get(route).expect(200);
      await b.http.get('/v1/vms/fresh').expect(200);
      for (let i = 2; i < 6; i++) {
        const changed = await command(b, 'put', '/v1/vms/fresh/devices/hostdev0/msi-vectors/0', {
          address: '0xfffff040',
          data: `0x${i.toString(16)}`,
        });
        const vm = await a.http.get('/v1/vms/fresh').expect(200);
        expect(vm.headers.etag).toBe(changed.headers.etag);
        const live = await a.http.get(route).expect(200);
        expect(live.headers.etag).not.toBe(first.headers.etag);
        expect(live.headers.etag).toContain(String(changed.body.version));
        expect(live.body.route.data).toBe(`0x${i.toString(16)}`);
      }
    });

    it('a record written on one instance reads byte for byte on the other', async () => {
      const resolution = await command(b, 'post', '/v1/vms/fresh/msi-resolutions', { device: 'hostdev0', vector: 0 });
      const read = await a.http.get(resolution.headers.location as string).expect(200);
      expect(read.text).toBe(resolution.text);
      const sweep = await command(a, 'post', '/v1/vms/fresh/msi-sweeps', {});
      const sweepRead = await b.http.get(sweep.headers.location as string).expect(200);
      expect(sweepRead.text).toBe(sweep.text);
      const fleet = await command(b, 'post', '/v1/fleet-sweeps', { vm: ['fresh', 'race'] });
      const fleetRead = await a.http.get(fleet.headers.location as string).expect(200);
      expect(fleetRead.text).toBe(fleet.text);
    });

    // Latency targets (a second) are the bench's (bench/run.ts); a test keeps a loose bound, so that
    // a busy CI machine does not fail it, and a lost notification still does.
    it(`onAppended hears of appends ${engine === 'postgres' ? 'on every node' : 'committed by this process'}`, async () => {
      const listening = engine === 'postgres' ? b : a;
      const heard: number[] = [];
      const stop = listening.stores.events.onAppended((last) => heard.push(last));
      try {
        await new Promise((r) => setTimeout(r, 200));
        const answer = await command(a, 'post', '/v1/vms', { id: 'heard-vm', ramSize: '0x40000000' });
        const position = (answer.body.events as { position: number }[])[0]!.position;
        const deadline = Date.now() + LOOSE_DELIVERY_MS;
        while (!heard.includes(position) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        expect(heard).toContain(position);
      } finally {
        stop();
      }
      const count = heard.length;
      await command(a, 'post', '/v1/vms', { id: 'unheard-vm', ramSize: '0x40000000' });
      await new Promise((r) => setTimeout(r, 100));
      expect(heard.length).toBe(count);
    });

    it('group commit: commands that arrive together share one append, each with its own If-Match outcome', async () => {
      await command(a, 'post', '/v1/vms', { id: 'batch-vm', ramSize: '0x40000000' });
      await command(a, 'post', '/v1/vms/batch-vm/devices', {
        id: 'net0',
        driver: 'virtio-net-pci',
        bus: 'pcie.0',
        slot: 2,
      });
      const version = (await a.services.vms.load('batch-vm'))!.version;
      const appends = vi.spyOn(a.stores.events, 'append');
      const put = (vector: number, ifMatch: number) => {
        const command: Command = { type: 'ProgramMsiVector', deviceId: 'net0', vector, address: 0x8090040n, data: 1n };
        return executeCommand(a.services, {
          vmId: 'batch-vm',
          command,
          status: 200,
          represent: ({ state }) => ({ body: { vm: state.id } }),
          precondition: { versions: [ifMatch] },
          metadata: metadata(),
        });
      };
      // The second names the version the first leaves; the third names one that is gone by then.
      const outcomes = await Promise.allSettled([put(0, version), put(1, version + 1), put(2, version)]);
      const calls = appends.mock.calls.length;
      appends.mockRestore();
      expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'rejected']);
      expect((outcomes[2] as PromiseRejectedResult).reason).toMatchObject({ code: 'PRECONDITION_FAILED' });
      expect(calls).toBe(1);
      expect((await b.services.vms.load('batch-vm'))!.version).toBe(version + 2);
    });

    it('GET /v1/events/stream on one instance delivers an event appended on the other', async () => {
      await b.app.listen({ host: '127.0.0.1', port: 0 });
      const after = await b.stores.events.lastPosition();
      const stream = await openSse(
        `http://127.0.0.1:${(b.app.server.address() as AddressInfo).port}/v1/events/stream?after=${after}`,
        { authorization: `Bearer ${b.adminToken}` },
      );
      try {
        expect(stream.status).toBe(200);
        const appended = await command(a, 'post', '/v1/vms', { id: 'streamed-vm', ramSize: '0x40000000' });
        const position = (appended.body.events as { position: number }[])[0]!.position;
        await stream.waitFor((c) => c.messages.some((m) => Number(m.id) === position), LOOSE_DELIVERY_MS);
        expect(stream.messages.map((m) => Number(m.id))).toEqual([position]);
      } finally {
        stream.close();
      }
    });

    it('lists and filters read what the other instance wrote: events by vm and type, VMs by status, records by field', async () => {
      await command(a, 'post', '/v1/vms', { id: 'listed-vm', ramSize: '0x40000000' });
      await command(a, 'post', '/v1/vms/listed-vm/devices', {
        id: 'nic9',
        driver: 'virtio-net-pci',
        bus: 'pcie.0',
        slot: 3,
      });
      await command(b, 'delete', '/v1/vms/listed-vm');
      const events = await a.http.get('/v1/events?vm=listed-vm&type=VmDecommissioned').expect(200);
      expect(events.body.count).toBe(1);
      expect(events.body.results[0]).toMatchObject({ type: 'VmDecommissioned', streamId: 'listed-vm' });
      const gone = await a.http.get('/v1/vms?status=decommissioned').expect(200);
      expect((gone.body.results as { id: string }[]).map((v) => v.id)).toEqual(['listed-vm']);
      const active = await b.http.get('/v1/vms?status=active&limit=1000').expect(200);
      expect((active.body.results as { id: string }[]).map((v) => v.id)).not.toContain('listed-vm');
      await command(b, 'post', '/v1/vms/fresh/msi-resolutions', {
        device: 'hostdev0',
        vector: 0,
        semantics: 'pre-fix',
      });
      const byDevice = await a.http.get('/v1/msi-resolutions?vm=fresh&device=hostdev0&semantics=pre-fix').expect(200);
      expect(byDevice.body.count).toBe(1);
      // An MSI to an address stage 1 does not map: address-space walks it and faults, so KVM
      // installs no route (domain reference §10): a record with installed false.
      await command(b, 'post', '/v1/vms/fresh/msi-resolutions', {
        device: 'hostdev0',
        address: '0xffffe040',
        data: '0x0',
        semantics: 'address-space',
      });
      // installed=true and installed=false split the records exactly as each record's own route says.
      const all = await a.http.get('/v1/msi-resolutions?vm=fresh&limit=1000').expect(200);
      const idsWhere = (installed: boolean) =>
        (all.body.results as { id: string; route: { installed: boolean } }[])
          .filter((r) => r.route.installed === installed)
          .map((r) => r.id);
      for (const installed of [true, false]) {
        const expected = idsWhere(installed);
        expect(expected.length, `records with installed ${installed}`).toBeGreaterThan(0);
        const filtered = await a.http.get(`/v1/msi-resolutions?vm=fresh&installed=${installed}&limit=1000`).expect(200);
        expect(filtered.body.results.map((r: { id: string }) => r.id)).toEqual(expected);
      }
      const sweeps = await b.http.get('/v1/msi-sweeps?vm=fresh').expect(200);
      expect(sweeps.body.count).toBe(1);
      // A sweep matches a device it resolved a vector of, and no other.
      const ofDevice = await a.http.get('/v1/msi-sweeps?vm=fresh&device=hostdev0').expect(200);
      expect(ofDevice.body.results.map((r: { id: string }) => r.id)).toEqual([sweeps.body.results[0].id]);
      const ofOther = await a.http.get('/v1/msi-sweeps?vm=fresh&device=no-such-device').expect(200);
      expect(ofOther.body.count).toBe(0);
    });

    it('orders records and tokens by each field, both ways, as the other instance wrote them', async () => {
      // Three VMs created in the order b, c, a, each with one record of its own semantics, so that
      // every ordering has one answer, derived here by hand.
      const semanticsOf = { 'order-b': 'upstream', 'order-c': 'address-space', 'order-a': 'pre-fix' } as const;
      const resolutionOf: Record<string, string> = {};
      const sweepOf: Record<string, string> = {};
      for (const [vm, semantics] of Object.entries(semanticsOf)) {
        await emulatedBaseline(a, vm, {}, 'net9');
        await command(a, 'put', `/v1/vms/${vm}/devices/net9/msi-vectors/0`, { address: '0x8090040', data: '0x0' });
        const body = { device: 'net9', vector: 0, semantics };
        resolutionOf[vm] = (await command(a, 'post', `/v1/vms/${vm}/msi-resolutions`, body)).body.id;
      }
      const expected: [string, string[]][] = [
        ['created', ['order-b', 'order-c', 'order-a']],
        ['vm', ['order-a', 'order-b', 'order-c']],
        // address-space < pre-fix < upstream
        ['semantics', ['order-c', 'order-a', 'order-b']],
      ];
      const orderings = expected.flatMap(([field, vms]) => [
        [field, vms] as const,
        [`-${field}`, [...vms].reverse()] as const,
      ]);
      const idsOf = (response: { body: { results: { id: string }[] } }) => response.body.results.map((r) => r.id);
      for (const [ordering, order] of orderings) {
        const listed = await b.http.get(`/v1/msi-resolutions?device=net9&ordering=${ordering}`).expect(200);
        expect(idsOf(listed), `resolutions ${ordering}`).toEqual(order.map((vm) => resolutionOf[vm]));
      }
      // Filters combine; a page of one keeps the count of all.
      const one = await b.http.get('/v1/msi-resolutions?device=net9&semantics=pre-fix').expect(200);
      expect(idsOf(one)).toEqual([resolutionOf['order-a']]);
      const paged = await b.http.get('/v1/msi-resolutions?device=net9&ordering=vm&limit=1&offset=1').expect(200);
      expect(paged.body.count).toBe(3);
      expect(idsOf(paged)).toEqual([resolutionOf['order-b']]);

      // Sweeps, made in the same order b, c, a (their resolutions join the list above, hence after it).
      for (const [vm, semantics] of Object.entries(semanticsOf))
        sweepOf[vm] = (await command(a, 'post', `/v1/vms/${vm}/msi-sweeps`, { semantics })).body.id;
      for (const [ordering, order] of orderings) {
        const listed = await b.http.get(`/v1/msi-sweeps?device=net9&ordering=${ordering}`).expect(200);
        expect(idsOf(listed), `sweeps ${ordering}`).toEqual(order.map((vm) => sweepOf[vm]));
      }

      for (const name of ['ord-b', 'ord-a', 'ord-c'])
        await a.http
          .post('/v1/tokens')
          .send({ name, scopes: ['read'] })
          .expect(201);
      for (const [ordering, names] of [
        ['name', ['ord-a', 'ord-b', 'ord-c']],
        ['-name', ['ord-c', 'ord-b', 'ord-a']],
        ['createdAt', ['ord-b', 'ord-a', 'ord-c']],
        ['-createdAt', ['ord-c', 'ord-a', 'ord-b']],
      ] as const) {
        const tokens = await b.http.get(`/v1/tokens?ordering=${ordering}&limit=1000`).expect(200);
        const ours = (tokens.body.results as { name: string }[]).map((t) => t.name).filter((n) => n.startsWith('ord-'));
        expect(ours, `tokens ${ordering}`).toEqual(names);
      }
    });

    it('tokens hold across instances: a name taken on one is refused on the other, a revoked token is refused by both', async () => {
      const created = await a.http
        .post('/v1/tokens')
        .send({ name: 'contract-reader', scopes: ['read'] })
        .expect(201);
      const taken = await b.http.post('/v1/tokens').send({ name: 'contract-reader', scopes: ['read'] });
      expect(taken.status).toBe(409);
      expect(taken.body.code).toBe('TOKEN_NAME_TAKEN');
      const token = created.body.token as string;
      await b.anonymous.get('/v1/vms').set('Authorization', `Bearer ${token}`).expect(200);
      await b.http.delete(`/v1/tokens/${created.body.id}`).expect(200);
      for (const t of [a, b]) await t.anonymous.get('/v1/vms').set('Authorization', `Bearer ${token}`).expect(401);
    });

    it('a new instance on the same database starts on what is stored (migrations already applied)', async () => {
      const third = await createStores(database.setting);
      try {
        expect((await third.health()).checks.migrations.ok).toBe(true);
        expect((await new VmRepository(third.events).load('fresh'))?.version).toBe(
          (await a.services.vms.load('fresh'))?.version,
        );
      } finally {
        await third.close();
      }
    });
  });
}
