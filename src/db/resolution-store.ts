// MSI resolutions, sweeps and fleet sweeps as records: the exact JSON a client received, stored once and never
// changed (migrations/0001 refuses updates and deletes), read back byte for byte. They are
// written by the record writer (record-writer/), read here.

import { asc, count, eq, sql } from 'drizzle-orm';
import type { Db } from './database.js';
import { fleetSweeps, msiResolutions, msiSweeps } from './schema.js';

function preparedQueries(db: Db) {
  const p = sql.placeholder;
  return {
    findResolution: db
      .select({ body: msiResolutions.body })
      .from(msiResolutions)
      .where(eq(msiResolutions.id, p('id')))
      .prepare(),
  };
}

export class ResolutionStore {
  /** The per-request queries, prepared once (see EventStore). */
  private readonly queries: ReturnType<typeof preparedQueries>;

  constructor(private readonly db: Db) {
    this.queries = preparedQueries(db);
  }

  findResolution(id: string): string | undefined {
    return this.queries.findResolution.get({ id })?.body;
  }

  findSweep(id: string): string | undefined {
    return this.db.select({ body: msiSweeps.body }).from(msiSweeps).where(eq(msiSweeps.id, id)).get()?.body;
  }

  /** A fleet sweep: the JSON first returned, and every VM's result as a JSON array. */
  findFleetSweep(id: string): { body: string; results: string } | undefined {
    return this.db
      .select({ body: fleetSweeps.body, results: fleetSweeps.results })
      .from(fleetSweeps)
      .where(eq(fleetSweeps.id, id))
      .get();
  }

  /** Fleet sweeps as first returned, oldest first. */
  listFleetSweeps(limit: number, offset: number): { bodies: string[]; total: number } {
    const bodies = this.db
      .select({ body: fleetSweeps.body })
      .from(fleetSweeps)
      .orderBy(asc(fleetSweeps.seq))
      .limit(limit)
      .offset(offset)
      .all();
    const total = this.db.select({ n: count() }).from(fleetSweeps).get()?.n ?? 0;
    return { bodies: bodies.map((r) => r.body), total };
  }

  /** A VM's resolutions, those made by sweeps included, oldest first. */
  listResolutions(vmId: string, limit: number, offset: number): { bodies: string[]; total: number } {
    const where = eq(msiResolutions.vmId, vmId);
    const bodies = this.db
      .select({ body: msiResolutions.body })
      .from(msiResolutions)
      .where(where)
      .orderBy(asc(msiResolutions.seq))
      .limit(limit)
      .offset(offset)
      .all();
    const total = this.db.select({ n: count() }).from(msiResolutions).where(where).get()?.n ?? 0;
    return { bodies: bodies.map((r) => r.body), total };
  }
}
