// MSI resolutions, sweeps and fleet sweeps as records: the exact JSON a client received, stored once and never
// changed (migrations/0001 and 0003 refuse updates and deletes), read back byte for byte. They
// are written by the record writer (record-writer/); resolution bodies are shared by hash and
// compressed (../shared/codec.mjs), sweeps keep their head and point at their resolutions.

import { asc, count, desc, eq, sql } from 'drizzle-orm';
import type {
  ListedRecord,
  RECORD_ORDERINGS,
  RecordFilter,
  RecordOrder,
  ResolutionPort,
  StoredSweep,
  SWEEP_ORDERINGS,
} from '../port.js';
import { resolutionOrder, resolutionWhere, sweepOrder, sweepWhere } from '../shared/record-filters.js';
import { listedSweep, RecordTexts } from '../shared/record-text.js';
import type { Db } from './database.js';
import { fleetSweeps, msiResolutions, msiSweeps, resolutionBodies } from './schema.js';

const recordColumns = {
  id: msiResolutions.id,
  vmId: msiResolutions.vmId,
  body: msiResolutions.body,
  picture: msiResolutions.picture,
  codec: resolutionBodies.codec,
  packed: resolutionBodies.packed,
};

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

export class ResolutionStore implements ResolutionPort {
  /** The per-request queries, prepared once (see EventStore). */
  private readonly queries: ReturnType<typeof preparedQueries>;
  private readonly texts = new RecordTexts();

  constructor(private readonly db: Db) {
    this.queries = preparedQueries(db);
  }

  async findResolution(id: string): Promise<string | undefined> {
    const row = this.queries.findResolution.get({ id });
    return row === undefined ? undefined : this.texts.textOf(row);
  }

  async findSweep(id: string, limit: number, offset: number): Promise<StoredSweep | undefined> {
    const row = this.queries.findSweep.get({ id });
    if (row === undefined) return undefined;
    if (row.format === 'json') return { whole: row.body };
    const records = this.queries.sweepResolutions.all({ sweepId: id, limit, offset }).map((r) => this.texts.textOf(r));
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
    return { records: rows.map((r) => this.texts.listed(r)), total };
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
    return { records: rows.map(listedSweep), total };
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
    return { bodies: rows.map((r) => this.texts.textOf(r)), total };
  }
}
