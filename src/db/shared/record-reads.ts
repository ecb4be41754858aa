// The reads of stored records that are not on a hot path, written once for both engines as
// event-reads.ts is: the lists of resolution records, sweeps and fleet sweeps, and a fleet sweep.
// Each adapter's resolution store extends this class and adds its own reads of one record.

import { asc, type Column, count, desc, eq, type Table } from 'drizzle-orm';
import type { ListedRecord, RECORD_ORDERINGS, RecordFilter, RecordOrder, SWEEP_ORDERINGS } from '../port.js';
import type { AnyDb } from './event-reads.js';
import {
  type ResolutionColumns,
  resolutionOrder,
  resolutionWhere,
  type SweepColumns,
  sweepOrder,
  sweepWhere,
} from './record-filters.js';
import { listedSweep, type RecordColumns, RecordTexts } from './record-text.js';

/** The record tables these reads use, in either dialect. */
export interface RecordTables {
  resolutions: ResolutionColumns & { id: Column; body: Column; picture: Column; bodyHash: Column };
  bodies: Table & { hash: Column; codec: Column; packed: Column };
  sweeps: SweepColumns & { body: Column };
  fleetSweeps: Table & { id: Column; seq: Column; body: Column; results: Column };
}

/** The columns a record's text is rebuilt from (see RecordTexts). */
export function recordColumns<T extends RecordTables>(t: T) {
  return {
    id: t.resolutions.id as T['resolutions']['id'],
    vmId: t.resolutions.vmId as T['resolutions']['vmId'],
    body: t.resolutions.body as T['resolutions']['body'],
    picture: t.resolutions.picture as T['resolutions']['picture'],
    codec: t.bodies.codec as T['bodies']['codec'],
    packed: t.bodies.packed as T['bodies']['packed'],
  };
}

export class RecordReads {
  protected readonly texts = new RecordTexts();

  constructor(
    private readonly reader: AnyDb,
    private readonly tables: RecordTables,
  ) {}

  /** Resolution records with their shared bodies: `extra` columns besides what their text needs. */
  protected records(extra: Record<string, Column> = {}) {
    const { resolutions: r, bodies: b } = this.tables;
    return this.reader
      .select({ ...recordColumns(this.tables), ...extra })
      .from(r)
      .leftJoin(b, eq(b.hash, r.bodyHash));
  }

  private async total(table: Table, where?: unknown): Promise<number> {
    const [size] = await this.reader.select({ n: count() }).from(table).where(where);
    return Number(size?.n ?? 0);
  }

  /** A fleet sweep: the JSON first returned, and every VM's result as a JSON array. */
  async findFleetSweep(id: string): Promise<{ body: string; results: string } | undefined> {
    const f = this.tables.fleetSweeps;
    const [row] = await this.reader.select({ body: f.body, results: f.results }).from(f).where(eq(f.id, id));
    return row;
  }

  /** Fleet sweeps as first returned, oldest first (newest first when `descending`). */
  async listFleetSweeps(
    limit: number,
    offset: number,
    descending = false,
  ): Promise<{ bodies: string[]; total: number }> {
    const f = this.tables.fleetSweeps;
    const [rows, total]: [{ body: string }[], number] = await Promise.all([
      this.reader
        .select({ body: f.body })
        .from(f)
        .orderBy((descending ? desc : asc)(f.seq))
        .limit(limit)
        .offset(offset),
      this.total(f),
    ]);
    return { bodies: rows.map((r) => r.body), total };
  }

  /** A VM's resolutions, those made by sweeps included, oldest first. */
  async listResolutions(vmId: string, limit: number, offset: number): Promise<{ bodies: string[]; total: number }> {
    const r = this.tables.resolutions;
    const where = eq(r.vmId, vmId);
    const [rows, total]: [RecordColumns[], number] = await Promise.all([
      this.records().where(where).orderBy(asc(r.seq)).limit(limit).offset(offset),
      this.total(r, where),
    ]);
    return { bodies: rows.map((row) => this.texts.textOf(row)), total };
  }

  /** Resolution records (sweeps' included) that pass the filter, a page in the order asked for. */
  async listResolutionRecords(
    filter: RecordFilter,
    order: RecordOrder<(typeof RECORD_ORDERINGS)[number]>,
    limit: number,
    offset: number,
  ): Promise<{ records: ListedRecord[]; total: number }> {
    const r = this.tables.resolutions;
    const where = resolutionWhere(r, filter);
    const [rows, total]: [(RecordColumns & { device: string | null; semantics: string | null })[], number] =
      await Promise.all([
        this.records({ device: r.device, semantics: r.semantics })
          .where(where)
          .orderBy(...resolutionOrder(r, order))
          .limit(limit)
          .offset(offset),
        this.total(r, where),
      ]);
    return { records: rows.map((row) => this.texts.listed(row)), total };
  }

  /** Sweep records that pass the filter, a page in the order asked for: each its head (no results). */
  async listSweepRecords(
    filter: RecordFilter,
    order: RecordOrder<(typeof SWEEP_ORDERINGS)[number]>,
    limit: number,
    offset: number,
  ): Promise<{ records: ListedRecord[]; total: number }> {
    const s = this.tables.sweeps;
    const where = sweepWhere(s, this.tables.resolutions, filter);
    const [rows, total]: [{ id: string; vmId: string; semantics: string | null; body: string }[], number] =
      await Promise.all([
        this.reader
          .select({ id: s.id, vmId: s.vmId, semantics: s.semantics, body: s.body })
          .from(s)
          .where(where)
          .orderBy(...sweepOrder(s, order))
          .limit(limit)
          .offset(offset),
        this.total(s, where),
      ]);
    return { records: rows.map(listedSweep), total };
  }
}
