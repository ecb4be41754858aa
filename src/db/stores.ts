// Everything the API needs from persistence, built on one open database.

import { EventStore } from './event-store';
import { IdempotencyStore } from './idempotency-store';
import { openDatabase, type OpenDatabase } from './database';
import { VmRepository } from './vm-repository';

export interface Stores {
  database: OpenDatabase;
  events: EventStore;
  vms: VmRepository;
  idempotency: IdempotencyStore;
  /** Runs fn in one IMMEDIATE transaction: all of its writes land, or none. */
  transaction<T>(fn: () => T): T;
  close(): void;
}

export function createStores(path?: string): Stores {
  const database = openDatabase(path);
  const events = new EventStore(database.db);
  return {
    database,
    events,
    vms: new VmRepository(events),
    idempotency: new IdempotencyStore(database.db),
    transaction: (fn) => database.sqlite.transaction(fn).immediate(),
    close: () => database.close(),
  };
}
