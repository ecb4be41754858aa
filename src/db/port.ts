// The storage port: what the application layer asks of persistence, whichever engine keeps it.
// Two adapters implement it: SQLite (better-sqlite3; sync calls wrapped in promises, the embedded
// default) and PostgreSQL (pg through drizzle's node-postgres driver, for several nodes on one
// database). A new store query goes here first, then into both adapters (src/db/*.ts for SQLite,
// src/db/pg/*.ts for PostgreSQL) and into the shared contract tests (test/contract/).

import type { DomainEvent, RecordedEvent } from '../domain/topology/types.js';
import type {
  EventFilter,
  EventMetadata,
  EventRow,
  StoredEvent,
  StreamListOptions,
  StreamStatus,
} from './event-store.js';
import type { IdempotentEntry } from './idempotency-store.js';
import type { EventAppend } from './record-writer/types.js';
import type {
  ListedRecord,
  RECORD_ORDERINGS,
  RecordFilter,
  RecordOrder,
  StoredSweep,
  SWEEP_ORDERINGS,
} from './resolution-store.js';
import type { TokenRow } from './token-store.js';

export type Engine = 'sqlite' | 'postgres';

/**
 * Plans a batch of appends on the log's last position; undefined: nothing to write. `versions`:
 * the committed versions of the streams append() was told the batch touches, read together with
 * the position where the engine can do so in the same round trip (PostgreSQL), else undefined.
 */
export type AppendPlanner = (
  afterPosition: number,
  versions?: ReadonlyMap<string, number>,
) => Promise<EventAppend | undefined>;

export interface EventStorePort {
  /** Number of events in the stream (0 when it does not exist), as committed. */
  version(streamId: string): Promise<number>;
  /** The versions of several streams in one read (0 for a stream that does not exist). */
  versions(streamIds: readonly string[]): Promise<Map<string, number>>;
  /** The last global position (0 for an empty log). */
  lastPosition(): Promise<number>;
  /** The rows of a command's events, placed after `streamVersion` in their stream and `afterPosition` in the log. */
  rowsFor(
    streamId: string,
    streamVersion: number,
    afterPosition: number,
    domainEvents: readonly DomainEvent[],
    metadata: EventMetadata,
  ): EventRow[];
  /**
   * Appends what `plan` returns, planned on the log's last position, in one transaction; rejects
   * when the events cannot be stored (on SQLite, an error naming STALE_POSITION when another
   * process appended between plan and commit; on PostgreSQL plan runs while the append holds the
   * log head, so that cannot happen). Listeners of onAppended hear of it after the commit.
   */
  append(plan: AppendPlanner, streams?: readonly string[]): Promise<void>;
  /** A stream's events with afterVersion < streamVersion <= toVersion, in order. */
  readStream(
    streamId: string,
    range?: { afterVersion?: number; toVersion?: number; limit?: number },
  ): Promise<StoredEvent[]>;
  /** What a projection needs of a stream's events (position, version, type, data). */
  readRecorded(streamId: string, range?: { afterVersion?: number; toVersion?: number }): Promise<RecordedEvent[]>;
  /** All events after a global position, in order. */
  readAll(after: number, limit: number): Promise<StoredEvent[]>;
  countAll(after: number): Promise<number>;
  /**
   * The events after a global position that pass the filter, in position order: `limit` of them
   * after skipping `offset`, and none past `upTo` when it is given (a change feed catching up).
   */
  readAfter(
    after: number,
    filter: EventFilter,
    page: { limit: number; offset?: number; upTo?: number },
  ): Promise<StoredEvent[]>;
  /** How many events after a global position pass the filter. */
  countAfter(after: number, filter: EventFilter): Promise<number>;
  /**
   * Stream ids (VMs) with their versions, a page at a time: in service, decommissioned (a
   * VmDecommissioned event in the stream) or all; ordered by id or by version (then id).
   */
  streams(
    limit: number,
    offset: number,
    options?: StreamListOptions,
  ): Promise<{ streamId: string; version: number; decommissioned: boolean }[]>;
  streamCount(status?: StreamStatus): Promise<number>;
  /**
   * Calls `listener` with the log's last position after events were appended: on SQLite after
   * each commit of this process; on PostgreSQL on a notification from any node, or a poll that
   * found the log moved (a fallback when a notification is lost). Returns the unsubscribe function.
   */
  onAppended(listener: (lastPosition: number) => void): () => void;
}

export interface IdempotencyPort {
  find(key: string): Promise<IdempotentEntry | undefined>;
}

export interface ResolutionPort {
  findResolution(id: string): Promise<string | undefined>;
  findSweep(id: string, limit: number, offset: number): Promise<StoredSweep | undefined>;
  findFleetSweep(id: string): Promise<{ body: string; results: string } | undefined>;
  /** Fleet sweeps as first returned, oldest first (newest first when `descending`). */
  listFleetSweeps(limit: number, offset: number, descending?: boolean): Promise<{ bodies: string[]; total: number }>;
  /** A VM's resolutions, those made by sweeps included, oldest first. */
  listResolutions(vmId: string, limit: number, offset: number): Promise<{ bodies: string[]; total: number }>;
  /** Resolution records (sweeps' included) that pass the filter, a page in the order asked for. */
  listResolutionRecords(
    filter: RecordFilter,
    order: RecordOrder<(typeof RECORD_ORDERINGS)[number]>,
    limit: number,
    offset: number,
  ): Promise<{ records: ListedRecord[]; total: number }>;
  /** Sweep records that pass the filter, a page in the order asked for: each its head (no results). */
  listSweepRecords(
    filter: RecordFilter,
    order: RecordOrder<(typeof SWEEP_ORDERINGS)[number]>,
    limit: number,
    offset: number,
  ): Promise<{ records: ListedRecord[]; total: number }>;
}

export type NewToken = Omit<TokenRow, 'seq' | 'lastUsedAt' | 'revokedAt'>;

export interface TokenPort {
  find(id: string): Promise<TokenRow | undefined>;
  /** Inserts a token; false when a live token already has the name. */
  insert(row: NewToken): Promise<boolean>;
  /** Inserts a token only into an empty table (the first admin token); false when there are tokens. */
  insertFirst(row: NewToken): Promise<boolean>;
  /** Every token ever made, revoked ones included. */
  total(): Promise<number>;
  live(limit: number, offset: number): Promise<{ rows: TokenRow[]; total: number }>;
  /**
   * Revokes a live token, atomically with the check that `isAdmin` tokens are not all revoked:
   * 'last-admin' when it is the last live admin token, 'not-found' when there is no live token `id`.
   */
  revoke(id: string, at: string, isAdmin: (row: TokenRow) => boolean): Promise<TokenRow | 'not-found' | 'last-admin'>;
  touch(id: string, at: string): Promise<void>;
}

export interface Check {
  ok: boolean;
  detail: string;
}

/** What /readyz reports of the database. */
export interface DatabaseHealth {
  engine: Engine;
  /** The last migration applied. */
  schemaVersion: string;
  checks: { database: Check; migrations: Check };
}
