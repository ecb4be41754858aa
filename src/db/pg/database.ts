// Opens a PostgreSQL database: a connection pool (size and statement timeout are settings), the
// migrations in migrations/postgres applied under an advisory lock (so that nodes starting
// together on an empty database do not race: drizzle's migrate() takes no lock, drizzle-orm #874),
// and a refusal to run against a schema newer than this code knows.

import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { migrationTags } from '../shared/migrations.js';
import { redactSecrets, redactUrl } from './url.js';
import * as schema from './schema.js';

export const PG_MIGRATIONS_FOLDER = resolve(dirname(fileURLToPath(import.meta.url)), '../../../migrations/postgres');

/** The advisory lock key held while migrating ("doorbell" in ASCII, as a bigint). */
const MIGRATION_LOCK = '7237954073429010540';

export type PgDb = NodePgDatabase<typeof schema>;

export interface PgOptions {
  poolSize?: number;
  statementTimeoutMs?: number;
}

export interface OpenPg {
  /** The URL with its password replaced by ***. */
  describe: string;
  url: string;
  pool: pg.Pool;
  db: PgDb;
  /** The migrations this code knows, by tag. */
  tags: string[];
  close(): Promise<void>;
}

// int8 (positions, seq) arrives as a JavaScript number: every value here stays far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (text) => Number(text));

export class SchemaTooNewError extends Error {
  override name = 'SchemaTooNewError';
}

/** Migrations applied to the database, oldest first ([] on an empty database). */
async function appliedMigrations(client: pg.PoolClient): Promise<{ created_at: number }[]> {
  const exists = await client.query(`SELECT to_regclass('drizzle.__drizzle_migrations') AS t`);
  if (exists.rows[0].t === null) return [];
  const { rows } = await client.query('SELECT created_at FROM drizzle.__drizzle_migrations ORDER BY created_at');
  return rows as { created_at: number }[];
}

async function migrateUnderLock(pool: pg.Pool, tags: string[], describe: string): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      const applied = await appliedMigrations(client);
      if (applied.length > tags.length)
        throw new SchemaTooNewError(
          `the database ${describe} has schema version ${applied.length} (${applied.length} migrations applied); this doorbell knows only ${tags.length} (up to ${tags.at(-1)}): upgrade doorbell on this node before starting it`,
        );
      await migrate(drizzle(client), { migrationsFolder: PG_MIGRATIONS_FOLDER });
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    }
  } finally {
    client.release();
  }
}

export async function openPostgres(url: string, options: PgOptions = {}): Promise<OpenPg> {
  const describe = redactUrl(url);
  const statementTimeout = options.statementTimeoutMs ?? 10_000;
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 10,
    statement_timeout: statementTimeout,
    // A session stuck inside a transaction must not hold the log head for long.
    idle_in_transaction_session_timeout: Math.max(statementTimeout, 5_000),
    connectionTimeoutMillis: 10_000,
    application_name: 'doorbell',
  });
  // An idle client that loses its connection must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);
  const tags = migrationTags(PG_MIGRATIONS_FOLDER);
  try {
    await migrateUnderLock(pool, tags, describe);
  } catch (error) {
    await pool.end().catch(() => undefined);
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof SchemaTooNewError) throw new SchemaTooNewError(redactSecrets(message, url));
    throw new Error(`PostgreSQL ${describe}: ${redactSecrets(message, url)}`);
  }
  return {
    describe,
    url,
    pool,
    db: drizzle(pool, { schema }),
    tags,
    close: () => pool.end(),
  };
}
