// Webhooks on two service processes sharing one PostgreSQL database: one node at a time delivers
// for a hook (a lease in the database), so each event reaches the receiver once; when that node
// is killed (SIGKILL), the other takes over once the lease runs out and delivers the rest, a
// repeat only of the event in flight at the kill, with the same webhook-id. Skipped, with one
// line, when no PostgreSQL server answers.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, pgAbsentSuite, pgAvailable, type TestDatabase } from '../helpers/pg';
import { callService, FAST_WEBHOOKS, type ServiceProcess, startService } from '../helpers/service-process';
import { type Receiver, startReceiver, verifies } from '../helpers/webhook-receivers';

const BEFORE = 16;
const AFTER = 10;

interface Delivery {
  position: number;
  outcome: string;
  node: string;
  webhookId: string;
}

if (await pgAvailable()) {
  describe('webhooks on two nodes of one PostgreSQL database', () => {
    let database: TestDatabase;
    let nodes: ServiceProcess[] = [];
    let receiver: Receiver;

    beforeAll(async () => {
      database = await createTestDatabase();
      // The first node creates the schema; the second starts on it.
      nodes = [await startService(database.url, FAST_WEBHOOKS)];
      nodes.push(await startService(database.url, FAST_WEBHOOKS));
      receiver = await startReceiver(() => 200, 30);
    }, 60_000);

    afterAll(async () => {
      for (const node of nodes) if (node.child.exitCode === null) node.child.kill('SIGKILL');
      await Promise.all(nodes.map((n) => n.exited));
      await receiver?.close();
      await database?.drop();
    });

    const positions = () => receiver.received.map((r) => JSON.parse(r.body).position as number);

    it('delivers each event by one node, and the other takes over when that node is killed', async () => {
      const [a, b] = nodes as [ServiceProcess, ServiceProcess];
      const hook = await callService(a.base, 'POST', '/v1/webhooks', { url: receiver.url });
      expect(hook.status).toBe(201);
      // Appended through both nodes in turn.
      for (let i = 1; i <= BEFORE; i++)
        expect((await callService(i % 2 ? a.base : b.base, 'POST', '/v1/vms', { id: `vm${i}` })).status).toBe(201);
      await receiver.waitFor(() => new Set(positions()).size === BEFORE, 20_000);
      // Each event once (no node is killed yet), in position order.
      expect(positions()).toEqual(Array.from({ length: BEFORE }, (_, i) => i + 1));
      // The attempt is recorded just after the receiver answers: read until the last one is there.
      let delivered: Delivery[] = [];
      for (let tries = 0; tries < 100 && delivered.length < BEFORE; tries++) {
        const page = await callService(b.base, 'GET', `/v1/webhooks/${hook.json.id}/deliveries?limit=1000`);
        delivered = (page.json.results as Delivery[]).filter((d) => d.outcome === 'delivered');
        if (delivered.length < BEFORE) await new Promise((r) => setTimeout(r, 50));
      }
      expect(delivered).toHaveLength(BEFORE);
      expect(new Set(delivered.map((d) => d.position)).size).toBe(BEFORE);

      // Kill the node that delivered last (the lease holder, or the one that will take it), keep appending on the other.
      const last = delivered[0]!.node;
      const victim = nodes.find((n) => last.includes(`/${n.child.pid}/`)) ?? a;
      const survivor = victim === a ? b : a;
      for (let i = 1; i <= AFTER; i++) {
        if (i === 3) {
          victim.child.kill('SIGKILL');
          await victim.exited;
        }
        expect((await callService(survivor.base, 'POST', '/v1/vms', { id: `after${i}` })).status).toBe(201);
      }
      await receiver.waitFor(() => new Set(positions()).size === BEFORE + AFTER, 30_000);
      const all = positions();
      for (let i = 1; i < all.length; i++) expect(all[i]! - all[i - 1]!).toBeGreaterThanOrEqual(0);
      expect([...new Set(all)]).toEqual(Array.from({ length: BEFORE + AFTER }, (_, i) => i + 1));
      // The events appended after the kill were delivered by the survivor.
      const after = await callService(survivor.base, 'GET', `/v1/webhooks/${hook.json.id}/deliveries?limit=1000`);
      const late = (after.json.results as Delivery[]).filter(
        (d) => d.outcome === 'delivered' && d.position > BEFORE + 2,
      );
      expect(late.length).toBeGreaterThan(0);
      expect(late.every((d) => d.node.includes(`/${survivor.child.pid}/`))).toBe(true);
      const idOf = new Map<number, string>();
      for (const r of receiver.received) {
        const position = JSON.parse(r.body).position as number;
        expect(idOf.get(position) ?? r.id).toBe(r.id);
        idOf.set(position, r.id);
        expect(verifies(hook.json.secret, r)).toBe(true);
      }
      console.log(
        `webhook nodes: ${BEFORE + AFTER} events, ${receiver.received.length} deliveries, node ${victim.child.pid} killed, ${survivor.child.pid} took over`,
      );
    }, 90_000);
  });
} else pgAbsentSuite('webhooks on two nodes of one PostgreSQL database');
