// The reads of the event log that are not on a hot path, written once for both engines: drizzle
// builds the same query over either dialect's `events` table, and the queries of both dialects
// can be awaited (better-sqlite3's run synchronously inside). Each adapter's event store extends
// this class and adds its own appends and its prepared hot paths.

import { asc, count, gt, max, type SQL, sql } from 'drizzle-orm';
import type { EventFilter, EventRow, StoredEvent, StreamListOptions, StreamStatus } from '../port.js';
import { type EventColumns, eventWhere, streamOrder } from './event-filters.js';
import { toStoredEvent } from './event-rows.js';

/**
 * A drizzle database of either dialect, as far as these reads use it. Typed loosely on purpose:
 * the two dialects' query builders share their shape but no TypeScript type.
 */
// biome-ignore lint/suspicious/noExplicitAny: see above
export type AnyDb = { select: (...fields: any[]) => any };

export class EventLogReads {
  /** `decommissioned`: true (or 1) when a stream, grouped by stream_id, holds a VmDecommissioned event. */
  constructor(
    private readonly reader: AnyDb,
    private readonly table: EventColumns,
    private readonly decommissioned: SQL,
  ) {}

  private havingStatus(status: StreamStatus): SQL | undefined {
    if (status === 'all') return undefined;
    return status === 'decommissioned' ? sql`${this.decommissioned}` : sql`NOT ${this.decommissioned}`;
  }

  async readAll(after: number, limit: number): Promise<StoredEvent[]> {
    const e = this.table;
    const rows: EventRow[] = await this.reader
      .select()
      .from(e)
      .where(gt(e.position, after))
      .orderBy(asc(e.position))
      .limit(limit);
    return rows.map(toStoredEvent);
  }

  async countAll(after: number): Promise<number> {
    const [row] = await this.reader.select({ n: count() }).from(this.table).where(gt(this.table.position, after));
    return Number(row?.n ?? 0);
  }

  async readAfter(
    after: number,
    filter: EventFilter,
    page: { limit: number; offset?: number; upTo?: number },
  ): Promise<StoredEvent[]> {
    const e = this.table;
    const rows: EventRow[] = await this.reader
      .select()
      .from(e)
      .where(eventWhere(e, after, filter, page.upTo))
      .orderBy(asc(e.position))
      .limit(page.limit)
      .offset(page.offset ?? 0);
    return rows.map(toStoredEvent);
  }

  async countAfter(after: number, filter: EventFilter): Promise<number> {
    const e = this.table;
    const [row] = await this.reader
      .select({ n: count() })
      .from(e)
      .where(eventWhere(e, after, filter));
    return Number(row?.n ?? 0);
  }

  /**
   * Stream ids (VMs) with their versions, a page at a time: those in service, those decommissioned
   * (a VmDecommissioned event in the stream), or all; ordered by id or by version (then id).
   */
  async streams(
    limit: number,
    offset: number,
    options: StreamListOptions = {},
  ): Promise<{ streamId: string; version: number; decommissioned: boolean }[]> {
    const e = this.table;
    const version = max(e.streamVersion);
    const rows: { streamId: string; version: number | null; decommissioned: boolean | number }[] = await this.reader
      .select({ streamId: e.streamId, version, decommissioned: this.decommissioned })
      .from(e)
      .groupBy(e.streamId)
      .having(this.havingStatus(options.status ?? 'all'))
      .orderBy(...streamOrder(e, version, options))
      .limit(limit)
      .offset(offset);
    return rows.map((r) => ({
      streamId: r.streamId,
      version: Number(r.version ?? 0),
      decommissioned: r.decommissioned === true || r.decommissioned === 1,
    }));
  }

  async streamCount(status: StreamStatus = 'all'): Promise<number> {
    const e = this.table;
    const streams = this.reader
      .select({ streamId: e.streamId })
      .from(e)
      .groupBy(e.streamId)
      .having(this.havingStatus(status))
      .as('streams');
    const [row] = await this.reader.select({ n: count() }).from(streams);
    return Number(row?.n ?? 0);
  }
}
