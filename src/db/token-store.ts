// API tokens as rows: a digest of the secret, never the secret; name, scopes, created, expires,
// last used, revoked. Issuing and checking tokens is src/app/tokens.ts.

import { and, asc, count, eq, isNull, sql } from 'drizzle-orm';
import type { Db } from './database.js';
import { apiTokens } from './schema.js';

export type TokenRow = typeof apiTokens.$inferSelect;

export class TokenStore {
  private readonly byId;

  constructor(private readonly db: Db) {
    // Read on every authenticated request.
    this.byId = db
      .select()
      .from(apiTokens)
      .where(eq(apiTokens.id, sql.placeholder('id')))
      .prepare();
  }

  find(id: string): TokenRow | undefined {
    return this.byId.get({ id });
  }

  /** Inserts a token; false when a live token already has the name. */
  insert(row: Omit<TokenRow, 'seq' | 'lastUsedAt' | 'revokedAt'>): boolean {
    const taken = this.db
      .select({ n: count() })
      .from(apiTokens)
      .where(and(eq(apiTokens.name, row.name), isNull(apiTokens.revokedAt)))
      .get();
    if ((taken?.n ?? 0) > 0) return false;
    this.db.insert(apiTokens).values(row).run();
    return true;
  }

  /** Every token ever made, revoked ones included. */
  total(): number {
    return this.db.select({ n: count() }).from(apiTokens).get()?.n ?? 0;
  }

  live(limit: number, offset: number): { rows: TokenRow[]; total: number } {
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

  revoke(id: string, at: string): void {
    this.db.update(apiTokens).set({ revokedAt: at }).where(eq(apiTokens.id, id)).run();
  }

  touch(id: string, at: string): void {
    this.db.update(apiTokens).set({ lastUsedAt: at }).where(eq(apiTokens.id, id)).run();
  }
}
