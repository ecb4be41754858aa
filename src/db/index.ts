// Picks the storage engine from DOORBELL_DB, and nothing more: a file path or ':memory:' is SQLite
// (the embedded default, db/sqlite/), a postgres:// or postgresql:// URL is PostgreSQL (several
// nodes on one database, db/pg/). Both give the stores of the port (port.ts). A third engine is
// one more sibling folder and one more line here.

import type { StoreOptions, Stores } from './port.js';

export type { StoreOptions, Stores } from './port.js';

/** A postgres:// or postgresql:// URL names PostgreSQL; anything else is a SQLite path (or ':memory:'). */
export const isPostgresUrl = (setting: string) => /^postgres(ql)?:\/\//i.test(setting);

export async function createStores(setting?: string, options: StoreOptions = {}): Promise<Stores> {
  if (setting !== undefined && isPostgresUrl(setting))
    return (await import('./pg/stores.js')).createPgStores(setting, options);
  return (await import('./sqlite/stores.js')).createSqliteStores(setting);
}
