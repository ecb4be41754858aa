// Idempotency-Key: a retry with the same key and request gets the first answer again; the same
// key with another request is refused.

import type { StoredResponse } from '../db/idempotency-store.js';
import type { Stores } from '../db/stores.js';
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

/** The answer first given under the key, if any; 422 when the key was used for another request. */
export function priorAnswer(stores: Stores, claim: IdempotencyClaim | undefined): Answer | undefined {
  if (claim === undefined) return undefined;
  const prior = stores.idempotency.find(claim.key);
  if (prior === undefined) return undefined;
  if (prior.fingerprint !== claim.fingerprint) {
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
  return { status: prior.status, headers: prior.headers, body: prior.body, replayed: true };
}
