// API tokens on PostgreSQL. The checks that span rows (a name taken by a live token, the first
// token of an empty table, the last live admin token) hold across nodes: the unique index on live
// names, or a table lock for the length of the check.

import { and, asc, count, eq, isNull } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import type pg from 'pg';
import type { NewToken, TokenPort, TokenRow } from '../port.js';
import type { OpenPg, PgDb } from './database.js';
import { apiTokens } from './schema.js';

const UNIQUE_VIOLATION = '23505';

export class PgTokenStore implements TokenPort {
  constructor(private readonly database: OpenPg) {}

  private get db(): PgDb {
    return this.database.db;
  }

  /** Runs fn in a transaction that holds the table against other writers of tokens. */
  private async locked<T>(fn: (tx: PgDb) => Promise<T>): Promise<T> {
    const client: pg.PoolClient = await this.database.pool.connect();
    try {
      await client.query('BEGIN; LOCK TABLE api_tokens IN SHARE ROW EXCLUSIVE MODE');
      const result = await fn(drizzle(client));
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async find(id: string): Promise<TokenRow | undefined> {
    const [row] = await this.db.select().from(apiTokens).where(eq(apiTokens.id, id));
    return row;
  }

  async insert(row: NewToken): Promise<boolean> {
    try {
      await this.db.insert(apiTokens).values(row);
      return true;
    } catch (error) {
      // drizzle wraps the driver's error: the SQLSTATE is on it or on its cause.
      const { code, cause } = error as { code?: string; cause?: { code?: string } };
      if ((code ?? cause?.code) === UNIQUE_VIOLATION) return false;
      throw error;
    }
  }

  async insertFirst(row: NewToken): Promise<boolean> {
    return this.locked(async (tx) => {
      const [size] = await tx.select({ n: count() }).from(apiTokens);
      if (Number(size?.n ?? 0) > 0) return false;
      await tx.insert(apiTokens).values(row);
      return true;
    });
  }

  async total(): Promise<number> {
    const [size] = await this.db.select({ n: count() }).from(apiTokens);
    return Number(size?.n ?? 0);
  }

  async live(limit: number, offset: number): Promise<{ rows: TokenRow[]; total: number }> {
    const query = this.db.select().from(apiTokens).where(isNull(apiTokens.revokedAt)).orderBy(asc(apiTokens.seq));
    const [rows, [size]] = await Promise.all([
      limit < 0 ? query : query.limit(limit).offset(offset),
      this.db.select({ n: count() }).from(apiTokens).where(isNull(apiTokens.revokedAt)),
    ]);
    return { rows, total: Number(size?.n ?? 0) };
  }

  async revoke(
    id: string,
    at: string,
    isAdmin: (row: TokenRow) => boolean,
  ): Promise<TokenRow | 'not-found' | 'last-admin'> {
    return this.locked(async (tx) => {
      const [row] = await tx
        .select()
        .from(apiTokens)
        .where(and(eq(apiTokens.id, id), isNull(apiTokens.revokedAt)));
      if (row === undefined) return 'not-found';
      if (isAdmin(row)) {
        const live = await tx.select().from(apiTokens).where(isNull(apiTokens.revokedAt));
        if (live.filter(isAdmin).length === 1) return 'last-admin';
      }
      await tx.update(apiTokens).set({ revokedAt: at }).where(eq(apiTokens.id, id));
      return { ...row, revokedAt: at };
    });
  }

  async touch(id: string, at: string): Promise<void> {
    await this.db.update(apiTokens).set({ lastUsedAt: at }).where(eq(apiTokens.id, id));
  }
}
