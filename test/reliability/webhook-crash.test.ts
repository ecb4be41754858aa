// Webhooks through SIGKILLs: the service is killed while deliveries are in flight (a receiver
// that takes its time to answer), several times, and restarted on the same database. Nothing is
// lost (every event reaches the receiver), order holds (a receiver never sees a later event
// before an earlier one, and a repeat is only the event in flight at a kill), and a repeat
// carries the same webhook-id.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { callService, FAST_WEBHOOKS, type ServiceProcess, startService } from '../helpers/service-process';
import { startReceiver, verifies } from '../helpers/webhook-receivers';

const dir = mkdtempSync(join(tmpdir(), 'doorbell-webhook-crash-'));
const dbPath = join(dir, 'doorbell.db');
const EVENTS = 24;
const KILLS = 3;

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('webhooks through SIGKILL', () => {
  it(`${KILLS} kills mid-delivery: every event delivered, in order, repeats with the same webhook-id`, async () => {
    // Each answer waits 80 ms: a kill lands while a delivery is in flight more often than not.
    const receiver = await startReceiver(() => 200, 80);
    let server: ServiceProcess = await startService(dbPath, FAST_WEBHOOKS);
    const hook = await callService(server.base, 'POST', '/v1/webhooks', { url: receiver.url });
    expect(hook.status).toBe(201);
    for (let i = 1; i <= EVENTS; i++)
      expect((await callService(server.base, 'POST', '/v1/vms', { id: `vm${i}` })).status).toBe(201);
    for (let kill = 0; kill < KILLS; kill++) {
      // Kill once the receiver has got a few more events.
      const seen = receiver.received.length;
      await receiver.waitFor((got) => got.length >= seen + 3, 20_000);
      server.child.kill('SIGKILL');
      await server.exited;
      server = await startService(dbPath, FAST_WEBHOOKS);
    }
    try {
      const positions = () => new Set(receiver.received.map((r) => JSON.parse(r.body).position as number));
      await receiver.waitFor(() => positions().size === EVENTS, 30_000);
      const order = receiver.received.map((r) => JSON.parse(r.body).position as number);
      // Positions 1..EVENTS, each at least once; never a step forward of more than one, never a step back.
      expect([...positions()].sort((a, b) => a - b)).toEqual(Array.from({ length: EVENTS }, (_, i) => i + 1));
      for (let i = 1; i < order.length; i++) expect(order[i]! - order[i - 1]!).toBeGreaterThanOrEqual(0);
      for (let i = 1; i < order.length; i++) expect(order[i]! - order[i - 1]!).toBeLessThanOrEqual(1);
      // A repeat has the webhook-id of the first delivery of that event, and every delivery verifies.
      const idOf = new Map<number, string>();
      for (const r of receiver.received) {
        const position = JSON.parse(r.body).position as number;
        expect(idOf.get(position) ?? r.id).toBe(r.id);
        idOf.set(position, r.id);
        expect(verifies(hook.json.secret, r)).toBe(true);
      }
      console.log(
        `webhook crash: ${KILLS} SIGKILLs, ${EVENTS} events, ${receiver.received.length} deliveries (${receiver.received.length - EVENTS} repeats)`,
      );
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
      await receiver.close();
    }
  }, 120_000);
});
