// Two service processes (node dist/server.js) on one PostgreSQL database, as two nodes behind a
// load balancer: concurrent writers on both nodes on the same VMs with If-Match and retries while
// a pager follows ?after= (every acknowledged command present exactly once, positions
// contiguous); the change feed of one node delivering what the other appends (within a loose
// bound: the one-second target is the bench's);
// then a SIGKILL of one node in the middle of writes (the other keeps serving, nothing
// acknowledged is lost). Skipped, with one line, when no PostgreSQL server answers.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, pgAbsentSuite, pgAvailable, type TestDatabase } from '../helpers/pg';
import { type ServiceProcess, startService } from '../helpers/service-process';
import { openSse } from '../helpers/sse';

const VMS = ['n-a', 'n-b', 'n-c'];
const WRITERS_PER_NODE = 4;
const COMMANDS_PER_WRITER = 15;

type Json = Record<string, unknown>;

/**
 * One request as a client sends it: a 503 with Retry-After (a node on a busy machine shedding load
 * while its event loop lags) is sent again after the time it asks, at most five times.
 */
async function call(base: string, method: string, path: string, body?: Json, headers: Record<string, string> = {}) {
  let response: Response;
  for (let attempt = 1; ; attempt++) {
    response = await fetch(`${base}${path}`, {
      method,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const retryAfter = Number(response.headers.get('retry-after'));
    if (response.status !== 503 || attempt === 5 || !(retryAfter >= 0)) break;
    await response.arrayBuffer();
    await new Promise((r) => setTimeout(r, retryAfter * 1000));
  }
  const text = await response.text();
  return {
    status: response.status,
    etag: response.headers.get('etag'),
    json: text === '' ? {} : (JSON.parse(text) as Json),
  };
}

interface Acknowledged {
  /** The node that acknowledged it. */
  via: string;
  vm: string;
  vector: number;
  position: number;
}

/**
 * One writer: programs vectors on the shared VMs through one node, each PUT with If-Match on the
 * version it just read; a 412 means the other writers got there first: read again and retry. Each
 * command has its own Idempotency-Key, as a careful client sends: a retry after an answer lost
 * with a killed node replays the stored answer instead of programming the vector again.
 */
async function writer(
  base: () => string,
  id: number,
  acknowledged: Acknowledged[],
  stop: () => boolean,
): Promise<{ conflicts: number; failures: number; unexpected: string[] }> {
  let conflicts = 0;
  let failures = 0;
  const unexpected: string[] = [];
  for (let i = 0; i < COMMANDS_PER_WRITER && !stop(); i++) {
    const vm = VMS[(id + i) % VMS.length]!;
    const vector = id * 100 + i;
    for (let attempt = 0; attempt < 50; attempt++) {
      const node = base();
      try {
        const read = await call(node, 'GET', `/v1/vms/${vm}`);
        const put = await call(
          node,
          'PUT',
          `/v1/vms/${vm}/devices/net0/msi-vectors/${vector}`,
          { address: '0x8090040', data: `0x${vector.toString(16)}` },
          { 'if-match': read.etag ?? '', 'idempotency-key': `w${id}-c${i}` },
        );
        if (put.status === 412) {
          conflicts++;
          continue;
        }
        if (put.status !== 200) {
          // Not acknowledged: the test fails below, naming the answer.
          unexpected.push(`${put.status} ${JSON.stringify(put.json)}`);
          continue;
        }
        const events = put.json.events as { position: number }[];
        acknowledged.push({ via: node, vm, vector, position: events[0]!.position });
        break;
      } catch (error) {
        // The node is gone (connection refused or reset): the command was not acknowledged.
        failures++;
        unexpected.push(`no answer: ${(error as Error).message}`);
        if (stop()) break;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }
  return { conflicts, failures, unexpected };
}

/** Follows ?after= on alternating nodes until told to stop and caught up; returns every position seen, in order. */
async function pager(
  bases: () => string[],
  stop: () => boolean,
): Promise<{ position: number; streamId: string; data: Json }[]> {
  const seen: { position: number; streamId: string; data: Json }[] = [];
  let cursor = 0;
  for (let turn = 0; ; turn++) {
    const nodes = bases();
    const base = nodes[turn % nodes.length]!;
    // Caught up only by a read sent after the writers stopped: a read sent before may have been
    // answered before the last acknowledged commit.
    const stopped = stop();
    let page: Awaited<ReturnType<typeof call>>;
    try {
      page = await call(base, 'GET', `/v1/events?after=${cursor}&limit=50`);
    } catch {
      continue;
    }
    const results = page.json.results as { position: number; streamId: string; data: Json }[];
    for (const e of results) {
      seen.push(e);
      cursor = e.position;
    }
    if (results.length === 0) {
      if (stopped) return seen;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

async function defineVm(base: string, vm: string) {
  for (const [method, path, body] of [
    ['POST', '/v1/vms', { id: vm, ramSize: '0x100000000' }],
    ['POST', `/v1/vms/${vm}/devices`, { id: 'net0', driver: 'virtio-net-pci', bus: 'pcie.0', slot: 2 }],
  ] as const) {
    const answer = await call(base, method, path, body as Json);
    expect(answer.status, JSON.stringify(answer.json)).toBeLessThan(300);
  }
}

function expectLog(seen: { position: number; streamId: string; data: Json }[], acknowledged: Acknowledged[]) {
  // Positions contiguous from 1, each once.
  expect(seen.map((e) => e.position)).toEqual(seen.map((_, i) => i + 1));
  const byPosition = new Map(seen.map((e) => [e.position, e]));
  // Every acknowledged command is in the log exactly once, at the position it was acknowledged with.
  for (const ack of acknowledged) {
    const event = byPosition.get(ack.position);
    expect(event?.streamId, `acknowledged ${JSON.stringify(ack)}`).toBe(ack.vm);
    expect(event?.data).toMatchObject({ vector: ack.vector });
  }
  const programmed = seen.filter((e) => e.data.vector !== undefined).map((e) => `${e.streamId}/${e.data.vector}`);
  expect(new Set(programmed).size).toBe(programmed.length);
}

if (await pgAvailable()) {
  describe('two nodes on one PostgreSQL database', () => {
    let database: TestDatabase;
    let nodes: ServiceProcess[] = [];

    beforeAll(async () => {
      database = await createTestDatabase();
      // Both start together on the empty database: the migrations run once, under the advisory lock.
      nodes = await Promise.all([
        startService(database.url, { DOORBELL_PG_POOL_SIZE: '6' }),
        startService(database.url, { DOORBELL_PG_POOL_SIZE: '6' }),
      ]);
      for (const vm of VMS) await defineVm(nodes[0]!.base, vm);
    }, 60_000);

    afterAll(async () => {
      for (const node of nodes) {
        node.child.kill('SIGKILL');
        await node.exited;
      }
      await database?.drop();
    });

    it('concurrent If-Match writers on both nodes: every acknowledged command once, positions contiguous, the pager misses nothing', async () => {
      const acknowledged: Acknowledged[] = [];
      let writing = true;
      const paging = pager(
        () => nodes.map((n) => n.base),
        () => !writing,
      );
      const writers = Array.from({ length: 2 * WRITERS_PER_NODE }, (_, id) =>
        writer(
          () => nodes[id % 2]!.base,
          id,
          acknowledged,
          () => false,
        ),
      );
      const outcomes = await Promise.all(writers);
      writing = false;
      const seen = await paging;
      expect(acknowledged.length).toBe(2 * WRITERS_PER_NODE * COMMANDS_PER_WRITER);
      const errors = nodes.flatMap((n) =>
        n
          .output()
          .split('\n')
          .filter((l) => /"level":50|Error/.test(l)),
      );
      expect(
        outcomes.flatMap((o) => o.unexpected),
        errors.slice(0, 3).join('\n'),
      ).toEqual([]);
      expectLog(seen, acknowledged);
      // The writers really raced: some If-Match lost to a writer on the other node.
      expect(outcomes.reduce((n, o) => n + o.conflicts, 0)).toBeGreaterThan(0);
    }, 120_000);

    it('GET /v1/events/stream on one node delivers what the other appends, in order', async () => {
      const [one, two] = nodes;
      const after = ((await call(two!.base, 'GET', '/v1/events?limit=1')).json.count as number) ?? 0;
      const stream = await openSse(`${two!.base}/v1/events/stream?after=${after}`);
      try {
        expect(stream.status).toBe(200);
        for (let i = 0; i < 5; i++) {
          const appended = await call(one!.base, 'POST', '/v1/vms', { id: `sse-${i}`, ramSize: '0x40000000' });
          expect(appended.status).toBe(201);
          const position = (appended.json.events as { position: number }[])[0]!.position;
          // A loose bound, so that a busy CI machine does not fail it; a lost notification still does.
          await stream.waitFor((c) => c.messages.some((m) => Number(m.id) === position), 10_000);
        }
        const ids = stream.messages.map((m) => Number(m.id));
        expect(ids).toEqual(ids.map((_, i) => after + i + 1));
      } finally {
        stream.close();
      }
    }, 60_000);

    it('a node killed with SIGKILL in the middle of writes: the other keeps serving, nothing acknowledged is lost', async () => {
      const acknowledged: Acknowledged[] = [];
      let killed = false;
      const victim = nodes[1]!;
      const survivor = nodes[0]!;
      const writers = Array.from({ length: 2 * WRITERS_PER_NODE }, (_, id) =>
        writer(
          () => (id % 2 === 1 && !killed ? victim : survivor).base,
          10 + id,
          acknowledged,
          () => false,
        ),
      );
      await new Promise((r) => setTimeout(r, 150));
      victim.child.kill('SIGKILL');
      await victim.exited;
      killed = true;
      await Promise.all(writers);
      // The killed node had acknowledged commands before it died; those count like any other.
      expect(acknowledged.some((a) => a.via === victim.base)).toBe(true);
      nodes = [survivor];
      // The survivor still writes and reads.
      const after = await call(survivor.base, 'POST', '/v1/vms', { id: 'after-kill', ramSize: '0x40000000' });
      expect(after.status).toBe(201);
      const seen = await pager(
        () => [survivor.base],
        () => true,
      );
      expectLog(seen, acknowledged);
      // A node started again on the database serves what both acknowledged.
      const again = await startService(database.url, { DOORBELL_PG_POOL_SIZE: '6' });
      nodes.push(again);
      const page = await call(again.base, 'GET', '/v1/events?limit=1');
      const tail = await call(again.base, 'GET', `/v1/events?after=${Math.max(0, seen.length - 5)}`);
      expect(page.json.count, JSON.stringify({ seen: seen.length, tail: tail.json })).toBeGreaterThanOrEqual(
        seen.length,
      );
    }, 120_000);
  });
} else pgAbsentSuite('two nodes on one PostgreSQL database');
