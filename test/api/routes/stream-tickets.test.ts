// A change feed a browser can follow, and one a revoked or expired token stops reading: tickets
// for GET /v1/events/stream (single use, instead of Authorization, never logged), and every
// stream ended with a last `event: error` once its token no longer reads, also when the token is
// revoked on another node of the same database.

import { Writable } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../../src/api/app';
import { issueToken } from '../../../src/app/tokens';
import { createServices } from '../../../src/app/services';
import { createStores } from '../../../src/db/index';
import { openSse, type SseClient } from '../../helpers/sse';
import { startTestApp, startTestAppOn, type TestApp } from '../../helpers/test-app';

/** The heartbeat of these tests' streams: the token is checked at least this often. */
const HEARTBEAT_MS = 300;

const apps: TestApp[] = [];
const clients: SseClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const a of apps.splice(0).reverse()) await a.close();
});

async function node(t?: TestApp): Promise<{ t: TestApp; base: string }> {
  const options = { eventStream: { heartbeatMs: HEARTBEAT_MS, pollIntervalMs: 50 } };
  const app = t === undefined ? await startTestApp(options) : await startTestAppOn(t.dbPath, options);
  apps.push(app);
  await app.app.listen({ host: '127.0.0.1', port: 0 });
  return { t: app, base: `http://127.0.0.1:${(app.app.server.address() as AddressInfo).port}` };
}

async function stream(url: string, headers: Record<string, string> = {}) {
  const client = await openSse(url, headers);
  clients.push(client);
  return client;
}

async function readToken(t: TestApp, expiresAt?: string) {
  const made = await t.http
    .post('/v1/tokens')
    .send({ name: `reader-${Math.random()}`.slice(0, 20), scopes: ['read'], expiresAt })
    .expect(201);
  return made.body as { id: string; token: string };
}

describe('stream tickets', () => {
  it('opens a stream once, without Authorization; a second use is a 401', async () => {
    const { t, base } = await node();
    const reader = await readToken(t);
    const made = await t.anonymous
      .post('/v1/events/stream-tickets')
      .set('Authorization', `Bearer ${reader.token}`)
      .expect(201);
    expect(made.body.ticket).toMatch(/^dbs_/);
    // Valid for a minute from now.
    expect(Date.parse(made.body.expiresAt) - Date.now()).toBeGreaterThan(50_000);
    const client = await stream(`${base}/v1/events/stream?after=0&ticket=${made.body.ticket}`);
    expect(client.status).toBe(200);
    await t.http.post('/v1/vms').send({ id: 'vm1' }).expect(201);
    await client.waitFor((c) => c.messages.length === 1);
    expect(client.messages[0]).toMatchObject({ id: '1', event: 'VmDefined' });
    const again = await stream(`${base}/v1/events/stream?ticket=${made.body.ticket}`);
    expect(again.status).toBe(401);
    const unknown = await stream(`${base}/v1/events/stream?ticket=dbs_${'A'.repeat(43)}`);
    expect(unknown.status).toBe(401);
  });

  it('needs a token to be made', async () => {
    const { t } = await node();
    await t.anonymous.post('/v1/events/stream-tickets').expect(401);
  });

  it('never writes the ticket to the log', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const stores = await createStores(':memory:');
    const admin = await issueToken(stores, { name: 'admin', scopes: ['admin'] });
    const app = await buildApp({
      services: createServices(stores),
      logger: { level: 'info', stream: sink },
      rateLimit: false,
      pressure: false,
    });
    try {
      const made = await app.inject({
        method: 'POST',
        url: '/v1/events/stream-tickets',
        headers: { authorization: `Bearer ${admin.token}` },
      });
      const ticket = (made.json() as { ticket: string }).ticket;
      await app.listen({ host: '127.0.0.1', port: 0 });
      const port = (app.server.address() as AddressInfo).port;
      const used = await stream(`http://127.0.0.1:${port}/v1/events/stream?ticket=${ticket}`);
      expect(used.status).toBe(200);
      used.close();
      // Used once: refused the second time; both requests logged without it.
      expect((await app.inject({ method: 'GET', url: `/v1/events/stream?ticket=${ticket}` })).statusCode).toBe(401);
      expect(lines.join('')).toContain('ticket=[hidden]');
      expect(lines.join('')).not.toContain(ticket);
    } finally {
      await app.close();
      await stores.close();
    }
  });
});

describe('a stream whose token stops reading ends', () => {
  it('when the token is revoked: a last event: error within one heartbeat', async () => {
    const { t, base } = await node();
    const reader = await readToken(t);
    const client = await stream(`${base}/v1/events/stream`, { authorization: `Bearer ${reader.token}` });
    expect(client.status).toBe(200);
    await t.http.delete(`/v1/tokens/${reader.id}`).expect(200);
    const revokedAt = Date.now();
    await client.ended;
    // Checked at every heartbeat tick (half a heartbeat): ended within one heartbeat, plus slack for a loaded machine.
    expect(Date.now() - revokedAt).toBeLessThan(HEARTBEAT_MS + 700);
    const last = client.messages.at(-1);
    expect(last?.event).toBe('error');
    expect(JSON.parse(last?.data ?? '{}')).toMatchObject({ code: 'TOKEN_REVOKED' });
  });

  it("when a ticket stream's token is revoked, and no event is sent after", async () => {
    const { t, base } = await node();
    const reader = await readToken(t);
    const made = await t.anonymous
      .post('/v1/events/stream-tickets')
      .set('Authorization', `Bearer ${reader.token}`)
      .expect(201);
    const client = await stream(`${base}/v1/events/stream?ticket=${made.body.ticket}`);
    await t.http.post('/v1/vms').send({ id: 'vm1' }).expect(201);
    await client.waitFor((c) => c.messages.length === 1);
    await t.http.delete(`/v1/tokens/${reader.id}`).expect(200);
    await t.http.post('/v1/vms').send({ id: 'vm2' }).expect(201);
    await client.ended;
    expect(client.messages.map((m) => m.event)).toEqual(['VmDefined', 'error']);
  });

  it('when the token expires', async () => {
    const { t, base } = await node();
    const reader = await readToken(t, new Date(Date.now() + 1500).toISOString());
    const client = await stream(`${base}/v1/events/stream`, { authorization: `Bearer ${reader.token}` });
    expect(client.status).toBe(200);
    await client.ended;
    expect(JSON.parse(client.messages.at(-1)?.data ?? '{}')).toMatchObject({ code: 'TOKEN_EXPIRED' });
  });

  it('when the token is revoked on another node of the same database', async () => {
    const first = await node();
    const second = await node(first.t);
    const reader = await readToken(first.t);
    const client = await stream(`${second.base}/v1/events/stream`, { authorization: `Bearer ${reader.token}` });
    expect(client.status).toBe(200);
    await first.t.http.delete(`/v1/tokens/${reader.id}`).expect(200);
    const revokedAt = Date.now();
    await client.ended;
    expect(Date.now() - revokedAt).toBeLessThan(HEARTBEAT_MS + 700);
    expect(client.messages.at(-1)?.event).toBe('error');
  });
});
