// The webhook port (src/db/port.ts) on both engines, through two store instances on one
// database (two processes on one SQLite file, two nodes on one PostgreSQL database): the lease
// lets one instance deliver for a hook at a time, an attempt is recorded only by the lease
// holder, and a stream ticket works once. PostgreSQL runs when a server answers.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStores, type Stores } from '../../src/db/index';
import type { NewDelivery, WebhookRow } from '../../src/db/port';
import { createTestDatabase, pgAvailable, type TestDatabase } from '../helpers/pg';

const hookRow = (id: string): WebhookRow => ({
  id,
  url: 'http://127.0.0.1:9/x',
  eventTypes: ['VmDefined'],
  vms: [],
  enabled: true,
  secret: 'whsec_c2VjcmV0',
  previousSecret: null,
  previousSecretUntil: null,
  createdAt: '2026-12-07T00:00:00.000Z',
  updatedAt: '2026-12-07T00:00:00.000Z',
  cursor: 0,
  failures: 0,
  failingSince: null,
  nextAttemptAt: null,
  disabledReason: null,
  leaseOwner: null,
  leaseUntil: null,
});

const attempt = (hookId: string, position: number, node: string): NewDelivery => ({
  hookId,
  position,
  eventType: 'VmDefined',
  messageId: `msg_${hookId}_${position}`,
  attempt: 1,
  outcome: 'delivered',
  httpStatus: 200,
  error: null,
  attemptedAt: '2026-12-07T00:00:01.000Z',
  latencyMs: 3,
  responseExcerpt: 'ok',
  node,
});

function webhookPortContract(engine: string, open: () => Promise<{ setting: string; drop(): Promise<void> }>) {
  describe(`webhook port on ${engine}`, () => {
    let a: Stores;
    let b: Stores;
    let drop: () => Promise<void>;

    beforeAll(async () => {
      const database = await open();
      drop = database.drop;
      a = await createStores(database.setting);
      b = await createStores(database.setting);
    });
    afterAll(async () => {
      await b?.close();
      await a?.close();
      await drop?.();
    });

    it('keeps a hook as written (lists, flags, nulls)', async () => {
      await a.webhooks.insert(hookRow('00000000000000a1'));
      expect(await b.webhooks.find('00000000000000a1')).toEqual(hookRow('00000000000000a1'));
      expect((await b.webhooks.list(10, 0)).total).toBe(1);
    });

    it('leases a hook to one instance at a time; the other takes it once the lease runs out', async () => {
      await a.webhooks.insert(hookRow('00000000000000b1'));
      const now = Date.now();
      expect(await a.webhooks.claim('00000000000000b1', 'A', now, 1000)).toMatchObject({ leaseOwner: 'A' });
      expect(await b.webhooks.claim('00000000000000b1', 'B', now + 500, 1000)).toBeUndefined();
      // A renews; B still waits. Past A's lease (renewed at now+600 for 1000 ms), B takes it.
      expect(await a.webhooks.claim('00000000000000b1', 'A', now + 600, 1000)).toBeDefined();
      expect(await b.webhooks.claim('00000000000000b1', 'B', now + 1500, 1000)).toBeUndefined();
      expect(await b.webhooks.claim('00000000000000b1', 'B', now + 1600, 1000)).toMatchObject({ leaseOwner: 'B' });
      // A, no longer the holder, cannot record an attempt or move the cursor.
      const progress = { cursor: 1, failures: 0, failingSince: null, nextAttemptAt: null };
      expect(
        await a.webhooks.recordAttempt('00000000000000b1', 'A', attempt('00000000000000b1', 1, 'A'), progress),
      ).toBe(false);
      expect(
        await b.webhooks.recordAttempt('00000000000000b1', 'B', attempt('00000000000000b1', 1, 'B'), progress),
      ).toBe(true);
      const hook = await a.webhooks.find('00000000000000b1');
      expect(hook?.cursor).toBe(1);
      const { rows, total } = await a.webhooks.deliveries('00000000000000b1', 10, 0);
      expect(total).toBe(1);
      expect(rows[0]).toMatchObject({
        node: 'B',
        position: 1,
        outcome: 'delivered',
        messageId: 'msg_00000000000000b1_1',
      });
      // Released, the hook is free for A at once.
      await b.webhooks.release('00000000000000b1', 'B');
      expect(await a.webhooks.claim('00000000000000b1', 'A', now + 1700, 1000)).toBeDefined();
    });

    it('does not lease a disabled hook, and deletes a hook with its deliveries', async () => {
      await a.webhooks.insert({ ...hookRow('00000000000000c1'), enabled: false });
      expect(await a.webhooks.claim('00000000000000c1', 'A', Date.now(), 1000)).toBeUndefined();
      await a.webhooks.recordAttempt('00000000000000c1', 'A', attempt('00000000000000c1', 0, 'A'), undefined);
      expect((await b.webhooks.deliveries('00000000000000c1', 10, 0)).total).toBe(1);
      expect(await b.webhooks.remove('00000000000000c1')).toBe(true);
      expect((await a.webhooks.deliveries('00000000000000c1', 10, 0)).total).toBe(0);
      expect(await a.webhooks.remove('00000000000000c1')).toBe(false);
    });

    it('redeems a stream ticket once, and not after it expires', async () => {
      const now = Date.now();
      await a.streamTickets.insert('d1', 'token-1', now + 1000, now);
      await a.streamTickets.insert('d2', 'token-2', now + 1000, now);
      expect(await b.streamTickets.redeem('d1', now)).toBe('token-1');
      expect(await a.streamTickets.redeem('d1', now)).toBeUndefined();
      expect(await a.streamTickets.redeem('d2', now + 1000)).toBeUndefined();
      expect(await a.streamTickets.redeem('unknown', now)).toBeUndefined();
    });
  });
}

webhookPortContract('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'doorbell-webhook-port-'));
  return { setting: join(dir, 'doorbell.db'), drop: async () => rmSync(dir, { recursive: true, force: true }) };
});

if (await pgAvailable())
  webhookPortContract('postgres', async () => {
    const database: TestDatabase = await createTestDatabase();
    return { setting: database.url, drop: () => database.drop() };
  });
