// An answer kept under an Idempotency-Key, as a row of idempotency_keys and back, written once for
// both engines (SQLite's writer thread has its own copy in plain JavaScript: apply-batch.mjs).

import type { IdempotencyWrite, IdempotentEntry } from '../port.js';
import { rebaseAnswerBody } from './provisional-positions.js';

/** The row of idempotency_keys that keeps an answer. */
export function idempotencyRow(entry: IdempotencyWrite) {
  return {
    key: entry.key,
    fingerprint: entry.fingerprint,
    status: entry.response.status,
    headers: JSON.stringify(entry.response.headers),
    body: entry.response.body,
    createdAt: entry.createdAt,
  };
}

/**
 * The answer a row of idempotency_keys keeps, with its real positions (a PostgreSQL row may keep
 * provisional ones and the shift that places them: provisional-positions.ts).
 */
export function idempotentEntry(row: {
  fingerprint: string;
  status: number;
  headers: string;
  body: string;
  positionShift?: number;
}): IdempotentEntry {
  return {
    fingerprint: row.fingerprint,
    status: row.status,
    headers: JSON.parse(row.headers) as Record<string, string>,
    body: rebaseAnswerBody(row.body, row.positionShift ?? 0),
  };
}
