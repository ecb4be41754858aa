// Resolution records, sweeps, fleet sweeps and Idempotency-Key answers on PostgreSQL: written in
// groups (one transaction for every write that arrived during the previous commit, each write
// alone when the group fails), read back byte for byte. The same rows as on SQLite: bodies
// shared by hash and compressed (shared/codec.mjs), immutable (migrations/postgres/0001).

import { asc, count, eq } from 'drizzle-orm';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import type pg from 'pg';
import type { IdempotencyPort, IdempotentEntry, RecordWrite, ResolutionPort, StoredSweep } from '../port.js';
import { pack, RECORD_CODEC } from '../shared/codec.mjs';
import { idempotencyRow, idempotentEntry } from '../shared/idempotency.js';
import { RecordReads } from '../shared/record-reads.js';
import type { RecordColumns } from '../shared/record-text.js';
import { RecordWriter } from '../shared/record-writer.js';
import { failureText } from '../shared/storage-full.mjs';
import type { OpenPg, PgDb } from './database.js';
import { fleetSweeps, idempotencyKeys, msiResolutions, msiSweeps, resolutionBodies } from './schema.js';

async function apply(tx: NodePgDatabase, write: RecordWrite): Promise<void> {
  const resolutions = write.resolutions ?? [];
  const bodies = new Map<string, string>();
  for (const r of resolutions) if (r.resolution !== undefined) bodies.set(r.bodyHash, r.resolution);
  if (bodies.size > 0)
    await tx
      .insert(resolutionBodies)
      .values([...bodies].map(([hash, json]) => ({ hash, codec: RECORD_CODEC, packed: pack(json) })))
      .onConflictDoNothing();
  if (write.sweep !== undefined) {
    const { head, ...sweep } = write.sweep;
    await tx.insert(msiSweeps).values({ ...sweep, body: head, format: 'head' });
  }
  if (write.fleetSweep !== undefined) await tx.insert(fleetSweeps).values(write.fleetSweep);
  if (resolutions.length > 0)
    await tx.insert(msiResolutions).values(
      resolutions.map((r) => ({
        id: r.id,
        vmId: r.vmId,
        sweepId: r.sweepId,
        // The record's own JSON is its body's; `body` stays empty (as on SQLite).
        body: '',
        bodyHash: r.bodyHash,
        picture: r.picture ?? null,
        createdAt: r.createdAt,
        device: r.device ?? null,
        semantics: r.semantics ?? null,
        installed: r.installed === undefined ? null : r.installed === 1,
        misroutedBeforeFix: r.misroutedBeforeFix === undefined ? null : r.misroutedBeforeFix === 1,
      })),
    );
  if (write.idempotency !== undefined) await tx.insert(idempotencyKeys).values(idempotencyRow(write.idempotency));
}

async function inTransaction(client: pg.PoolClient, fn: () => Promise<void>): Promise<void> {
  await client.query('BEGIN');
  try {
    await fn();
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

export function pgRecordWriter(database: OpenPg): RecordWriter {
  const commitBatch = async (writes: RecordWrite[]): Promise<(string | null)[]> => {
    let client: pg.PoolClient;
    try {
      client = await database.pool.connect();
    } catch (error) {
      return writes.map(() => (error instanceof Error ? error.message : String(error)));
    }
    try {
      const tx = drizzle(client);
      try {
        await inTransaction(client, async () => {
          for (const write of writes) await apply(tx, write);
        });
        return writes.map(() => null);
      } catch {
        const errors: (string | null)[] = [];
        for (const write of writes) {
          try {
            await inTransaction(client, () => apply(tx, write));
            errors.push(null);
          } catch (error) {
            // SQLSTATE 53100 (disk_full) keeps its name in the text: the client gets a 507.
            errors.push(failureText(error));
          }
        }
        return errors;
      }
    } finally {
      client.release();
    }
  };
  return new RecordWriter(commitBatch, async () => undefined);
}

export class PgIdempotencyStore implements IdempotencyPort {
  constructor(private readonly db: PgDb) {}

  async find(key: string): Promise<IdempotentEntry | undefined> {
    const [row] = await this.db.select().from(idempotencyKeys).where(eq(idempotencyKeys.key, key));
    return row === undefined ? undefined : idempotentEntry(row);
  }
}

const tables = { resolutions: msiResolutions, bodies: resolutionBodies, sweeps: msiSweeps, fleetSweeps };

export class PgResolutionStore extends RecordReads implements ResolutionPort {
  constructor(private readonly db: PgDb) {
    super(db, tables);
  }

  async findResolution(id: string): Promise<string | undefined> {
    const [row]: RecordColumns[] = await this.records().where(eq(msiResolutions.id, id));
    return row === undefined ? undefined : this.texts.textOf(row);
  }

  async findSweep(id: string, limit: number, offset: number): Promise<StoredSweep | undefined> {
    const [row] = await this.db.select().from(msiSweeps).where(eq(msiSweeps.id, id));
    if (row === undefined) return undefined;
    if (row.format === 'json') return { whole: row.body };
    const [rows, [size]]: [RecordColumns[], { n: number }[]] = await Promise.all([
      this.records().where(eq(msiResolutions.sweepId, id)).orderBy(asc(msiResolutions.seq)).limit(limit).offset(offset),
      this.db.select({ n: count() }).from(msiResolutions).where(eq(msiResolutions.sweepId, id)),
    ]);
    return { head: row.body, records: rows.map((r) => this.texts.textOf(r)), total: Number(size?.n ?? 0) };
  }
}
