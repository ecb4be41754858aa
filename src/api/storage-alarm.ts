// A full disk, as the service saw it (contract v1.3, "Edges"): a write refused for want of space
// is a 507 STORAGE_FULL with Retry-After, and /readyz answers 503 naming it until a write succeeds
// again or Retry-After has passed without another refusal. Nothing acknowledged is lost meanwhile
// (a write is acknowledged only once committed), and nothing needs a restart when space returns:
// the next write simply succeeds. Engine-agnostic: both engines' refusals reach the client
// through the problem mapping (src/db/shared/storage-full.mjs recognises them).

import type { FastifyInstance } from 'fastify';
import { type Problem, problemBody } from '../errors/problem.js';

/** How long a client waits before retrying a write, and how long /readyz stays 503 after a refusal. */
export const STORAGE_FULL_RETRY_AFTER_S = 30;

export function storageFullProblem(): Problem {
  return {
    body: problemBody(
      'STORAGE_FULL',
      'the database has no space left: nothing of this write was stored; retry once space is freed',
    ),
    headers: { 'retry-after': String(STORAGE_FULL_RETRY_AFTER_S) },
  };
}

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface StorageCheck {
  ok: boolean;
  detail: string;
}

export class StorageAlarm {
  private refused: { at: number; what: string } | undefined;

  constructor(private readonly now: () => number = Date.now) {}

  /** A write was refused for want of space. */
  raise(what: string): void {
    this.refused = { at: this.now(), what };
  }

  /** A write succeeded: there is space again. */
  clear(): void {
    this.refused = undefined;
  }

  /** What /readyz reports. */
  check(): StorageCheck {
    const refused = this.refused;
    if (refused !== undefined && this.now() - refused.at < STORAGE_FULL_RETRY_AFTER_S * 1000)
      return {
        ok: false,
        detail: `STORAGE_FULL: ${refused.what} was refused for want of space at ${new Date(refused.at).toISOString()}`,
      };
    return { ok: true, detail: 'no write refused for want of space' };
  }

  /** Watches every answer: a 507 raises the alarm, a successful write clears it. */
  watch(app: FastifyInstance): void {
    // The callback form: no promise per request (see plugins/http-conventions.ts).
    app.addHook('onResponse', (request, reply, done) => {
      if (reply.statusCode === 507) this.raise(`${request.method} ${request.url.split('?')[0]}`);
      else if (reply.statusCode < 300 && !READS.has(request.method)) this.clear();
      done();
    });
  }
}
