// GET /v1/events/stream: a client that listens while commands append, goes away, and comes back
// with Last-Event-ID receives every event exactly once and in order; filters; heartbeats; a
// client that does not read is cut off instead of growing the server's memory; close ends streams.

import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSse, type SseClient } from '../../helpers/sse';
import { startTestApp, type TestApp } from '../../helpers/test-app';
import { command } from '../../helpers/topology';

let t: TestApp;
let base: string;
const clients: SseClient[] = [];

async function start(eventStream: Record<string, number> = {}) {
  t = await startTestApp({ eventStream: { heartbeatMs: 60_000, pollIntervalMs: 50, ...eventStream } });
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
}

async function listen(query = '', headers: Record<string, string> = {}) {
  const client = await openSse(`${base}/v1/events/stream${query}`, {
    authorization: `Bearer ${t.adminToken}`,
    ...headers,
  });
  clients.push(client);
  return client;
}

const positions = (c: SseClient) => c.messages.map((m) => Number(m.id));
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** Appends one BusAdded (a pxb-pcie) per call, through the API. */
let nextBus = 1;
const addBus = (vm: string) =>
  command(t, 'post', `/v1/vms/${vm}/buses`, { id: `pcie.${nextBus}`, type: 'pxb-pcie', busNr: nextBus++ });

beforeEach(() => {
  nextBus = 1;
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await t.close();
});

describe('GET /v1/events/stream', () => {
  it('delivers every event exactly once, in order, across a disconnect resumed with Last-Event-ID', async () => {
    await start();
    await command(t, 'post', '/v1/vms', { id: 'vm1' });
    const first = await listen('?after=0');
    expect(first.status).toBe(200);
    expect(first.headers['content-type']).toMatch(/^text\/event-stream/);
    for (let i = 0; i < 5; i++) await addBus('vm1');
    await first.waitFor((c) => c.messages.length === 6);
    first.close();
    const lastSeen = first.lastEventId!;
    expect(lastSeen).toBe('6');

    // Appended while nobody listens, then while the resumed client catches up and listens.
    for (let i = 0; i < 4; i++) await addBus('vm1');
    const second = await listen('?after=0', { 'last-event-id': lastSeen });
    const appending = (async () => {
      for (let i = 0; i < 6; i++) await addBus('vm1');
    })();
    await appending;
    await second.waitFor((c) => c.messages.length === 10);

    const all = [...positions(first), ...positions(second)];
    expect(all).toEqual(range(1, 16));
    // Each message is the event as GET /v1/events shows it, named by its type.
    const listed = (await t.http.get('/v1/events?limit=100').expect(200)).body.results as { type: string }[];
    const received = [...first.messages, ...second.messages];
    expect(received.map((m) => JSON.parse(m.data))).toEqual(listed);
    expect(received.map((m) => m.event)).toEqual(listed.map((e) => e.type));
    // An event's url reads it back: the one-event page of the log that holds it.
    const fifth = listed[4] as unknown as { url: string; display: string; position: number };
    expect(fifth.display).toMatch(/^#5 \w+ \(\S+, version \d+\)$/);
    const one = await t.http.get(new URL(fifth.url).pathname + new URL(fifth.url).search).expect(200);
    expect(one.body.results).toEqual([fifth]);
    // Nothing more arrives: no duplicate.
    await new Promise((r) => setTimeout(r, 200));
    expect(second.messages).toHaveLength(10);
  });

  it('starts after ?after= and, without it, with the events that commit from now on', async () => {
    await start();
    await command(t, 'post', '/v1/vms', { id: 'vm1' });
    await addBus('vm1');
    const fromTwo = await listen('?after=1');
    const fromNow = await listen();
    await fromTwo.waitFor((c) => c.messages.length === 1);
    await addBus('vm1');
    await fromNow.waitFor((c) => c.messages.length === 1);
    await fromTwo.waitFor((c) => c.messages.length === 2);
    expect(positions(fromTwo)).toEqual([2, 3]);
    expect(positions(fromNow)).toEqual([3]);
  });

  it('filters by vm and by type (repeatable)', async () => {
    await start();
    const byVm = await listen('?vm=vm2');
    const byType = await listen('?type=VmDefined&type=DeviceAttached');
    await command(t, 'post', '/v1/vms', { id: 'vm1' });
    await command(t, 'post', '/v1/vms', { id: 'vm2' });
    await addBus('vm1');
    await addBus('vm2');
    await command(t, 'post', '/v1/vms/vm2/devices', { id: 'net0', driver: 'virtio-net-pci', bus: 'pcie.0', slot: 2 });
    await byVm.waitFor((c) => c.messages.length === 3);
    await byType.waitFor((c) => c.messages.length === 3);
    expect(byVm.messages.map((m) => JSON.parse(m.data).streamId)).toEqual(['vm2', 'vm2', 'vm2']);
    expect(byType.messages.map((m) => m.event)).toEqual(['VmDefined', 'VmDefined', 'DeviceAttached']);
  });

  it('refuses an unknown parameter, an unknown type and a bad Last-Event-ID with a 400 naming them', async () => {
    await start();
    const cases: [string, Record<string, string>, string][] = [
      ['?vm=vm1&colour=red', {}, '/query/colour'],
      ['?type=BusAdded&type=Nope', {}, '/query/type'],
      ['?after=-1', {}, '/query/after'],
      ['', { 'last-event-id': 'abc' }, '/header/last-event-id'],
    ];
    for (const [query, headers, pointer] of cases) {
      const client = await listen(query, headers);
      await client.ended;
      expect(client.status, query).toBe(400);
      expect(JSON.parse(client.body).errors.map((e: { pointer: string }) => e.pointer)).toContain(pointer);
    }
  });

  it('sends a comment line when nothing else was sent within the heartbeat interval', async () => {
    await start({ heartbeatMs: 100 });
    const client = await listen();
    await client.waitFor((c) => c.comments.filter((x) => x === 'keep-alive').length >= 3, 3000);
    expect(client.messages).toHaveLength(0);
  });

  it('cuts off a client that does not read, which then resumes with Last-Event-ID and misses nothing', async () => {
    await start({ maxQueuedBytes: 1024 * 1024, batchSize: 20 });
    await command(t, 'post', '/v1/vms', { id: 'vm1' });
    await command(t, 'post', '/v1/vms/vm1/devices', { id: 'net0', driver: 'virtio-net-pci', bus: 'pcie.0', slot: 2 });
    const slow = await listen('?after=0');
    const healthy = await listen('?after=0');
    await slow.waitFor((c) => c.messages.length === 2);
    slow.pause();
    // Enough events (with a long reason each) to fill the loopback socket buffers many times over:
    // appended through the store in batches of 250 (one batch of 2,498 holds a PostgreSQL
    // transaction open while it is planned and encoded, past the idle-in-transaction timeout on a
    // busy machine).
    const reason = 'x'.repeat(8000);
    const total = 2500;
    const commands = Array.from({ length: total - 2 }, (_, k) => {
      const i = k + 2;
      return {
        type: 'ProgramMsiVector',
        deviceId: 'net0',
        vector: i % 64,
        address: 0x8090040n,
        data: BigInt(i),
      } as const;
    });
    for (let start = 0; start < commands.length; start += 250)
      await t.services.vms.executeAll('vm1', commands.slice(start, start + 250), {
        metadata: { occurredAt: new Date().toISOString(), actor: 'test', requestId: 'r', reason },
      });
    await healthy.waitFor((c) => c.messages.length === total, 30_000);
    expect(positions(healthy)).toEqual(range(1, total));
    // The slow client's connection was cut by the server: what it can still read ends early.
    slow.resume();
    await slow.ended;
    expect(slow.messages.length).toBeLessThan(total);
    const metrics = (await t.http.get('/metrics').expect(200)).text;
    expect(metrics).toMatch(/^doorbell_event_stream_cutoffs_total 1$/m);
    expect(metrics).toMatch(/^doorbell_event_streams 1$/m);
    const resumed = await listen('', { 'last-event-id': slow.lastEventId! });
    await resumed.waitFor((c) => c.messages.length === total - slow.messages.length, 30_000);
    expect([...positions(slow), ...positions(resumed)]).toEqual(range(1, total));
  }, 60_000);

  it('ends every stream when the server closes, within its timeout', async () => {
    await start();
    const a = await listen();
    const b = await listen('?type=BusAdded');
    const started = Date.now();
    await t.app.close();
    await Promise.all([a.ended, b.ended]);
    expect(Date.now() - started).toBeLessThan(3000);
  });
});
