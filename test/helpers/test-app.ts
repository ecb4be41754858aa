// The one way tests get a running service: the real app on a real SQLite file in a temp dir.
// Every answer of 400 or more that any test provokes is checked to be problem+json with a code
// from the error catalogue; close() fails the test file when one was not.
// Authentication is on, as in production: the helper makes an admin token ("test-admin") and
// `http` sends it with every request; `anonymous` sends none. Rate limiting and load shedding are
// off unless a test asks for them: a test file sends far more than a client would in a minute,
// and its own synchronous work (or a busy CI machine) would look like a lagging event loop.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import supertest from 'supertest';
import { expect, it } from 'vitest';
import { type AppOptions, doorbellApp, serverOptions } from '../../src/api/app';
import { createServices, type Services } from '../../src/app/services';
import { issueToken } from '../../src/app/tokens';
import { createStores, type Stores } from '../../src/db/index';
import { ERROR_CATALOGUE } from '../../src/errors/catalogue';
import { createTestDatabase } from './pg';

export interface TestApp {
  app: FastifyInstance;
  stores: Stores;
  /** The application's services the app was built with (on `stores`). */
  services: Services;
  dbPath: string;
  /** Requests with the admin token (Authorization: Bearer ...), unless a test sets another. */
  http: ReturnType<typeof supertest.agent>;
  /** Requests without a token. */
  anonymous: ReturnType<typeof supertest>;
  /** The admin token `http` sends. */
  adminToken: string;
  /** Closes the app and the database, then starts a fresh process-like instance on the same database. */
  restart(): Promise<TestApp>;
  close(): Promise<void>;
}

/** Error answers that were not problem+json with a catalogued code: "METHOD URL -> what". */
function checkProblems(app: FastifyInstance, violations: string[]): void {
  app.addHook('onSend', async (request, reply, payload) => {
    if (reply.statusCode < 400) return payload;
    const where = `${request.method} ${request.url} -> ${reply.statusCode}`;
    const type = String(reply.getHeader('content-type') ?? '');
    if (!type.startsWith('application/problem+json')) violations.push(`${where}: content-type ${type}`);
    else {
      const body = JSON.parse(String(payload)) as { code?: string; status?: number };
      const entry = ERROR_CATALOGUE[body.code as keyof typeof ERROR_CATALOGUE];
      if (entry === undefined) violations.push(`${where}: code ${body.code} is not in the catalogue`);
      else if (entry.status !== reply.statusCode || body.status !== reply.statusCode)
        violations.push(`${where}: code ${body.code} is catalogued as ${entry.status}`);
    }
    return payload;
  });
}

/** The admin token of each test database, so that a restart or a second instance keeps using it. */
const adminTokens = new Map<string, string>();

export type TestAppOptions = Partial<AppOptions> & {
  requestTimeoutMs?: number;
  /** An admin token the database already holds (one copied with it, say), instead of a new one. */
  adminToken?: string;
};

async function start(dbPath: string, cleanup: () => void, options: TestAppOptions = {}): Promise<TestApp> {
  const stores = await createStores(dbPath);
  const services = createServices(stores);
  let adminToken = options.adminToken ?? adminTokens.get(dbPath);
  if (adminToken === undefined) {
    adminToken = (await issueToken(stores, { name: 'test-admin', scopes: ['admin'] })).token;
    adminTokens.set(dbPath, adminToken);
  }
  const { requestTimeoutMs, adminToken: _given, ...appOptions } = options;
  const app = Fastify(serverOptions(false, { requestTimeoutMs }));
  const violations: string[] = [];
  checkProblems(app, violations);
  await app.register(doorbellApp, { rateLimit: false, pressure: false, ...appOptions, services });
  await app.ready();
  const close = async () => {
    await app.close();
    await stores.close();
  };
  return {
    app,
    stores,
    services,
    dbPath,
    http: supertest.agent(app.server).set('Authorization', `Bearer ${adminToken}`),
    anonymous: supertest(app.server),
    adminToken,
    restart: async () => {
      await close();
      return start(dbPath, cleanup, options);
    },
    close: async () => {
      await close();
      cleanup();
      expect(violations, 'error answers that are not problem+json with a catalogued code').toEqual([]);
    },
  };
}

/** DOORBELL_TEST_ENGINE=postgres: the HTTP suites run on PostgreSQL (startTestApp). */
export const ON_POSTGRES = process.env.DOORBELL_TEST_ENGINE === 'postgres';

/**
 * A test that only SQLite can run (it opens the database file itself, or stops the record
 * writer's thread): skipped on PostgreSQL, its name saying why.
 */
export function itOnSqlite(name: string, why: string, fn: () => Promise<void>, timeout?: number): void {
  if (ON_POSTGRES) it.skip(`${name} (skipped on PostgreSQL: ${why})`, fn);
  else it(name, fn, timeout);
}

export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  // DOORBELL_TEST_ENGINE=postgres runs an HTTP suite on a fresh PostgreSQL database instead (a
  // check of every route on that engine; tests that open the SQLite file themselves skip there).
  if (ON_POSTGRES) {
    const database = await createTestDatabase();
    return start(database.url, () => void database.drop(), options);
  }
  const dir = mkdtempSync(join(tmpdir(), 'doorbell-test-'));
  return start(join(dir, 'doorbell.db'), () => rmSync(dir, { recursive: true, force: true }), options);
}

/**
 * A service on a database the caller owns (a SQLite file or a postgres:// URL); closing it does
 * not remove the database.
 */
export async function startTestAppOn(database: string, options: TestAppOptions = {}): Promise<TestApp> {
  return start(database, () => undefined, options);
}

/** A second service on the same database (file or URL), as another process (or node) would be. */
export async function startSecondInstance(dbPath: string): Promise<TestApp> {
  return start(dbPath, () => undefined);
}

/** Total number of events in the store, read through the API. */
export async function eventCount(t: TestApp): Promise<number> {
  const response = await t.http.get('/v1/events?limit=1').expect(200);
  return (response.body as { count: number }).count;
}
