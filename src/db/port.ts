// The storage port: what the application layer asks of persistence, whichever engine keeps it,
// and every word it speaks (events, records, tokens, idempotency entries, filters, orderings).
// It imports nothing of an engine. Two adapters implement it, siblings that import this port and
// db/shared/ (what is written once for both), never each other: db/sqlite/ (better-sqlite3; sync
// calls wrapped in promises, the embedded default) and db/pg/ (pg through drizzle's node-postgres
// driver, for several nodes on one database). db/index.ts picks one from DOORBELL_DB. A new store
// query goes here first, then into both adapters and into the shared contract tests
// (test/contract/storage-contract.ts).

import type { DomainEvent, RecordedEvent } from '../domain/topology/types.js';

/** What is kept with every event: who appended it, when, for whom and why. */
export interface EventMetadata {
  occurredAt: string;
  /** The name of the token that appended the event. */
  actor: string;
  tokenId?: string;
  /** What the client said in X-Actor: whom the token's holder acted for. */
  onBehalfOf?: string;
  requestId: string;
  reason?: string;
  /** The text an import created the VM from (POST /v1/vm-imports): its format and SHA-256. */
  importedFrom?: { format: string; sha256: string; emulator?: string };
}

export type StoredEvent = RecordedEvent & {
  eventId: string;
  streamId: string;
  schemaVersion: number;
  metadata: EventMetadata;
};

/** An event as both engines store it (the columns of `events`; data and metadata as JSON text). */
export interface EventRow {
  position: number;
  eventId: string;
  streamId: string;
  streamVersion: number;
  type: string;
  schemaVersion: number;
  data: string;
  metadata: string;
  occurredAt: string;
}

/** Which events a reader of the log wants: one VM's (or any), of some types (or all). */
export interface EventFilter {
  vm?: string;
  types?: readonly string[];
}

/** Which VMs a list shows: those in service (the default of GET /v1/vms), decommissioned ones, or all. */
export const STREAM_STATUSES = ['active', 'decommissioned', 'all'] as const;
export type StreamStatus = (typeof STREAM_STATUSES)[number];

/** How a page of streams is chosen and ordered (GET /v1/vms). */
export interface StreamListOptions {
  status?: StreamStatus;
  orderBy?: 'id' | 'version';
  descending?: boolean;
}

/** Called after each commit that appended events, with the log's last position then. */
export type AppendListener = (lastPosition: number) => void;

/** An answer kept under an Idempotency-Key. */
export interface StoredResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface IdempotentEntry extends StoredResponse {
  fingerprint: string;
}

export interface IdempotencyWrite {
  key: string;
  fingerprint: string;
  response: StoredResponse;
  createdAt: string;
}

/**
 * The events of a batch of commands, placed after `afterPosition`, with the answers to keep under
 * their Idempotency-Keys. On SQLite the commit refuses them (an error starting with
 * STALE_POSITION) when the log has moved on since, i.e. another process appended, so that the
 * commands are planned again on what is stored.
 */
export interface EventAppend {
  afterPosition: number;
  events: EventRow[];
  idempotency: IdempotencyWrite[];
}

export const STALE_POSITION = 'STALE_POSITION';

/** A resolution record: its id and VM, and the resolution it returned (shared by hash). */
export interface ResolutionRecordRow {
  id: string;
  vmId: string;
  sweepId: string | null;
  /** sha256 of `resolution`. */
  bodyHash: string;
  /** The JSON of the resolution without the record's id and VM; left out when it is stored already. */
  resolution?: string;
  /** The absolute URL of the record's picture, as the answer gave it. */
  picture?: string;
  createdAt: string;
  /** What lists filter on, from the resolution (booleans as 0 and 1: what SQLite stores); absent: NULL. */
  device?: string;
  semantics?: string;
  installed?: 0 | 1;
  misroutedBeforeFix?: 0 | 1;
}

/** A sweep record: the sweep's JSON with empty results (its resolutions are records of their own). */
export interface SweepRecordRow {
  id: string;
  vmId: string;
  head: string;
  createdAt: string;
  /** What lists filter on, from the head; absent: NULL. */
  semantics?: string;
  misroutedBeforeFix?: number;
  routesMissing?: number;
}

/** A fleet sweep: the 201's JSON (its first page) and every VM's result. */
export interface FleetSweepRow {
  id: string;
  body: string;
  results: string;
  createdAt: string;
}

/** What one record write carries, all committed in one transaction. */
export interface RecordWrite {
  resolutions?: ResolutionRecordRow[];
  sweep?: SweepRecordRow;
  fleetSweep?: FleetSweepRow;
  idempotency?: IdempotencyWrite;
}

/** What a SQLite connection runs with: synchronous (2 = FULL) and journal_mode. */
export interface ConnectionSettings {
  synchronous: number;
  journalMode: string;
}

/** Told about every committed batch: how many writes it held and how long the commit took. */
export type BatchObserver = (size: number, seconds: number) => void;

/**
 * Durable, group-committed writes of records (db/shared/record-writer.ts): a write's promise
 * settles only once it is committed.
 */
export interface RecordWriterPort {
  write(write: RecordWrite): Promise<void>;
  /** Writes waiting for a commit (the one in flight included): what back-pressure looks at. */
  readonly queueDepth: number;
  /** False once the writer can commit nothing more (its thread died). */
  readonly alive: boolean;
  /** Sets the one observer of committed batches (the metrics). */
  observe(observer: BatchObserver): void;
  /** SQLite: the durability settings of the connection that commits (undefined elsewhere). */
  settings(): Promise<ConnectionSettings | undefined>;
  /** Waits for every queued write, then stops. */
  close(): Promise<void>;
}

/** The filters of the record lists; absent: any. */
export interface RecordFilter {
  vm?: string;
  device?: string;
  semantics?: string;
  installed?: boolean;
  misroutedBeforeFix?: boolean;
}

/** What record lists can be ordered by; `created` is the order they were stored in. */
export const RECORD_ORDERINGS = ['created', 'vm', 'device', 'semantics'] as const;
export const SWEEP_ORDERINGS = ['created', 'vm', 'semantics'] as const;
export interface RecordOrder<F extends string> {
  field: F;
  descending: boolean;
}

/** A record of a list: its id and VM (for a brief item) and its stored JSON. */
export interface ListedRecord {
  id: string;
  vm: string;
  device: string | null;
  semantics: string | null;
  text: string;
}

/** A stored sweep: whole (as answered, before sweeps were paged), or its head and a page of records. */
export type StoredSweep = { whole: string } | { head: string; records: string[]; total: number };

/** An API token as stored: a digest of the secret, never the secret (src/app/tokens.ts). */
export interface TokenRow {
  seq: number;
  id: string;
  name: string;
  scopes: string;
  secretHash: string;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export type Engine = 'sqlite' | 'postgres';

/**
 * Plans a batch of appends after `afterPosition`; undefined: nothing to write. On SQLite that is
 * the log's last position. On PostgreSQL it is PROVISIONAL_AFTER (shared/provisional-positions.ts):
 * the batch is planned without holding the log head and takes its real positions at commit.
 * `versions`: the committed versions of the streams append() was told the batch touches, read
 * just before planning where the engine reads them in one round trip (PostgreSQL), else undefined.
 */
export type AppendPlanner = (
  afterPosition: number,
  versions?: ReadonlyMap<string, number>,
) => Promise<EventAppend | undefined>;

/** Where an append's events went: after `afterPosition`, which may differ from the one planned on. */
export interface Appended {
  afterPosition: number;
}

/**
 * Told of each PostgreSQL append: how long the node planned (before taking the log head), how long
 * the commit held the log head (from the lock granted to the commit done), and each plan refused
 * at commit because a stream it planned on had moved meanwhile (the batch is planned again).
 */
export interface AppendObserver {
  planned(seconds: number): void;
  held(seconds: number): void;
  refused(): void;
}

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
   * Appends what `plan` returns in one transaction, and says where its events went. Rejects with
   * an error naming STALE_POSITION when the plan no longer holds: on SQLite when another process
   * appended between plan and commit; on PostgreSQL when a stream the batch appends to moved, or an
   * Idempotency-Key it stores was stored meanwhile. Listeners of onAppended hear of it after the commit.
   */
  append(plan: AppendPlanner, streams?: readonly string[]): Promise<Appended>;
  /**
   * true when append() places the events at commit (PostgreSQL): appends to different streams may
   * then be planned and sent while others are in flight. false: plans run on the log's last
   * position, one append at a time (SQLite).
   */
  readonly placesAtCommit: boolean;
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
  onAppended(listener: AppendListener): () => void;
  /** Sets the one observer of planning and of the log head's hold (the metrics); only engines with such a lock have it. */
  observeAppends?(observer: AppendObserver): void;
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

/** What every engine gives the application, built by db/index.ts from DOORBELL_DB. */
export interface Stores {
  engine: Engine;
  /** Where the data is, fit for a log line (a URL's password is never in it). */
  describe: string;
  events: EventStorePort;
  idempotency: IdempotencyPort;
  resolutions: ResolutionPort;
  /** API tokens (digests of their secrets); see src/app/tokens.ts. */
  tokens: TokenPort;
  /** Webhooks, their delivery records, and event stream tickets (src/app/webhooks.ts). */
  webhooks: WebhookPort;
  streamTickets: StreamTicketPort;
  /** Durable, group-committed writes of resolution records. */
  records: RecordWriterPort;
  /** Bytes of the database and of its write-ahead log; undefined once closed. */
  sizes(): Promise<{ database: number; wal: number } | undefined>;
  /** What /readyz reports of the database. */
  health(): Promise<DatabaseHealth>;
  /** Waits for pending record writes, then closes the database. */
  close(): Promise<void>;
}

export interface StoreOptions {
  /** PostgreSQL only: connections in the pool, and how long one statement may run. */
  poolSize?: number;
  statementTimeoutMs?: number;
}

// ---- Webhooks and stream tickets: what src/app/webhooks.ts, the deliverer
// (src/app/webhook-deliverer.ts) and the ticket routes ask of persistence.

/** A webhook as stored: its settings, its secret(s), and where its delivery stands in the log. */
export interface WebhookRow {
  id: string;
  url: string;
  /** Event types it wants; empty: all. */
  eventTypes: string[];
  /** VMs (stream ids) it wants; empty: all. */
  vms: string[];
  enabled: boolean;
  /** Standard Webhooks secret (`whsec_` + base64). */
  secret: string;
  /** The secret before the last rotation, still signed with until `previousSecretUntil` (ms since epoch). */
  previousSecret: string | null;
  previousSecretUntil: number | null;
  createdAt: string;
  updatedAt: string;
  /** Every matching event at or before this position has been delivered (answered 2xx). */
  cursor: number;
  /** Failed attempts in a row at the event after the cursor. */
  failures: number;
  /** When the first of those failures happened (ms since epoch); the retry window counts from it. */
  failingSince: number | null;
  /** Not before this time (ms since epoch) is the next attempt made. */
  nextAttemptAt: number | null;
  /** Why the service disabled the hook (410, retries exhausted); null when it did not. */
  disabledReason: string | null;
  /** The node that delivers for the hook now, and until when its lease holds (ms since epoch). */
  leaseOwner: string | null;
  leaseUntil: number | null;
}

export const DELIVERY_OUTCOMES = ['delivered', 'failed', 'gone', 'refused'] as const;
export type DeliveryOutcome = (typeof DELIVERY_OUTCOMES)[number];

/** One attempt to deliver one event to one hook. */
export interface DeliveryRow {
  seq: number;
  hookId: string;
  /** The event's position in the log (0 for a ping). */
  position: number;
  eventType: string;
  /** The `webhook-id` header: the same for every attempt at one event. */
  messageId: string;
  /** 1 for the first attempt at this event, 2 for the first retry, ... */
  attempt: number;
  outcome: DeliveryOutcome;
  /** The receiver's HTTP status; null when there was no answer (refused, timeout, connection error). */
  httpStatus: number | null;
  error: string | null;
  attemptedAt: string;
  latencyMs: number;
  /** The first bytes of the receiver's answer. */
  responseExcerpt: string | null;
  /** The service node that made the attempt. */
  node: string;
}

export type NewDelivery = Omit<DeliveryRow, 'seq'>;

/** What an attempt changes in its hook, written together with the attempt's record. */
export type DeliveryProgress = Pick<WebhookRow, 'cursor' | 'failures' | 'failingSince' | 'nextAttemptAt'> &
  Partial<Pick<WebhookRow, 'enabled' | 'disabledReason'>>;

/** What an admin may change of a hook (PATCH, rotate-secret, redeliver). */
export type WebhookChanges = Partial<
  Pick<
    WebhookRow,
    | 'url'
    | 'eventTypes'
    | 'vms'
    | 'enabled'
    | 'secret'
    | 'previousSecret'
    | 'previousSecretUntil'
    | 'cursor'
    | 'failures'
    | 'failingSince'
    | 'nextAttemptAt'
    | 'disabledReason'
  >
> & { updatedAt: string };

export interface WebhookPort {
  insert(row: WebhookRow): Promise<void>;
  find(id: string): Promise<WebhookRow | undefined>;
  /** Hooks oldest first. */
  list(limit: number, offset: number): Promise<{ rows: WebhookRow[]; total: number }>;
  /** The enabled hooks (what the deliverer serves). */
  enabled(): Promise<WebhookRow[]>;
  update(id: string, changes: WebhookChanges): Promise<WebhookRow | undefined>;
  /** Deletes the hook and its delivery records; false when there was none. */
  remove(id: string): Promise<boolean>;
  /**
   * Takes or renews the hook's delivery lease for `node` until `now + leaseMs`: the hook as it is
   * now, or undefined when another node holds an unexpired lease (or the hook is gone or disabled).
   */
  claim(id: string, node: string, now: number, leaseMs: number): Promise<WebhookRow | undefined>;
  /** Gives the lease up (only when `node` holds it). */
  release(id: string, node: string): Promise<void>;
  /**
   * Records an attempt and moves the hook on, in one transaction, only while `node` holds the
   * lease: false (nothing written) when it lost it meanwhile. A ping (position 0) changes nothing
   * of the hook: pass progress undefined.
   */
  recordAttempt(
    id: string,
    node: string,
    attempt: NewDelivery,
    progress: DeliveryProgress | undefined,
  ): Promise<boolean>;
  /** A hook's attempts, newest first. */
  deliveries(id: string, limit: number, offset: number): Promise<{ rows: DeliveryRow[]; total: number }>;
}

export interface StreamTicketPort {
  /** Stores a ticket (the digest of its secret) made for a token, usable once before `expiresAt` (ms). */
  insert(digest: string, tokenId: string, expiresAt: number, now: number): Promise<void>;
  /** Uses a ticket: the token id it was made for, or undefined when unknown, used or expired. */
  redeem(digest: string, now: number): Promise<string | undefined>;
}
