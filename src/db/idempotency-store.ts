// Responses kept under an Idempotency-Key, written in the same transaction as the events they
// report, so a retry either sees the whole change and its response or neither.

import { createHash } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import type { Db } from './database.js';
import type { IdempotencyPort } from './port.js';
import { idempotencyKeys } from './schema.js';

export interface StoredResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface IdempotentEntry extends StoredResponse {
  fingerprint: string;
}

/** A stable digest of what the request asks for: method, path and body (keys sorted). */
export function requestFingerprint(method: string, path: string, body: unknown): string {
  const canonical = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(canonical);
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(
        Object.keys(value)
          .sort()
          .map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
      );
    }
    return value;
  };
  return createHash('sha256')
    .update(`${method} ${path}\n${JSON.stringify(canonical(body ?? null))}`)
    .digest('hex');
}

export class IdempotencyStore implements IdempotencyPort {
  /** Looked up on every keyed request, so prepared once (see EventStore). */
  private readonly findByKey;

  constructor(db: Db) {
    this.findByKey = db
      .select()
      .from(idempotencyKeys)
      .where(eq(idempotencyKeys.key, sql.placeholder('key')))
      .prepare();
  }

  async find(key: string): Promise<IdempotentEntry | undefined> {
    const row = this.findByKey.get({ key });
    if (row === undefined) return undefined;
    return {
      fingerprint: row.fingerprint,
      status: row.status,
      headers: JSON.parse(row.headers) as Record<string, string>,
      body: row.body,
    };
  }
}
