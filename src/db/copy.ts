// doorbell db copy --from ./data/doorbell.db --to postgres://...: moving up from the embedded
// SQLite database to PostgreSQL. Every event (positions, ids, metadata), every record byte for
// byte, every token and every stored Idempotency-Key answer is copied in one transaction, then
// checked: each table's rows, read back from the target, must digest the same as the source's.
// A target that is not empty is refused: the copy never merges two histories.

import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { asc, count, getTableColumns, sql } from 'drizzle-orm';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import type { PgTable } from 'drizzle-orm/pg-core';
import type { SQLiteTable } from 'drizzle-orm/sqlite-core';
import { isPostgresUrl } from './index.js';
import { type OpenPg, openPostgres } from './pg/database.js';
import * as pg from './pg/schema.js';
import { redactSecrets } from './pg/url.js';
import { type OpenDatabase, openDatabase } from './sqlite/database.js';
import * as sqlite from './sqlite/schema.js';

interface CopiedTable {
  name: string;
  from: SQLiteTable;
  to: PgTable;
  /** The column that orders its rows. */
  order: string;
}

/** The tables copied, in an order that satisfies foreign keys. */
const TABLES: CopiedTable[] = [
  { name: 'events', from: sqlite.events, to: pg.events, order: 'position' },
  { name: 'resolution_bodies', from: sqlite.resolutionBodies, to: pg.resolutionBodies, order: 'hash' },
  { name: 'msi_resolutions', from: sqlite.msiResolutions, to: pg.msiResolutions, order: 'seq' },
  { name: 'msi_sweeps', from: sqlite.msiSweeps, to: pg.msiSweeps, order: 'seq' },
  { name: 'fleet_sweeps', from: sqlite.fleetSweeps, to: pg.fleetSweeps, order: 'seq' },
  { name: 'api_tokens', from: sqlite.apiTokens, to: pg.apiTokens, order: 'seq' },
  { name: 'idempotency_keys', from: sqlite.idempotencyKeys, to: pg.idempotencyKeys, order: 'key' },
  // Webhooks with their cursors and secrets, and their delivery records (stream tickets live a minute: not copied).
  { name: 'webhooks', from: sqlite.webhooks, to: pg.webhooks, order: 'seq' },
  { name: 'webhook_deliveries', from: sqlite.webhookDeliveries, to: pg.webhookDeliveries, order: 'seq' },
];

/** Rows per INSERT: well under PostgreSQL's 65,535 parameters for the widest table. */
const CHUNK = 1_000;

export class CopyError extends Error {
  override name = 'CopyError';
}

export interface CopyReport {
  /** Rows copied, by table (SQL name). */
  rows: Record<string, number>;
  /** The log's last position on the target. */
  lastPosition: number;
}

type Row = Record<string, unknown>;

/** A row as text, the same for both engines: Buffers as base64, everything else as JSON. */
function canonical(row: Row, columns: string[]): string {
  return JSON.stringify(columns.map((c) => (Buffer.isBuffer(row[c]) ? (row[c] as Buffer).toString('base64') : row[c])));
}

/**
 * sha256 over a table's rows, over the columns both engines keep (seq is renumbered, so left out).
 * Rows keyed by text are sorted here, by code unit: the two databases' collations may differ.
 */
function digest(rows: Row[], columns: string[], order: string): string {
  const sorted =
    typeof rows[0]?.[order] === 'string'
      ? [...rows].sort((x, y) => (String(x[order]) < String(y[order]) ? -1 : 1))
      : rows;
  const hash = createHash('sha256');
  for (const row of sorted) hash.update(`${canonical(row, columns)}\n`);
  return hash.digest('hex');
}

function columnsOf(table: CopiedTable): string[] {
  const target = getTableColumns(table.to);
  return Object.keys(getTableColumns(table.from))
    .filter((key) => key in target && key !== 'seq')
    .sort();
}

function sourceRows(source: OpenDatabase, table: CopiedTable): Row[] {
  return source.db
    .select()
    .from(table.from)
    .orderBy(asc(getTableColumns(table.from)[table.order]!))
    .all() as Row[];
}

async function targetRows(target: NodePgDatabase, table: CopiedTable): Promise<Row[]> {
  return (await target
    .select()
    .from(table.to)
    .orderBy(asc(getTableColumns(table.to)[table.order]!))) as Row[];
}

async function refuseUnlessEmpty(target: OpenPg): Promise<void> {
  const nonEmpty: string[] = [];
  for (const table of TABLES) {
    const [row] = await target.db.select({ n: count() }).from(table.to);
    if (Number(row?.n ?? 0) > 0) nonEmpty.push(`${row!.n} rows in ${table.name}`);
  }
  if (nonEmpty.length > 0)
    throw new CopyError(
      `the target ${target.describe} is not empty (${nonEmpty.join(', ')}); copy only into a new database`,
    );
}

/** Copies an existing SQLite database into an empty PostgreSQL database, then checks the copy. */
export async function copyDatabase(from: string, to: string): Promise<CopyReport> {
  if (isPostgresUrl(from) || from === ':memory:' || !existsSync(from))
    throw new CopyError(`--from must be an existing SQLite database file, not ${redactSecrets(from, from)}`);
  if (!isPostgresUrl(to)) throw new CopyError(`--to must be a postgres:// or postgresql:// URL, not ${to}`);
  const source = openDatabase(from);
  let target: OpenPg | undefined;
  try {
    target = await openPostgres(to, { poolSize: 2, statementTimeoutMs: 600_000 });
    await refuseUnlessEmpty(target);
    const client = await target.pool.connect();
    const rows: Record<string, number> = {};
    let lastPosition = 0;
    try {
      await client.query('BEGIN');
      // No other writer while the history arrives: nodes started early wait for the head.
      await client.query('SELECT last FROM log_head WHERE id = 1 FOR UPDATE');
      const tx = drizzle(client);
      for (const table of TABLES) {
        const all = sourceRows(source, table);
        const columns = columnsOf(table);
        for (let i = 0; i < all.length; i += CHUNK) {
          const chunk = all.slice(i, i + CHUNK).map((row) => Object.fromEntries(columns.map((c) => [c, row[c]])));
          await tx.insert(table.to).values(chunk);
        }
        rows[table.name] = all.length;
        if (table.from === sqlite.events) lastPosition = all.length === 0 ? 0 : Number(all.at(-1)!.position);
      }
      await client.query('UPDATE log_head SET last = $1 WHERE id = 1', [lastPosition]);
      // The check, inside the transaction: what the target holds digests as the source does.
      for (const table of TABLES) {
        const columns = columnsOf(table);
        const expected = digest(sourceRows(source, table), columns, table.order);
        const got = digest(await targetRows(tx, table), columns, table.order);
        if (got !== expected)
          throw new CopyError(`the copy of ${table.name} does not match the source; nothing was copied`);
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
    const [head] = await target.db.execute(sql`SELECT last FROM log_head WHERE id = 1`).then((r) => r.rows);
    return { rows, lastPosition: Number((head as Row | undefined)?.last ?? lastPosition) };
  } catch (error) {
    if (error instanceof CopyError) throw error;
    throw new CopyError(redactSecrets(error instanceof Error ? error.message : String(error), to));
  } finally {
    source.close();
    await target?.close();
  }
}
