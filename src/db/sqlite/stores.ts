// The stores on SQLite: one database file (or ':memory:'), the embedded default. Several processes
// may share the file: appends are refused (STALE_POSITION) when another process appended first.

import { accessSync, constants, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { DatabaseHealth, Stores } from '../port.js';
import { migrationTags } from '../shared/migrations.js';
import { commitWatch } from './commit-watch.js';
import { MIGRATIONS_FOLDER, type OpenDatabase, openDatabase } from './database.js';
import { EventStore } from './event-store.js';
import { IdempotencyStore } from './idempotency-store.js';
import { recordWriterInThread, recordWriterOnWorker, type SqliteRecordWriter } from './record-writer/index.js';
import { recordStatements } from './record-writer/statements.js';
import { ResolutionStore } from './resolution-store.js';
import { TokenStore } from './token-store.js';
import { StreamTicketStore, WebhookStore } from './webhook-store.js';

/** The stores on SQLite, with what only SQLite has: the open database (the CLI and tests read it directly). */
export interface SqliteStores extends Stores {
  database: OpenDatabase;
  records: SqliteRecordWriter;
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

export function createSqliteStores(path?: string): SqliteStores {
  const database = openDatabase(path);
  const statements = recordStatements(database.db);
  const records =
    database.path === ':memory:'
      ? recordWriterInThread(database.sqlite, statements)
      : recordWriterOnWorker(database.path, statements);
  const watch = commitWatch(database.path, database.sqlite);
  const events = new EventStore(database.db, (append) => records.write({ append }), watch);
  const tags = migrationTags(MIGRATIONS_FOLDER);
  return {
    engine: 'sqlite',
    database,
    describe: database.path,
    events,
    idempotency: new IdempotencyStore(database.db),
    resolutions: new ResolutionStore(database.db),
    tokens: new TokenStore(database.db),
    webhooks: new WebhookStore(database.db),
    streamTickets: new StreamTicketStore(database.db),
    records,
    sizes: () => sqliteSizes(database),
    health: async () => sqliteHealth(database, tags),
    close: async () => {
      await records.close();
      database.close();
      // Only now: closing the watch's descriptor may drop the locks of this process's connections.
      watch?.close();
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
