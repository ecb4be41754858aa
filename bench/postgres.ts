// (h) Several nodes on one PostgreSQL: durable commands/s over HTTP on two doorbell nodes sharing
// one database (50 connections on 50 VMs, half on each node, PUT .../msi-vectors/{n}), as a
// ratio to 50 pg clients doing one INSERT per autocommit transaction on the same server in the
// same run (alternating rounds, medians); beside it Emmett's PostgreSQL store (appendToStream,
// one event a call, 50 concurrent callers on 50 streams). Each measurement gets a fresh database.

import { randomBytes } from 'node:crypto';
import { getPostgreSQLEventStore } from '@event-driven-io/emmett-postgresql';
import pg from 'pg';
import { createServices } from '../src/app/services';
import { createStores } from '../src/db/index';
import { COMMAND_VMS, seedBenchVms } from './fixtures';

export const PG_ADMIN_URL =
  process.env.DOORBELL_BENCH_PG ?? process.env.DOORBELL_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

const CLIENTS = 50;
/** About the size of a doorbell event row's data and metadata. */
const PAYLOAD = JSON.stringify({
  deviceId: 'net0',
  vector: 0,
  address: '0x0000000008090040',
  data: '0x1',
  pad: 'x'.repeat(160),
});

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** A fresh database for one measurement; dropped by the returned function. */
export async function freshDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `doorbell_bench_${randomBytes(5).toString('hex')}`;
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

export async function pgAnswers(): Promise<boolean> {
  try {
    await admin('SELECT 1');
    return true;
  } catch {
    return false;
  }
}

/** Runs `one` on CLIENTS concurrent callers for `seconds`; calls per second. */
async function closedLoop(seconds: number, one: (caller: number, i: number) => Promise<unknown>): Promise<number> {
  const end = Date.now() + seconds * 1000;
  let done = 0;
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, caller) => {
      for (let i = 0; Date.now() < end; i++) {
        await one(caller, i);
        done++;
      }
    }),
  );
  return Math.round(done / seconds);
}

/** The anchor: 50 pg clients, one INSERT per autocommit transaction (synchronous_commit on). */
export async function insertPerTransaction(seconds: number): Promise<number> {
  const database = await freshDatabase();
  const clients = Array.from({ length: CLIENTS }, () => new pg.Client({ connectionString: database.url }));
  try {
    await Promise.all(clients.map((c) => c.connect()));
    await clients[0]!.query(
      'CREATE TABLE anchor (position bigserial PRIMARY KEY, stream_id text NOT NULL, data text NOT NULL)',
    );
    return await closedLoop(seconds, (caller) =>
      clients[caller]!.query('INSERT INTO anchor (stream_id, data) VALUES ($1, $2)', [`cmd${caller}`, PAYLOAD]),
    );
  } finally {
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    await database.drop();
  }
}

// Emmett keeps its pools after close(); dropping its database then ends their idle connections
// with 57P01, which a pool emits as an 'error' nobody can listen to from here.
process.on('uncaughtException', (error) => {
  if ((error as { code?: string }).code === '57P01') return;
  throw error;
});

/**
 * Emmett's PostgreSQL store under the same load: appendToStream, one event a call, a stream per
 * caller (a devDependency, pinned: @event-driven-io/emmett-postgresql 0.42.0).
 */
export async function emmettAppends(seconds: number): Promise<number> {
  const database = await freshDatabase();
  const store = getPostgreSQLEventStore(database.url, { connectionOptions: { pooled: true } });
  try {
    // Creates Emmett's schema before the clock starts.
    await store.appendToStream('warm-up', [{ type: 'MsiVectorProgrammed', data: { vector: 0 } }]);
    return await closedLoop(seconds, (caller, i) =>
      store.appendToStream(`cmd${caller}`, [
        { type: 'MsiVectorProgrammed', data: { deviceId: 'net0', vector: i % 2048, payload: PAYLOAD } },
      ]),
    );
  } finally {
    await store.close();
    await database.drop();
  }
}

/** A database with the bench VMs, for two doorbell nodes to share. */
export async function seededDoorbellDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const database = await freshDatabase();
  const stores = await createStores(database.url);
  try {
    await seedBenchVms(createServices(stores));
  } finally {
    await stores.close();
  }
  return database;
}

export const HALF = COMMAND_VMS / 2;
