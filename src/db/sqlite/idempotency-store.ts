// Responses kept under an Idempotency-Key on SQLite, written in the same transaction as the events
// they report (by the record writer), so a retry either sees the whole change and its response or
// neither.

import { eq, sql } from 'drizzle-orm';
import type { IdempotencyPort, IdempotentEntry } from '../port.js';
import { idempotentEntry } from '../shared/idempotency.js';
import type { Db } from './database.js';
import { idempotencyKeys } from './schema.js';

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
    return row === undefined ? undefined : idempotentEntry(row);
  }
}
