// Everything the API needs from persistence, built on one open database.

import { EventStore } from './event-store.js';
import { IdempotencyStore } from './idempotency-store.js';
import { RecordWriter } from './record-writer/index.js';
import { recordStatements } from './record-writer/statements.js';
import { ResolutionStore } from './resolution-store.js';
import { TokenStore } from './token-store.js';
import { openDatabase, type OpenDatabase } from './database.js';
import { VmRepository } from './vm-repository.js';
import { Metrics } from '../metrics/registry.js';
import { observeStores } from '../metrics/store-metrics.js';

export interface Stores {
  database: OpenDatabase;
  events: EventStore;
  vms: VmRepository;
  idempotency: IdempotencyStore;
  resolutions: ResolutionStore;
  /** API tokens (digests of their secrets); see src/app/tokens.ts. */
  tokens: TokenStore;
  /** Durable, group-committed writes of resolution records; see record-writer.ts. */
  records: RecordWriter;
  /** The Prometheus registry served at GET /metrics; register new metrics here (src/metrics/registry.ts). */
  metrics: Metrics;
  /** Runs fn in one IMMEDIATE transaction: all of its writes land, or none. */
  transaction<T>(fn: () => T): T;
  /** Waits for pending record writes, then closes the database. */
  close(): Promise<void>;
}

export function createStores(path?: string, options: { metrics?: Metrics } = {}): Stores {
  const database = openDatabase(path);
  const events = new EventStore(database.db);
  const transaction = <T>(fn: () => T): T => database.sqlite.transaction(fn).immediate();
  const idempotency = new IdempotencyStore(database.db);
  const resolutions = new ResolutionStore(database.db);
  const statements = recordStatements(database.db);
  const records =
    database.path === ':memory:'
      ? RecordWriter.inThread(database.sqlite, statements)
      : RecordWriter.onWorker(database.path, statements);
  const metrics = options.metrics ?? new Metrics();
  observeStores(metrics, { database, events, records });
  return {
    database,
    events,
    vms: new VmRepository(events),
    idempotency,
    resolutions,
    tokens: new TokenStore(database.db),
    records,
    metrics,
    transaction,
    close: async () => {
      await records.close();
      database.close();
    },
  };
}
