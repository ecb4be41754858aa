// MSI resolutions, sweeps and fleet sweeps as records: the exact JSON a client received, stored once and never
// changed (migrations/0001 and 0003 refuse updates and deletes), read back byte for byte. They
// are written by the record writer (record-writer/); resolution bodies are shared by hash and
// compressed (records/codec.mjs), sweeps keep their head and point at their resolutions.

import { asc, count, desc, eq, sql } from 'drizzle-orm';
import type { Db } from './database.js';
import { unpack } from './records/codec.mjs';
import {
  type RECORD_ORDERINGS,
  type RecordFilter,
  type RecordOrder,
  resolutionOrder,
  resolutionWhere,
  type SWEEP_ORDERINGS,
  sweepOrder,
  sweepWhere,
} from './record-filters.js';
import { recordText } from './records/record-text.js';
import type { ResolutionPort } from './port.js';
import { fleetSweeps, msiResolutions, msiSweeps, resolutionBodies } from './schema.js';

const recordColumns = {
  id: msiResolutions.id,
  vmId: msiResolutions.vmId,
  body: msiResolutions.body,
  picture: msiResolutions.picture,
  codec: resolutionBodies.codec,
  packed: resolutionBodies.packed,
};
export type RecordColumns = {
  id: string;
  vmId: string;
  body: string;
  picture: string | null;
  codec: string | null;
  packed: Buffer | null;
};

export type { RecordFilter } from './record-filters.js';

export { RECORD_ORDERINGS, type RecordOrder, SWEEP_ORDERINGS } from './record-filters.js';

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

function preparedQueries(db: Db) {
  const p = sql.placeholder;
  const records = () =>
    db
      .select(recordColumns)
      .from(msiResolutions)
      .leftJoin(resolutionBodies, eq(resolutionBodies.hash, msiResolutions.bodyHash));
  return {
    findResolution: records()
      .where(eq(msiResolutions.id, p('id')))
      .prepare(),
    sweepResolutions: records()
      .where(eq(msiResolutions.sweepId, p('sweepId')))
      .orderBy(asc(msiResolutions.seq))
      .limit(p('limit'))
      .offset(p('offset'))
      .prepare(),
    sweepSize: db
      .select({ n: count() })
      .from(msiResolutions)
      .where(eq(msiResolutions.sweepId, p('sweepId')))
      .prepare(),
    findSweep: db
      .select()
      .from(msiSweeps)
      .where(eq(msiSweeps.id, p('id')))
      .prepare(),
  };
}

/** How many unpacked bodies stay cached: a sweep of an unchanged VM read again unpacks nothing. */
const BODY_CACHE_SIZE = 512;

/** A record's text from its row and its shared body, unpacked bodies cached; the same on both engines. */
export class RecordTexts {
  private readonly bodies = new Map<string, string>();

  textOf(row: RecordColumns): string {
    if (row.codec === null || row.packed === null) return row.body;
    const key = `${row.codec}:${row.packed.toString('base64')}`;
    let json = this.bodies.get(key);
    if (json === undefined) {
      json = unpack(row.codec, row.packed);
      if (this.bodies.size >= BODY_CACHE_SIZE) this.bodies.delete(this.bodies.keys().next().value!);
      this.bodies.set(key, json);
    }
    return recordText(row.id, row.vmId, json, row.picture);
  }
}

export class ResolutionStore implements ResolutionPort {
  /** The per-request queries, prepared once (see EventStore). */
  private readonly queries: ReturnType<typeof preparedQueries>;
  private readonly texts = new RecordTexts();

  constructor(private readonly db: Db) {
    this.queries = preparedQueries(db);
  }

  private textOf(row: RecordColumns): string {
    return this.texts.textOf(row);
  }

  async findResolution(id: string): Promise<string | undefined> {
    const row = this.queries.findResolution.get({ id });
    return row === undefined ? undefined : this.textOf(row);
  }

  async findSweep(id: string, limit: number, offset: number): Promise<StoredSweep | undefined> {
    const row = this.queries.findSweep.get({ id });
    if (row === undefined) return undefined;
    if (row.format === 'json') return { whole: row.body };
    const records = this.queries.sweepResolutions.all({ sweepId: id, limit, offset }).map((r) => this.textOf(r));
    return { head: row.body, records, total: this.queries.sweepSize.get({ sweepId: id })?.n ?? 0 };
  }

  /** A fleet sweep: the JSON first returned, and every VM's result as a JSON array. */
  async findFleetSweep(id: string): Promise<{ body: string; results: string } | undefined> {
    return this.db
      .select({ body: fleetSweeps.body, results: fleetSweeps.results })
      .from(fleetSweeps)
      .where(eq(fleetSweeps.id, id))
      .get();
  }

  /** Fleet sweeps as first returned, oldest first (newest first when `descending`). */
  async listFleetSweeps(
    limit: number,
    offset: number,
    descending = false,
  ): Promise<{ bodies: string[]; total: number }> {
    const bodies = this.db
      .select({ body: fleetSweeps.body })
      .from(fleetSweeps)
      .orderBy((descending ? desc : asc)(fleetSweeps.seq))
      .limit(limit)
      .offset(offset)
      .all();
    const total = this.db.select({ n: count() }).from(fleetSweeps).get()?.n ?? 0;
    return { bodies: bodies.map((r) => r.body), total };
  }

  /** Resolution records (sweeps' included) that pass the filter, a page in the order asked for. */
  async listResolutionRecords(
    filter: RecordFilter,
    order: RecordOrder<(typeof RECORD_ORDERINGS)[number]>,
    limit: number,
    offset: number,
  ): Promise<{ records: ListedRecord[]; total: number }> {
    const where = resolutionWhere(msiResolutions, filter);
    const rows = this.db
      .select({ ...recordColumns, device: msiResolutions.device, semantics: msiResolutions.semantics })
      .from(msiResolutions)
      .leftJoin(resolutionBodies, eq(resolutionBodies.hash, msiResolutions.bodyHash))
      .where(where)
      .orderBy(...resolutionOrder(msiResolutions, order))
      .limit(limit)
      .offset(offset)
      .all();
    const total = this.db.select({ n: count() }).from(msiResolutions).where(where).get()?.n ?? 0;
    const records = rows.map((r) => ({
      id: r.id,
      vm: r.vmId,
      device: r.device,
      semantics: r.semantics,
      text: this.textOf(r),
    }));
    return { records, total };
  }

  /** Sweep records that pass the filter, a page in the order asked for: each its head (no results). */
  async listSweepRecords(
    filter: RecordFilter,
    order: RecordOrder<(typeof SWEEP_ORDERINGS)[number]>,
    limit: number,
    offset: number,
  ): Promise<{ records: ListedRecord[]; total: number }> {
    const where = sweepWhere(msiSweeps, msiResolutions, filter);
    const rows = this.db
      .select({ id: msiSweeps.id, vmId: msiSweeps.vmId, semantics: msiSweeps.semantics, body: msiSweeps.body })
      .from(msiSweeps)
      .where(where)
      .orderBy(...sweepOrder(msiSweeps, order))
      .limit(limit)
      .offset(offset)
      .all();
    const total = this.db.select({ n: count() }).from(msiSweeps).where(where).get()?.n ?? 0;
    const records = rows.map((r) => ({ id: r.id, vm: r.vmId, device: null, semantics: r.semantics, text: r.body }));
    return { records, total };
  }

  /** A VM's resolutions, those made by sweeps included, oldest first. */
  async listResolutions(vmId: string, limit: number, offset: number): Promise<{ bodies: string[]; total: number }> {
    const where = eq(msiResolutions.vmId, vmId);
    const rows = this.db
      .select(recordColumns)
      .from(msiResolutions)
      .leftJoin(resolutionBodies, eq(resolutionBodies.hash, msiResolutions.bodyHash))
      .where(where)
      .orderBy(asc(msiResolutions.seq))
      .limit(limit)
      .offset(offset)
      .all();
    const total = this.db.select({ n: count() }).from(msiResolutions).where(where).get()?.n ?? 0;
    return { bodies: rows.map((r) => this.textOf(r)), total };
  }
}
