// Events between the port's words and the rows both engines store, written once for both: a row
// read back as an event (whole, or what a projection needs), a command's events as rows, and the
// listeners told after an append.

import { randomUUID } from 'node:crypto';
import type { DomainEvent, EventType, RecordedEvent } from '../../domain/topology/types.js';
import type { AppendListener, EventMetadata, EventRow, StoredEvent } from '../port.js';
import { decodeEventData, EVENT_SCHEMA_VERSION, encodeEventData } from './event-codec.js';

/** What a projection needs of a stored row: no ids, no metadata. */
export function toRecordedEvent(row: Pick<EventRow, 'type' | 'data' | 'position' | 'streamVersion'>): RecordedEvent {
  return {
    type: row.type,
    data: decodeEventData(row.type as EventType, row.data),
    position: row.position,
    streamVersion: row.streamVersion,
  } as RecordedEvent;
}

export function toStoredEvent(row: EventRow): StoredEvent {
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

/** The rows of a command's events (see EventStorePort.rowsFor). */
export function eventRowsFor(
  streamId: string,
  streamVersion: number,
  afterPosition: number,
  domainEvents: readonly DomainEvent[],
  metadata: EventMetadata,
): EventRow[] {
  const metadataJson = JSON.stringify(metadata);
  return domainEvents.map((event, i) => ({
    position: afterPosition + i + 1,
    eventId: randomUUID(),
    streamId,
    streamVersion: streamVersion + i + 1,
    type: event.type,
    schemaVersion: EVENT_SCHEMA_VERSION,
    data: encodeEventData(event),
    metadata: metadataJson,
    occurredAt: metadata.occurredAt,
  }));
}

/** Tells every listener the log's last position; one failing listener does not stop the others. */
export class AppendListeners {
  private readonly listeners = new Set<AppendListener>();

  add(listener: AppendListener): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  get size(): number {
    return this.listeners.size;
  }

  tell(lastPosition: number): void {
    for (const listener of this.listeners) {
      try {
        listener(lastPosition);
      } catch {
        // A listener's own failure is its business; the append is committed.
      }
    }
  }
}
