// What an attacker on the same machine, or a client with the wrong token, sees: 401 and 403 for
// tokens and scopes, 421 for a Host the server does not serve, 403 for a cross-origin write, 429
// past the rate limit, 503 under pressure; and what an operator sees: tokens managed over the API,
// never stored in clear, health and readiness without a token, metrics with one.

import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueToken } from '../../../src/app/tokens';
import type { Stores } from '../../../src/db/index';
import type { SqliteStores } from '../../../src/db/sqlite/stores';
import { rawClient } from '../../helpers/pg';
import { itOnSqlite, ON_POSTGRES, startTestApp, type TestApp } from '../../helpers/test-app';
import { command } from '../../helpers/topology';

type Response = { status: number; headers: Record<string, string>; text: string; body: Record<string, unknown> };

/** Every row of a table, read directly from the database (the SQLite file, or PostgreSQL). */
async function tableRows(app: TestApp, table: string): Promise<unknown[]> {
  const { database } = app.stores as Stores & Partial<Pick<SqliteStores, 'database'>>;
  if (database !== undefined) return database.sqlite.prepare(`SELECT * FROM ${table}`).all();
  const client = await rawClient(app.dbPath);
  try {
    return (await client.query(`SELECT * FROM ${table}`)).rows;
  } finally {
    await client.end();
  }
}

function expectProblem(response: Response, status: number, code: string) {
  expect(response.status, response.text).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(JSON.parse(response.text)).toMatchObject({ status, code });
}

let t: TestApp;
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

async function newToken(scopes: string[], name: string): Promise<string> {
  const response = await t.http.post('/v1/tokens').send({ name, scopes }).expect(201);
  return response.body.token as string;
}

beforeAll(async () => {
  t = await startTestApp({ corsOrigins: ['https://inventory.example'] });
  await command(t, 'post', '/v1/vms', { id: 'vm1' });
});
afterAll(async () => t.close());

describe('authentication (401)', () => {
  it('refuses a request without a token, with WWW-Authenticate: Bearer', async () => {
    for (const response of [await t.anonymous.get('/v1/vms'), await t.anonymous.post('/v1/vms').send({ id: 'x' })]) {
      expectProblem(response, 401, 'UNAUTHORIZED');
      expect(response.headers['www-authenticate']).toMatch(/^Bearer /);
    }
    // An unknown route under /v1 says nothing about what exists.
    expectProblem(await t.anonymous.get('/v1/nothing-here'), 401, 'UNAUTHORIZED');
  });

  it('refuses a malformed, unknown, wrong, expired or revoked token', async () => {
    const good = await newToken(['read'], 'soon-revoked');
    const wrongSecret = `${good.slice(0, 21)}${good[21] === 'A' ? 'B' : 'A'}${good.slice(22)}`;
    const expired = (
      await issueToken(
        t.stores,
        { name: 'expired', scopes: ['read'], expiresAt: '2020-01-02T00:00:00Z' },
        new Date('2020-01-01T00:00:00Z'),
      )
    ).token;
    const id = good.slice(4, 20);
    await t.http.delete(`/v1/tokens/${id}`).expect(200);
    for (const [token, detail] of [
      ['not-a-token', 'not a doorbell token'],
      ['dbt_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'not known'],
      [wrongSecret, 'not known'],
      [expired, 'expired'],
      [good, 'revoked'],
    ] as const) {
      const response = await t.anonymous.get('/v1/vms').set(bearer(token));
      expectProblem(response, 401, 'UNAUTHORIZED');
      expect(response.body.detail).toContain(detail);
      expect(response.headers['www-authenticate']).toContain('error="invalid_token"');
    }
    expectProblem(await t.anonymous.get('/v1/vms').set('Authorization', 'Basic YTpi'), 401, 'UNAUTHORIZED');
  });

  it('needs no token for /healthz, /readyz, /docs, /openapi.json and the index', async () => {
    expect((await t.anonymous.get('/healthz').expect(200)).body).toEqual({ status: 'ok' });
    const ready = (await t.anonymous.get('/readyz').expect(200)).body;
    expect(ready).toMatchObject({
      status: 'ready',
      engine: t.stores.engine,
      checks: { database: { ok: true }, migrations: { ok: true }, recordWriter: { ok: true } },
    });
    await t.anonymous.get('/docs/').expect(200);
    await t.anonymous.get('/openapi.json').expect(200);
    await t.anonymous.get('/').expect(200);
  });
});

describe('scopes (403)', () => {
  it('read may GET only; write may also run commands and resolutions; only admin manages tokens', async () => {
    const read = await newToken(['read'], 'reader');
    const write = await newToken(['write'], 'writer');
    await t.anonymous.get('/v1/vms/vm1').set(bearer(read)).expect(200);
    const refused = await t.anonymous.post('/v1/vms').set(bearer(read)).send({ id: 'by-reader' });
    expectProblem(refused, 403, 'FORBIDDEN');
    expect(refused.headers['www-authenticate']).toContain('error="insufficient_scope", scope="write"');
    await t.anonymous.post('/v1/vms').set(bearer(write)).send({ id: 'by-writer' }).expect(201);
    await t.anonymous.get('/v1/vms/by-writer').set(bearer(write)).expect(200);
    for (const token of [read, write]) {
      expectProblem(await t.anonymous.get('/v1/tokens').set(bearer(token)), 403, 'FORBIDDEN');
      expectProblem(
        await t.anonymous
          .post('/v1/tokens')
          .set(bearer(token))
          .send({ name: 'x', scopes: ['admin'] }),
        403,
        'FORBIDDEN',
      );
    }
    expectProblem(await t.anonymous.get('/metrics'), 401, 'UNAUTHORIZED');
    await t.anonymous.get('/metrics').set(bearer(read)).expect(200);
  });

  it("signs every event with the token's name; X-Actor is only onBehalfOf", async () => {
    const write = await newToken(['write'], 'inventory-sync');
    await t.anonymous.post('/v1/vms').set(bearer(write)).set('X-Actor', 'admin').send({ id: 'signed' }).expect(201);
    const events = await t.http.get('/v1/vms/signed/events').expect(200);
    expect(events.body.results[0].metadata).toMatchObject({ actor: 'inventory-sync', onBehalfOf: 'admin' });
  });
});

describe('tokens', () => {
  it('shows the secret once, stores only its digest, and lists tokens without secrets', async () => {
    const created = await t.http
      .post('/v1/tokens')
      .send({ name: 'once', scopes: ['read', 'write'] })
      .expect(201);
    const { token, id } = created.body as { token: string; id: string };
    expect(created.body).toMatchObject({ name: 'once', scopes: ['read', 'write'], expiresAt: null, lastUsedAt: null });
    const secret = token.slice(21);
    // The table itself, read behind the service's back, on whichever engine the suite runs.
    const rows = await tableRows(t, 'api_tokens');
    expect(JSON.stringify(rows)).not.toContain(secret);
    const list = await t.http.get('/v1/tokens?limit=1000').expect(200);
    expect(list.text).not.toContain(secret);
    expect(list.text).not.toMatch(/secret|hash/i);
    expect(list.body.results.map((r: { id: string }) => r.id)).toContain(id);
    await t.anonymous.get('/v1/vms').set(bearer(token)).expect(200);
    const used = (await t.http.get('/v1/tokens?limit=1000').expect(200)).body.results.find(
      (r: { id: string }) => r.id === id,
    );
    expect(used.lastUsedAt).toMatch(/^\d{4}-/);
  });

  it('refuses a taken name, a past expiry and unknown scopes; 404 for an unknown id', async () => {
    await t.http
      .post('/v1/tokens')
      .send({ name: 'twin', scopes: ['read'] })
      .expect(201);
    expectProblem(await t.http.post('/v1/tokens').send({ name: 'twin', scopes: ['read'] }), 409, 'TOKEN_NAME_TAKEN');
    const past = await t.http
      .post('/v1/tokens')
      .send({ name: 'past', scopes: ['read'], expiresAt: '2001-01-01T00:00:00Z' });
    expectProblem(past, 400, 'VALIDATION_FAILED');
    expect(past.body.errors).toContainEqual(expect.objectContaining({ pointer: '/expiresAt' }));
    expectProblem(await t.http.post('/v1/tokens').send({ name: 'root', scopes: ['root'] }), 400, 'VALIDATION_FAILED');
    expectProblem(await t.http.delete('/v1/tokens/0123456789abcdef'), 404, 'TOKEN_NOT_FOUND');
  });

  it('will not revoke the last admin token', async () => {
    const other = await t.http
      .post('/v1/tokens')
      .send({ name: 'admin-2', scopes: ['admin'] })
      .expect(201);
    const mine = t.adminToken.slice(4, 20);
    await t.http.delete(`/v1/tokens/${mine}`).expect(200);
    expectProblem(await t.http.get('/v1/tokens'), 401, 'UNAUTHORIZED');
    const asOther = bearer(other.body.token);
    expectProblem(await t.anonymous.delete(`/v1/tokens/${other.body.id}`).set(asOther), 409, 'LAST_ADMIN_TOKEN');
    // The helper's token is gone; the rest of this file uses the new admin's.
    t.http.set('Authorization', `Bearer ${other.body.token}`);
    await t.http.get('/v1/tokens').expect(200);
  });
});

describe('Host and Origin', () => {
  it('answers 421 to a Host it does not serve (DNS rebinding), and serves the loopback names', async () => {
    for (const host of ['attacker.example', 'attacker.example:80', '127.0.0.1.attacker.example', 'localhost:1'])
      expectProblem(await t.http.get('/v1/vms').set('Host', host), 421, 'MISDIRECTED_REQUEST');
    expectProblem(await t.anonymous.get('/healthz').set('Host', 'attacker.example'), 421, 'MISDIRECTED_REQUEST');
    await t.http.get('/v1/vms').expect(200);
  });

  it('serves exactly the configured hosts', async () => {
    const proxied = await startTestApp({ allowedHosts: ['doorbell.example'] });
    try {
      await proxied.http.get('/v1/vms').set('Host', 'doorbell.example').expect(200);
      await proxied.http.get('/v1/vms').set('Host', 'doorbell.example:8443').expect(200);
      expectProblem(await proxied.http.get('/v1/vms'), 421, 'MISDIRECTED_REQUEST');
    } finally {
      await proxied.close();
    }
  });

  it('checks the Host of every request of a keep-alive connection, not only its first', async () => {
    const served = await startTestApp();
    try {
      await served.app.listen({ port: 0, host: '127.0.0.1' });
      const { port } = served.app.server.address() as { port: number };
      // One socket for all three requests: the second reuses the connection the first passed on.
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const get = (host: string) =>
        new Promise<{ status: number; socket: unknown }>((ok, fail) => {
          const request = http.get(
            { host: '127.0.0.1', port, path: '/healthz', agent, headers: { host } },
            (response) => {
              response.resume();
              response.on('end', () => ok({ status: response.statusCode ?? 0, socket: request.socket }));
            },
          );
          request.on('error', fail);
        });
      const first = await get(`127.0.0.1:${port}`);
      const second = await get('attacker.example');
      const third = await get(`localhost:${port}`);
      agent.destroy();
      expect(second.socket).toBe(first.socket);
      expect([first.status, second.status, third.status]).toEqual([200, 421, 200]);
    } finally {
      await served.close();
    }
  });

  it('refuses a cross-origin write unless CORS allows the origin; same-origin writes pass', async () => {
    const refused = await t.http.post('/v1/vms').set('Origin', 'https://attacker.example').send({ id: 'csrf' });
    expectProblem(refused, 403, 'CROSS_ORIGIN_REFUSED');
    expectProblem(await t.http.post('/v1/vms').set('Origin', 'null').send({ id: 'csrf' }), 403, 'CROSS_ORIGIN_REFUSED');
    await t.http.get('/v1/vms/csrf').expect(404);
    await t.http.post('/v1/vms').set('Origin', 'https://inventory.example').send({ id: 'cors' }).expect(201);
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const address = t.app.server.address() as { port: number };
    await t.http
      .post('/v1/vms')
      .set('Origin', `http://127.0.0.1:${address.port}`)
      .send({ id: 'same-origin' })
      .expect(201);
    // A read from another origin is answered (CORS keeps the browser from reading it).
    await t.http.get('/v1/vms/vm1').set('Origin', 'https://attacker.example').expect(200);
  });
});

describe('limits', () => {
  it('answers 429 with Retry-After past the rate limit, per token', async () => {
    const limited = await startTestApp({ rateLimit: { max: 3, timeWindowMs: 60_000 } });
    try {
      for (let i = 0; i < 3; i++) await limited.http.get('/v1/vms').expect(200);
      const response = await limited.http.get('/v1/vms');
      expectProblem(response, 429, 'RATE_LIMITED');
      expect(Number(response.headers['retry-after'])).toBeGreaterThan(0);
      expect(Number(response.headers['retry-after'])).toBeLessThanOrEqual(60);
      // Another token has its own budget; probes are never limited.
      const other = (await issueToken(limited.stores, { name: 'other', scopes: ['read'] })).token;
      await limited.anonymous.get('/v1/vms').set(bearer(other)).expect(200);
      for (let i = 0; i < 5; i++) await limited.anonymous.get('/healthz').expect(200);
    } finally {
      await limited.close();
    }
  });

  it('answers 503 with Retry-After while the event loop lags, and still answers the probes', async () => {
    const pressed = await startTestApp({
      pressure: { maxEventLoopDelayMs: 250, sampleIntervalMs: 100, retryAfterSeconds: 3 },
    });
    try {
      // Past the start-up (which held the loop through the first samples), the service is calm;
      // other test files share the 2 cores, so wait for a calm sample rather than assume one.
      let calm = await pressed.http.get('/v1/vms');
      for (let tries = 0; calm.status !== 200 && tries < 25; tries++) {
        await new Promise((r) => setTimeout(r, 200));
        calm = await pressed.http.get('/v1/vms');
      }
      expect(calm.status, calm.text).toBe(200);
      // Hold the event loop for 1.5 s: the service's own loop, since it runs in this process.
      const until = Date.now() + 1500;
      while (Date.now() < until);
      const response = await pressed.http.get('/v1/vms');
      expectProblem(response, 503, 'OVERLOADED');
      expect(response.headers['retry-after']).toBe('3');
      await pressed.anonymous.get('/healthz').expect(200);
    } finally {
      await pressed.close();
    }
  });

  it("answers 503 while the record writer's queue is over its bound", async () => {
    const pressed = await startTestApp({
      pressure: { maxRecordQueue: 100, maxEventLoopDelayMs: 60_000, sampleIntervalMs: 50 },
    });
    try {
      await new Promise((r) => setTimeout(r, 200));
      await pressed.http.get('/v1/vms').expect(200);
      Object.defineProperty(pressed.stores.records, 'queueDepth', { get: () => 101, configurable: true });
      await new Promise((r) => setTimeout(r, 200));
      const response = await pressed.http.post('/v1/vms').send({ id: 'vm1' });
      expectProblem(response, 503, 'OVERLOADED');
      expect(response.body.detail).toContain('records are waiting');
      expect(Number(response.headers['retry-after'])).toBeGreaterThan(0);
      const metrics = await pressed.http.get('/metrics').expect(200);
      expect(metrics.text).toMatch(/^doorbell_record_writer_queue_depth 101$/m);
    } finally {
      await pressed.close();
    }
  });
});

describe('readiness and metrics', () => {
  itOnSqlite(
    'is not ready once the record writer has stopped',
    'its record writer is no thread of its own that could stop',
    async () => {
      const dying = await startTestApp();
      try {
        await dying.anonymous.get('/readyz').expect(200);
        await dying.stores.records.close();
        const response = await dying.anonymous.get('/readyz');
        expectProblem(response, 503, 'NOT_READY');
        expect(response.body.checks.recordWriter.ok).toBe(false);
      } finally {
        await dying.close();
      }
    },
  );

  it('exposes requests by route and status, events, record batches, queue depth and database size', async () => {
    const m = await startTestApp();
    try {
      await command(m, 'post', '/v1/vms', { id: 'vm1' });
      await m.http.get('/v1/vms/nope').expect(404);
      const response = await m.http.get('/metrics').expect(200);
      expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
      const text = response.text;
      expect(text).toMatch(
        /doorbell_http_request_duration_seconds_count\{method="POST",route="\/v1\/vms",status="201"\} 1/,
      );
      expect(text).toMatch(
        /doorbell_http_request_duration_seconds_count\{method="GET",route="\/v1\/vms\/:vm",status="404"\} 1/,
      );
      expect(text).toMatch(
        /doorbell_http_request_duration_seconds_bucket\{le="0.005",method="POST",route="\/v1\/vms",status="201"\}/,
      );
      expect(text).toMatch(/^doorbell_events_appended_total 1$/m);
      expect(text).toMatch(/^doorbell_record_writer_queue_depth 0$/m);
      expect(text).toMatch(/^doorbell_database_size_bytes\{file="database"\} [1-9]\d*$/m);
      expect(text).toMatch(/^doorbell_database_size_bytes\{file="wal"\} \d+$/m);
      expect(text).toContain('# TYPE doorbell_record_writer_batch_size histogram');
      expect(text).toContain('# TYPE doorbell_record_writer_commit_seconds histogram');
      // On PostgreSQL the one append (POST /v1/vms) held the log head once, for some time.
      if (ON_POSTGRES) {
        expect(text).toMatch(/^doorbell_pg_log_head_hold_seconds_count 1$/m);
        expect(text).toMatch(/^doorbell_pg_log_head_hold_seconds_sum (?!0$)\d/m);
        expect(text).toMatch(/^doorbell_pg_append_plan_seconds_count 1$/m);
        expect(text).toMatch(/^doorbell_pg_append_replans_total 0$/m);
      } else expect(text).not.toContain('doorbell_pg_log_head_hold_seconds');
    } finally {
      await m.close();
    }
  });
});

describe('authentication off (loopback only)', () => {
  it('serves without a token and signs events as anonymous, keeping X-Actor as onBehalfOf', async () => {
    const open = await startTestApp({ auth: 'off' });
    try {
      await open.anonymous.post('/v1/vms').set('X-Actor', 'alice').send({ id: 'vm1' }).expect(201);
      const events = await open.anonymous.get('/v1/vms/vm1/events').expect(200);
      expect(events.body.results[0].metadata).toMatchObject({ actor: 'anonymous', onBehalfOf: 'alice' });
      expect(events.body.results[0].metadata.tokenId).toBeUndefined();
    } finally {
      await open.close();
    }
  });
});
