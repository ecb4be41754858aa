// The SQLite event store: one stream per VM. Positions are global and gap-free (the database
// refuses anything else, see migrations/sqlite/0001). Events are never updated or deleted.
// Implements the storage port (port.ts): its calls are synchronous better-sqlite3 calls wrapped in
// promises; appends are committed by the record writer (group commit, on its thread).

import { asc, eq, max, sql } from 'drizzle-orm';
import type { RecordedEvent } from '../../domain/topology/types.js';
import type {
  AppendListener,
  Appended,
  AppendPlanner,
  EventAppend,
  EventRow,
  EventStorePort,
  StoredEvent,
} from '../port.js';
import { EventLogReads } from '../shared/event-reads.js';
import { streamRangeWhere } from '../shared/event-filters.js';
import { AppendListeners, eventRowsFor, toRecordedEvent, toStoredEvent } from '../shared/event-rows.js';
import type { CommitWatch } from './commit-watch.js';
import type { Db } from './database.js';
import { events } from './schema.js';

/** 1 when a stream (grouped by stream_id) holds a VmDecommissioned event, else 0. */
const DECOMMISSIONED = sql<number>`max(${events.type} = 'VmDecommissioned')`;

/** How many stream versions are kept in memory at most (about 100 bytes each). */
const MAX_KNOWN_VERSIONS = 100_000;

/** SQLite's LIMIT -1: no limit. */
const NO_LIMIT = -1;
const NO_UPPER_VERSION = Number.MAX_SAFE_INTEGER;

/** INSERT of one event row, every column a placeholder named as EventRow names it. */
export function eventInsert(db: Db) {
  const p = sql.placeholder;
  return db.insert(events).values({
    position: p('position'),
    eventId: p('eventId'),
    streamId: p('streamId'),
    streamVersion: p('streamVersion'),
    type: p('type'),
    schemaVersion: p('schemaVersion'),
    data: p('data'),
    metadata: p('metadata'),
    occurredAt: p('occurredAt'),
  });
}

/**
 * A one-value query written by drizzle, run by better-sqlite3 directly (`pluck`): the two reads
 * every request makes cost a third less without drizzle's row mapping (6 us instead of 9 us on a
 * WAL file, measured with scratch timing of 200,000 calls).
 */
function scalar(db: Db, query: { toSQL(): { sql: string } }) {
  return db.$client.prepare<unknown[], number | null>(query.toSQL().sql).pluck();
}

/**
 * The queries on the hot paths, prepared once: building and preparing a drizzle query costs
 * ~40 us per call, which every request would otherwise pay.
 */
function preparedQueries(db: Db) {
  const p = sql.placeholder;
  return {
    version: scalar(
      db,
      db
        .select({ v: max(events.streamVersion) })
        .from(events)
        .where(eq(events.streamId, p('streamId'))),
    ),
    lastPosition: scalar(db, db.select({ p: max(events.position) }).from(events)),
    readRecorded: db
      .select({ position: events.position, streamVersion: events.streamVersion, type: events.type, data: events.data })
      .from(events)
      .where(streamRangeWhere(events, p('streamId'), p('afterVersion'), p('toVersion')))
      .orderBy(asc(events.streamVersion))
      .prepare(),
    readStream: db
      .select()
      .from(events)
      .where(streamRangeWhere(events, p('streamId'), p('afterVersion'), p('toVersion')))
      .orderBy(asc(events.streamVersion))
      .limit(p('limit'))
      .prepare(),
  };
}

export class EventStore extends EventLogReads implements EventStorePort {
  private readonly queries: ReturnType<typeof preparedQueries>;
  private readonly listeners = new AppendListeners();
  /**
   * What this store last read or committed of the log, kept while `watch` tells that nothing was
   * committed to the file since: the log's last position (-1: not known) and the versions of the
   * streams read since, all as of that position. Without a watch (':memory:'), every read asks SQL.
   */
  private knownPosition = -1;
  private readonly knownVersions = new Map<string, number>();

  /**
   * `commit` makes an append durable: the record writer, with its group commit. `watch` tells
   * whether anything was committed to the file since the last look (commit-watch.ts).
   */
  constructor(
    db: Db,
    private readonly commit: (append: EventAppend) => Promise<void>,
    private readonly watch?: CommitWatch,
  ) {
    super(db, events, DECOMMISSIONED);
    this.queries = preparedQueries(db);
  }

  /**
   * Forgets what was known when something was committed since the last look that moved the log:
   * another process (or this one's writer, before append() heard back) appended events. A commit
   * that appended none (records, tokens, an Idempotency-Key) leaves every version as it was.
   */
  private checkKnown(): boolean {
    if (this.watch === undefined) return false;
    if (this.watch.unchanged()) return true;
    // Read after the look: what is read now is at least as new as what the look saw.
    const last = this.queries.lastPosition.get() ?? 0;
    if (last !== this.knownPosition) {
      this.knownVersions.clear();
      this.knownPosition = last;
    }
    return true;
  }

  async version(streamId: string): Promise<number> {
    return this.versionNow(streamId);
  }

  async versions(streamIds: readonly string[]): Promise<Map<string, number>> {
    const known = this.checkKnown();
    return new Map(streamIds.map((id) => [id, known ? this.knownVersion(id) : this.storedVersion(id)]));
  }

  /** version(), synchronously (SQLite only). */
  versionNow(streamId: string): number {
    return this.checkKnown() ? this.knownVersion(streamId) : this.storedVersion(streamId);
  }

  private storedVersion(streamId: string): number {
    return this.queries.version.get(streamId) ?? 0;
  }

  /** The stream's version as known at knownPosition (checkKnown() just looked), read once. */
  private knownVersion(streamId: string): number {
    let version = this.knownVersions.get(streamId);
    if (version === undefined) {
      version = this.storedVersion(streamId);
      if (this.knownVersions.size >= MAX_KNOWN_VERSIONS) this.knownVersions.clear();
      this.knownVersions.set(streamId, version);
    }
    return version;
  }

  async lastPosition(): Promise<number> {
    return this.lastPositionNow();
  }

  /** lastPosition(), synchronously (SQLite only). */
  lastPositionNow(): number {
    return this.checkKnown() ? this.knownPosition : (this.queries.lastPosition.get() ?? 0);
  }

  /**
   * Plans on the log's last position, then commits through the record writer, which refuses the
   * events (STALE_POSITION) when another process appended in between. After the commit, the
   * onAppended listeners hear of it (change feeds read what was just committed).
   */
  async append(plan: AppendPlanner, _streams?: readonly string[]): Promise<Appended> {
    const afterPosition = this.lastPositionNow();
    const append = await plan(afterPosition);
    if (append === undefined) return { afterPosition };
    await this.commit(append);
    const count = append.events.length;
    if (count === 0) return { afterPosition };
    this.knowCommitted(append.afterPosition, append.events);
    this.listeners.tell(append.afterPosition + count);
    return { afterPosition };
  }

  /**
   * The events this process just committed, durably, right after `afterPosition` (the writer
   * checked that the log was there): when what is known was as of that position, it is now as of
   * the events' last, with their streams' new versions. Otherwise the next look reads again.
   */
  private knowCommitted(afterPosition: number, rows: readonly EventRow[]): void {
    if (this.knownPosition !== afterPosition) return;
    for (const row of rows) this.knownVersions.set(row.streamId, row.streamVersion);
    this.knownPosition = afterPosition + rows.length;
  }

  readonly rowsFor = eventRowsFor;
  readonly placesAtCommit = false;

  async readStream(
    streamId: string,
    range: { afterVersion?: number; toVersion?: number; limit?: number } = {},
  ): Promise<StoredEvent[]> {
    return this.queries.readStream
      .all({
        streamId,
        afterVersion: range.afterVersion ?? 0,
        toVersion: range.toVersion ?? NO_UPPER_VERSION,
        limit: range.limit ?? NO_LIMIT,
      })
      .map(toStoredEvent);
  }

  /**
   * Only what a projection needs (position, version, type, data) of a stream's events with
   * afterVersion < streamVersion <= toVersion: materializing ids and metadata too tripled the cost
   * of a rebuild.
   */
  async readRecorded(
    streamId: string,
    range: { afterVersion?: number; toVersion?: number } = {},
  ): Promise<RecordedEvent[]> {
    return this.queries.readRecorded
      .all({ streamId, afterVersion: range.afterVersion ?? 0, toVersion: range.toVersion ?? NO_UPPER_VERSION })
      .map(toRecordedEvent);
  }

  /**
   * Wakes `listener` after each commit of this process that appended events, with the log's last
   * position. Commits of other processes on the same file are not seen here: a reader that must
   * see them polls lastPosition() as well (src/app/change-feed.ts). Returns the unsubscribe.
   */
  onAppended(listener: AppendListener): () => void {
    return this.listeners.add(listener);
  }
}
