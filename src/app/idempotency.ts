// Idempotency-Key: a retry with the same key and request gets the first answer again; the same
// key with another request is refused.

import { createHash } from 'node:crypto';
import type { IdempotentEntry, Stores, StoredResponse } from '../db/port.js';
import { ServiceError } from '../errors/problem.js';

/** The client's key with a digest of what the request asks for (method, path, body). */
export interface IdempotencyClaim {
  key: string;
  fingerprint: string;
}

/** What the application answers: the response to send, and whether it is a replay. */
export interface Answer extends StoredResponse {
  replayed: boolean;
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

/** The first answer given under the claim's key, replayed; 422 when the key was used for another request. */
export function replayOf(claim: IdempotencyClaim, first: IdempotentEntry | undefined): Answer | undefined {
  if (first === undefined) return undefined;
  if (first.fingerprint !== claim.fingerprint) {
    throw new ServiceError(
      'IDEMPOTENCY_KEY_REUSED',
      `Idempotency-Key ${JSON.stringify(claim.key)} was first used for a different request; use a new key for a new request`,
      {
        errors: [
          { pointer: '/header/idempotency-key', detail: 'Idempotency-Key belongs to another request', in: 'header' },
        ],
      },
    );
  }
  return { status: first.status, headers: first.headers, body: first.body, replayed: true };
}

/** The stored answer of an earlier request with the same key, if any. */
export async function priorAnswer(stores: Stores, claim: IdempotencyClaim | undefined): Promise<Answer | undefined> {
  return claim === undefined ? undefined : replayOf(claim, await stores.idempotency.find(claim.key));
}
