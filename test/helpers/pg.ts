// PostgreSQL for tests: the server DOORBELL_TEST_PG names (a URL of a database the tests may
// create databases from), else the one .ci/run provides on this machine kind (127.0.0.1:5432,
// trust authentication, database `test`). Every suite gets a fresh database of its own, dropped
// afterwards, so that runs of other suites and other checkouts never collide.

import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { describe, it } from 'vitest';

export const PG_ADMIN_URL = process.env.DOORBELL_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

let available: Promise<boolean> | undefined;

/** Whether a PostgreSQL server answers at PG_ADMIN_URL (asked once per test file). */
export function pgAvailable(): Promise<boolean> {
  available ??= (async () => {
    const client = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 2_000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('SELECT 1');
      return true;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => undefined);
    }
  })();
  return available;
}

/**
 * Whether the PostgreSQL suites must run: when a server was named (.ci/run names the one it
 * starts). Then a server that does not answer fails the run instead of skipping them. CI=true
 * alone does not require one: a user's machine may set it without running a server.
 */
export const PG_REQUIRED = process.env.DOORBELL_TEST_PG !== undefined;

/** What a required but absent server fails with. */
export const PG_MISSING = `PostgreSQL is required (DOORBELL_TEST_PG is set) but no server answers at ${PG_ADMIN_URL.replace(/:[^:@/]*@/, ':***@')}`;

/**
 * The suite a PostgreSQL test file has when no server answers: skipped, saying so in one line;
 * failed when PostgreSQL is required (PG_REQUIRED).
 */
export function pgAbsentSuite(name: string): void {
  if (PG_REQUIRED)
    describe(name, () => {
      it('has a PostgreSQL server to run on', () => {
        throw new Error(PG_MISSING);
      });
    });
  else describe.skip(name, () => it(PG_SKIPPED, () => undefined));
}

/** The line a suite prints when it skips PostgreSQL. */
export const PG_SKIPPED = `PostgreSQL suites skipped: no server answers at ${PG_ADMIN_URL.replace(/:[^:@/]*@/, ':***@')} (set DOORBELL_TEST_PG, or run .ci/run)`;

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

/** A new, empty database on the test server; drop() removes it (closing whatever still uses it). */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `doorbell_t_${randomBytes(6).toString('hex')}`;
  await admin((client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => admin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}

/** A plain client on a test database, for what a test does behind the service's back. */
export async function rawClient(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return client;
}
