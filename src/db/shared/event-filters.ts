// The WHERE and ORDER BY clauses of reads of the event log, written once for both engines as
// record-filters.ts is: drizzle's operators take the columns of either dialect's `events` table.

import { and, asc, type Column, desc, eq, gt, inArray, lte, type SQL, type Table } from 'drizzle-orm';
import type { EventFilter, StreamListOptions } from '../port.js';

/** The columns of `events` these clauses read, in either dialect's table. */
export interface EventColumns extends Table {
  position: Column;
  streamId: Column;
  streamVersion: Column;
  type: Column;
}

/** The events after `after` (and up to `upTo`, when given) that pass the filter. */
export function eventWhere(e: EventColumns, after: number, filter: EventFilter, upTo?: number): SQL | undefined {
  return and(
    gt(e.position, after),
    upTo === undefined ? undefined : lte(e.position, upTo),
    filter.vm === undefined ? undefined : eq(e.streamId, filter.vm),
    filter.types === undefined || filter.types.length === 0 ? undefined : inArray(e.type, [...filter.types]),
  );
}

/** A stream's events with afterVersion < streamVersion <= toVersion (placeholders or values). */
export function streamRangeWhere(e: EventColumns, streamId: unknown, afterVersion: unknown, toVersion: unknown) {
  return and(eq(e.streamId, streamId), gt(e.streamVersion, afterVersion), lte(e.streamVersion, toVersion));
}

/** ORDER BY of a page of streams: by id, or by version (the aggregate `version`) then id. */
export function streamOrder(e: EventColumns, version: SQL, options: StreamListOptions): SQL[] {
  const { orderBy = 'id', descending = false } = options;
  const direction = descending ? desc : asc;
  return orderBy === 'version' ? [direction(version), direction(e.streamId)] : [direction(e.streamId)];
}
