// Everything the API needs from persistence, built on one open database.

import { EventStore } from './event-store';
import { GroupCommit } from './group-commit';
import { IdempotencyStore } from './idempotency-store';
import { ResolutionStore } from './resolution-store';
import { openDatabase, type OpenDatabase } from './database';
import { VmRepository } from './vm-repository';

export interface Stores {
  database: OpenDatabase;
  events: EventStore;
  vms: VmRepository;
  idempotency: IdempotencyStore;
  resolutions: ResolutionStore;
  /** Batches independent writes (resolution records) into shared transactions; see group-commit.ts. */
  groupCommit: GroupCommit;
  /** Runs fn in one IMMEDIATE transaction: all of its writes land, or none. */
  transaction<T>(fn: () => T): T;
  close(): void;
}

export function createStores(path?: string): Stores {
  const database = openDatabase(path);
  const events = new EventStore(database.db);
  const transaction = <T>(fn: () => T): T => database.sqlite.transaction(fn).immediate();
  return {
    database,
    events,
    vms: new VmRepository(events),
    idempotency: new IdempotencyStore(database.db),
    resolutions: new ResolutionStore(database.db),
    groupCommit: new GroupCommit(transaction),
    transaction,
    close: () => database.close(),
  };
}
