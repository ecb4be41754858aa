// Picks the storage engine from DOORBELL_DB, and nothing more: a file path or ':memory:' is SQLite
// (the embedded default, db/sqlite/), a postgres:// or postgresql:// URL is PostgreSQL (several
// nodes on one database, db/pg/). Both give the stores of the port (port.ts). A third engine is
// one more sibling folder and one more line here.

import { Metrics } from '../metrics/registry.js';
import { observeStores } from '../metrics/store-metrics.js';
import type { StoreOptions, Stores as PortStores } from './port.js';
import { VmRepository } from './vm-repository.js';

export type { StoreOptions } from './port.js';

export type Stores = PortStores & { vms: VmRepository; metrics: Metrics };

/** A postgres:// or postgresql:// URL names PostgreSQL; anything else is a SQLite path (or ':memory:'). */
export const isPostgresUrl = (setting: string) => /^postgres(ql)?:\/\//i.test(setting);

export async function createStores(
  setting?: string,
  options: StoreOptions & { metrics?: Metrics } = {},
): Promise<Stores> {
  const stores =
    setting !== undefined && isPostgresUrl(setting)
      ? await (await import('./pg/stores.js')).createPgStores(setting, options)
      : (await import('./sqlite/stores.js')).createSqliteStores(setting);
  const metrics = options.metrics ?? new Metrics();
  observeStores(metrics, stores);
  return Object.assign(stores, { vms: new VmRepository(stores.events), metrics });
}
