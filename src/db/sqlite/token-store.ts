// API tokens as rows: a digest of the secret, never the secret; name, scopes, created, expires,
// last used, revoked. Issuing and checking tokens is src/app/tokens.ts.

import { and, asc, count, eq, isNull, sql } from 'drizzle-orm';
import type { Db } from './database.js';
import type { NewToken, TokenPort, TokenRow } from '../port.js';
import { apiTokens } from './schema.js';

export class TokenStore implements TokenPort {
  private readonly byId;

  constructor(private readonly db: Db) {
    // Read on every authenticated request.
    this.byId = db
      .select()
      .from(apiTokens)
      .where(eq(apiTokens.id, sql.placeholder('id')))
      .prepare();
  }

  async find(id: string): Promise<TokenRow | undefined> {
    return this.byId.get({ id });
  }

  async insert(row: NewToken): Promise<boolean> {
    return this.immediate(() => this.insertNow(row));
  }

  async insertFirst(row: NewToken): Promise<boolean> {
    return this.immediate(() => this.totalNow() === 0 && this.insertNow(row));
  }

  private immediate<T>(fn: () => T): T {
    return this.db.$client.transaction(fn).immediate();
  }

  private insertNow(row: NewToken): boolean {
    const taken = this.db
      .select({ n: count() })
      .from(apiTokens)
      .where(and(eq(apiTokens.name, row.name), isNull(apiTokens.revokedAt)))
      .get();
    if ((taken?.n ?? 0) > 0) return false;
    this.db.insert(apiTokens).values(row).run();
    return true;
  }

  async total(): Promise<number> {
    return this.totalNow();
  }

  private totalNow(): number {
    return this.db.select({ n: count() }).from(apiTokens).get()?.n ?? 0;
  }

  async live(limit: number, offset: number): Promise<{ rows: TokenRow[]; total: number }> {
    return this.liveNow(limit, offset);
  }

  private liveNow(limit: number, offset: number): { rows: TokenRow[]; total: number } {
    const rows = this.db
      .select()
      .from(apiTokens)
      .where(isNull(apiTokens.revokedAt))
      .orderBy(asc(apiTokens.seq))
      .limit(limit)
      .offset(offset)
      .all();
    const total = this.db.select({ n: count() }).from(apiTokens).where(isNull(apiTokens.revokedAt)).get()?.n ?? 0;
    return { rows, total };
  }

  async revoke(
    id: string,
    at: string,
    isAdmin: (row: TokenRow) => boolean,
  ): Promise<TokenRow | 'not-found' | 'last-admin'> {
    return this.immediate(() => {
      const row = this.byId.get({ id });
      if (row === undefined || row.revokedAt !== null) return 'not-found';
      if (isAdmin(row) && this.liveNow(-1, 0).rows.filter(isAdmin).length === 1) return 'last-admin';
      this.db.update(apiTokens).set({ revokedAt: at }).where(eq(apiTokens.id, id)).run();
      return { ...row, revokedAt: at };
    });
  }

  async touch(id: string, at: string): Promise<void> {
    this.db.update(apiTokens).set({ lastUsedAt: at }).where(eq(apiTokens.id, id)).run();
  }
}
