// MSI resolutions, sweeps and fleet sweeps as records: the exact JSON a client received, stored once and never
// changed (migrations/0001 and 0003 refuse updates and deletes), read back byte for byte. They
// are written by the record writer (record-writer/); resolution bodies are shared by hash and
// compressed (../shared/codec.mjs), sweeps keep their head and point at their resolutions.

import { asc, count, eq, sql } from 'drizzle-orm';
import type { ResolutionPort, StoredSweep } from '../port.js';
import { RecordReads, recordColumns } from '../shared/record-reads.js';
import type { Db } from './database.js';
import { fleetSweeps, msiResolutions, msiSweeps, resolutionBodies } from './schema.js';

const tables = { resolutions: msiResolutions, bodies: resolutionBodies, sweeps: msiSweeps, fleetSweeps };

function preparedQueries(db: Db) {
  const p = sql.placeholder;
  const records = () =>
    db
      .select(recordColumns(tables))
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

export class ResolutionStore extends RecordReads implements ResolutionPort {
  /** The per-request queries, prepared once (see EventStore). */
  private readonly queries: ReturnType<typeof preparedQueries>;
  constructor(db: Db) {
    super(db, tables);
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
}
