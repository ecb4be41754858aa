// The event store: one stream per VM, appended in one IMMEDIATE transaction that checks the
// expected version. Positions are global and gap-free (the database refuses anything else, see
// migrations/0001). Events are never updated or deleted.

import { randomUUID } from 'node:crypto';
import { and, asc, count, eq, gt, lte, max, sql } from 'drizzle-orm';
import type { DomainEvent, EventType, RecordedEvent } from '../domain/topology/types';
import type { Db } from './database';
import { decodeEventData, encodeEventData, EVENT_SCHEMA_VERSION } from './event-codec';
import { events } from './schema';

export interface EventMetadata {
  occurredAt: string;
  actor: string;
  requestId: string;
  reason?: string;
}

export type StoredEvent = RecordedEvent & {
  eventId: string;
  streamId: string;
  schemaVersion: number;
  metadata: EventMetadata;
};

/** The stream moved on since the client read it (If-Match, or a concurrent writer). */
export class ConcurrencyError extends Error {
  constructor(
    readonly streamId: string,
    readonly expectedVersion: number,
    readonly actualVersion: number,
  ) {
    super(`stream ${streamId} is at version ${actualVersion}, not ${expectedVersion}`);
    this.name = 'ConcurrencyError';
  }
}

type EventRow = typeof events.$inferSelect;

function toStoredEvent(row: EventRow): StoredEvent {
  const type = row.type as EventType;
  return {
    type,
    data: decodeEventData(type, row.data),
    position: row.position,
    streamVersion: row.streamVersion,
    eventId: row.eventId,
    streamId: row.streamId,
    schemaVersion: row.schemaVersion,
    metadata: JSON.parse(row.metadata) as EventMetadata,
  } as StoredEvent;
}

export class EventStore {
  constructor(private readonly db: Db) {}

  /** Number of events in the stream (0 when it does not exist). */
  version(streamId: string): number {
    const row = this.db.select({ v: max(events.streamVersion) }).from(events).where(eq(events.streamId, streamId)).get();
    return row?.v ?? 0;
  }

  /** The last global position (0 for an empty log). */
  lastPosition(): number {
    return this.db.select({ p: max(events.position) }).from(events).get()?.p ?? 0;
  }

  /**
   * Appends a command's events. Call it inside an IMMEDIATE transaction (see Stores.transaction):
   * the version check and the inserts must see the same database.
   */
  append(streamId: string, expectedVersion: number, domainEvents: readonly DomainEvent[], metadata: EventMetadata): StoredEvent[] {
    const actual = this.version(streamId);
    if (actual !== expectedVersion) throw new ConcurrencyError(streamId, expectedVersion, actual);
    let position = this.lastPosition();
    const metadataJson = JSON.stringify(metadata);
    return domainEvents.map((event, i) => {
      position += 1;
      const row = {
        position,
        eventId: randomUUID(),
        streamId,
        streamVersion: expectedVersion + i + 1,
        type: event.type,
        schemaVersion: EVENT_SCHEMA_VERSION,
        data: encodeEventData(event),
        metadata: metadataJson,
        occurredAt: metadata.occurredAt,
      };
      this.db.insert(events).values(row).run();
      return toStoredEvent(row);
    });
  }

  /** A stream's events with afterVersion < streamVersion <= toVersion, in order. */
  readStream(streamId: string, range: { afterVersion?: number; toVersion?: number; limit?: number } = {}): StoredEvent[] {
    const conditions = [eq(events.streamId, streamId), gt(events.streamVersion, range.afterVersion ?? 0)];
    if (range.toVersion !== undefined) conditions.push(lte(events.streamVersion, range.toVersion));
    const query = this.db.select().from(events).where(and(...conditions)).orderBy(asc(events.streamVersion));
    return (range.limit === undefined ? query.all() : query.limit(range.limit).all()).map(toStoredEvent);
  }

  /** All events after a global position, in order. */
  readAll(after: number, limit: number): StoredEvent[] {
    return this.db.select().from(events).where(gt(events.position, after)).orderBy(asc(events.position)).limit(limit).all().map(toStoredEvent);
  }

  countAll(after: number): number {
    return this.db.select({ n: count() }).from(events).where(gt(events.position, after)).get()?.n ?? 0;
  }

  /** Stream ids with their versions, ordered by id. */
  streams(limit: number, offset: number): { streamId: string; version: number }[] {
    return this.db
      .select({ streamId: events.streamId, version: max(events.streamVersion) })
      .from(events)
      .groupBy(events.streamId)
      .orderBy(asc(events.streamId))
      .limit(limit)
      .offset(offset)
      .all()
      .map((r) => ({ streamId: r.streamId, version: r.version ?? 0 }));
  }

  streamCount(): number {
    return this.db.select({ n: sql<number>`count(distinct ${events.streamId})` }).from(events).get()?.n ?? 0;
  }
}
