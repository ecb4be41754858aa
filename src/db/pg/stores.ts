// The stores on PostgreSQL: several service nodes on one database (contract v1.2, Storage).

import type { DatabaseHealth, StoreOptions, Stores } from '../port.js';
import { type OpenPg, openPostgres } from './database.js';
import { PgEventStore } from './event-store.js';
import { PgIdempotencyStore, PgResolutionStore, pgRecordWriter } from './records.js';
import { PgTokenStore } from './token-store.js';
import { PgStreamTicketStore, PgWebhookStore } from './webhook-store.js';

async function pgHealth(database: OpenPg): Promise<DatabaseHealth> {
  try {
    const { rows } = await database.pool.query(
      'SELECT pg_is_in_recovery() AS standby, (SELECT count(*) FROM drizzle.__drizzle_migrations) AS applied',
    );
    const standby = rows[0].standby as boolean;
    const applied = Number(rows[0].applied);
    const { tags } = database;
    return {
      engine: 'postgres',
      schemaVersion: tags[applied - 1] ?? `${applied}`,
      checks: {
        database: {
          ok: !standby,
          detail: standby ? `${database.describe} is a standby (read-only)` : `${database.describe} open for writing`,
        },
        migrations: { ok: applied === tags.length, detail: `${applied} of ${tags.length} migrations applied` },
      },
    };
  } catch (error) {
    const detail = `${database.describe} does not answer: ${error instanceof Error ? error.message : String(error)}`;
    return {
      engine: 'postgres',
      schemaVersion: '',
      checks: { database: { ok: false, detail }, migrations: { ok: false, detail: 'unknown' } },
    };
  }
}

export async function createPgStores(url: string, options: StoreOptions = {}): Promise<Stores> {
  const database = await openPostgres(url, options);
  const events = new PgEventStore(database);
  const records = pgRecordWriter(database);
  return {
    engine: 'postgres',
    describe: database.describe,
    events,
    idempotency: new PgIdempotencyStore(database.db),
    resolutions: new PgResolutionStore(database.db),
    tokens: new PgTokenStore(database),
    webhooks: new PgWebhookStore(database),
    streamTickets: new PgStreamTicketStore(database),
    records,
    sizes: async () => {
      const { rows } = await database.pool.query('SELECT pg_database_size(current_database()) AS size');
      return { database: Number(rows[0].size), wal: 0 };
    },
    health: () => pgHealth(database),
    close: async () => {
      await records.close();
      await events.close();
      await database.close();
    },
  };
}
