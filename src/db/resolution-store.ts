// MSI resolutions and sweeps as records: the exact JSON a client received, stored once and never
// changed (migrations/0001 refuses updates and deletes), read back byte for byte.

import { asc, count, eq } from 'drizzle-orm';
import type { Db } from './database';
import { msiResolutions, msiSweeps } from './schema';

export interface RecordRow {
  id: string;
  vmId: string;
  body: string;
  createdAt: string;
}

export class ResolutionStore {
  constructor(private readonly db: Db) {}

  /** Call inside a transaction. */
  insertResolution(row: RecordRow, sweepId: string | null = null): void {
    this.db.insert(msiResolutions).values({ ...row, sweepId }).run();
  }

  /** Call inside a transaction. */
  insertSweep(row: RecordRow): void {
    this.db.insert(msiSweeps).values(row).run();
  }

  findResolution(id: string): string | undefined {
    return this.db.select({ body: msiResolutions.body }).from(msiResolutions).where(eq(msiResolutions.id, id)).get()?.body;
  }

  findSweep(id: string): string | undefined {
    return this.db.select({ body: msiSweeps.body }).from(msiSweeps).where(eq(msiSweeps.id, id)).get()?.body;
  }

  /** A VM's resolutions, those made by sweeps included, oldest first. */
  listResolutions(vmId: string, limit: number, offset: number): { bodies: string[]; total: number } {
    const where = eq(msiResolutions.vmId, vmId);
    const bodies = this.db.select({ body: msiResolutions.body }).from(msiResolutions).where(where).orderBy(asc(msiResolutions.seq)).limit(limit).offset(offset).all();
    const total = this.db.select({ n: count() }).from(msiResolutions).where(where).get()?.n ?? 0;
    return { bodies: bodies.map((r) => r.body), total };
  }
}
