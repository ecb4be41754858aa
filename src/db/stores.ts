// Everything the application needs from persistence, behind the storage port (port.ts), built on
// the engine DOORBELL_DB names: a file path or ':memory:' is SQLite (the embedded default), a
// postgres:// or postgresql:// URL is PostgreSQL (several nodes on one database, src/db/pg/).

import { accessSync, constants, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { openDatabase, MIGRATIONS_FOLDER, type OpenDatabase } from './database.js';
import { EventStore } from './event-store.js';
import { migrationTags } from './migrations.js';
import { IdempotencyStore } from './idempotency-store.js';
import type { DatabaseHealth, Engine, EventStorePort, IdempotencyPort, ResolutionPort, TokenPort } from './port.js';
import { RecordWriter } from './record-writer/index.js';
import { recordStatements } from './record-writer/statements.js';
import { ResolutionStore } from './resolution-store.js';
import { TokenStore } from './token-store.js';
import { VmRepository } from './vm-repository.js';
import type { StreamTicketPort, WebhookPort } from './webhook-port.js';
import { StreamTicketStore, WebhookStore } from './webhook-store.js';
import { Metrics } from '../metrics/registry.js';
import { observeStores } from '../metrics/store-metrics.js';

export interface Stores {
  engine: Engine;
  /** SQLite only: the open database file (the CLI and tests read it directly). */
  database?: OpenDatabase;
  /** Where the data is, fit for a log line (a URL's password is never in it). */
  describe: string;
  events: EventStorePort;
  vms: VmRepository;
  idempotency: IdempotencyPort;
  resolutions: ResolutionPort;
  /** API tokens (digests of their secrets); see src/app/tokens.ts. */
  tokens: TokenPort;
  /** Webhooks, their delivery records, and event stream tickets (src/app/webhooks.ts). */
  webhooks: WebhookPort;
  streamTickets: StreamTicketPort;
  /** Durable, group-committed writes of resolution records; see record-writer.ts. */
  records: RecordWriter;
  /** The Prometheus registry served at GET /metrics; register new metrics here (src/metrics/registry.ts). */
  metrics: Metrics;
  /** What /readyz reports of the database. */
  health(): Promise<DatabaseHealth>;
  /** Waits for pending record writes, then closes the database. */
  close(): Promise<void>;
}

export interface StoreOptions {
  metrics?: Metrics;
  /** PostgreSQL only: connections in the pool, and how long one statement may run. */
  poolSize?: number;
  statementTimeoutMs?: number;
}

/** A postgres:// or postgresql:// URL names PostgreSQL; anything else is a SQLite path (or ':memory:'). */
export const isPostgresUrl = (setting: string) => /^postgres(ql)?:\/\//i.test(setting);

export async function createStores(setting?: string, options: StoreOptions = {}): Promise<Stores> {
  if (setting !== undefined && isPostgresUrl(setting)) {
    const { createPgStores } = await import('./pg/stores.js');
    return createPgStores(setting, options);
  }
  return createSqliteStores(setting, options);
}

function writable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    accessSync(dirname(resolve(path)), constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

function sqliteHealth(database: OpenDatabase, tags: string[]): DatabaseHealth {
  const open = database.sqlite.open && !database.sqlite.readonly;
  const dbOk = open && (database.path === ':memory:' || writable(database.path));
  let applied = 0;
  if (database.sqlite.open)
    applied = (database.sqlite.prepare('SELECT count(*) AS n FROM __drizzle_migrations').get() as { n: number }).n;
  return {
    engine: 'sqlite',
    schemaVersion: tags[applied - 1] ?? '',
    checks: {
      database: {
        ok: dbOk,
        detail: dbOk ? `${database.path} open for writing` : `${database.path} is not open for writing`,
      },
      migrations: { ok: applied === tags.length, detail: `${applied} of ${tags.length} migrations applied` },
    },
  };
}

export function createSqliteStores(path?: string, options: StoreOptions = {}): Stores {
  const database = openDatabase(path);
  const statements = recordStatements(database.db);
  const records =
    database.path === ':memory:'
      ? RecordWriter.inThread(database.sqlite, statements)
      : RecordWriter.onWorker(database.path, statements);
  const events = new EventStore(database.db, (append) => records.write({ append }));
  const metrics = options.metrics ?? new Metrics();
  observeStores(metrics, {
    events,
    records,
    sizes: () => sqliteSizes(database),
  });
  const tags = migrationTags(MIGRATIONS_FOLDER);
  return {
    engine: 'sqlite',
    database,
    describe: database.path,
    events,
    vms: new VmRepository(events),
    idempotency: new IdempotencyStore(database.db),
    resolutions: new ResolutionStore(database.db),
    tokens: new TokenStore(database.db),
    webhooks: new WebhookStore(database.db),
    streamTickets: new StreamTicketStore(database.db),
    records,
    metrics,
    health: async () => sqliteHealth(database, tags),
    close: async () => {
      await records.close();
      database.close();
    },
  };
}

const fileSize = (path: string) => {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
};

async function sqliteSizes(database: OpenDatabase): Promise<{ database: number; wal: number } | undefined> {
  if (!database.sqlite.open) return undefined;
  if (database.path === ':memory:') {
    const pages = database.sqlite.pragma('page_count', { simple: true }) as number;
    const pageSize = database.sqlite.pragma('page_size', { simple: true }) as number;
    return { database: pages * pageSize, wal: 0 };
  }
  return { database: fileSize(database.path), wal: fileSize(`${database.path}-wal`) };
}
