// Opens the SQLite database with the durability settings the service promises, and applies the
// drizzle-kit migrations. Nothing acknowledged is lost: WAL with synchronous=FULL.

import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import * as schema from './schema.js';

export const MIGRATIONS_FOLDER = resolve(dirname(fileURLToPath(import.meta.url)), '../../../migrations/sqlite');
export const DEFAULT_DB_PATH = './data/doorbell.db';

/** drizzle over the better-sqlite3 connection, which `$client` gives for the few reads run on it directly. */
export type Db = BetterSQLite3Database<typeof schema> & { $client: Database.Database };

export interface OpenDatabase {
  /** The file (or ':memory:') the database was opened from. */
  path: string;
  sqlite: Database.Database;
  db: Db;
  close(): void;
}

export function openDatabase(path: string = DEFAULT_DB_PATH): OpenDatabase {
  if (path !== ':memory:') mkdirSync(dirname(resolve(path)), { recursive: true });
  const sqlite = new Database(path);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const db = drizzle(sqlite, { schema });
  migrate(db, { migrationsFolder: MIGRATIONS_FOLDER });
  return {
    path,
    sqlite,
    db,
    close: () => {
      if (sqlite.open) sqlite.close();
    },
  };
}
