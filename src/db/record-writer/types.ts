// What one write carries: resolution records, a sweep or fleet sweep record, the answer to keep
// under an Idempotency-Key, and the events of a batch of commands, all committed in one transaction.

import type { StoredResponse } from '../idempotency-store.js';

/** A resolution record: its id and VM, and the resolution it returned (shared by hash). */
export interface ResolutionRecordRow {
  id: string;
  vmId: string;
  sweepId: string | null;
  /** sha256 of `resolution`. */
  bodyHash: string;
  /** The JSON of the resolution without the record's id and VM; left out when it is stored already. */
  resolution?: string;
  /** The absolute URL of the record's picture, as the answer gave it. */
  picture?: string;
  createdAt: string;
  /** What lists filter on, from the resolution (booleans as 0 and 1: what SQLite stores); absent: NULL. */
  device?: string;
  semantics?: string;
  installed?: 0 | 1;
  misroutedBeforeFix?: 0 | 1;
}

/** A sweep record: the sweep's JSON with empty results (its resolutions are records of their own). */
export interface SweepRecordRow {
  id: string;
  vmId: string;
  head: string;
  createdAt: string;
  /** What lists filter on, from the head; absent: NULL. */
  semantics?: string;
  misroutedBeforeFix?: number;
  routesMissing?: number;
}

/** A fleet sweep: the 201's JSON (its first page) and every VM's result. */
export interface FleetSweepRow {
  id: string;
  body: string;
  results: string;
  createdAt: string;
}

export interface IdempotencyWrite {
  key: string;
  fingerprint: string;
  response: StoredResponse;
  createdAt: string;
}

/**
 * The events of a batch of commands, placed after `afterPosition`: the commit refuses them (an
 * error starting with STALE_POSITION) when the log has moved on since, i.e. another process
 * appended, so that the commands are planned again on what is stored.
 */
export interface EventAppend {
  afterPosition: number;
  events: Record<string, unknown>[];
  idempotency: IdempotencyWrite[];
}

export interface RecordWrite {
  resolutions?: ResolutionRecordRow[];
  sweep?: SweepRecordRow;
  fleetSweep?: FleetSweepRow;
  idempotency?: IdempotencyWrite;
  append?: EventAppend;
}

export const STALE_POSITION = 'STALE_POSITION';

/** An INSERT as drizzle writes it from schema.ts, with its placeholders' names in order. */
export interface NamedStatement {
  sql: string;
  params: string[];
}

export interface RecordStatements {
  resolution: NamedStatement;
  sweep: NamedStatement;
  fleetSweep: NamedStatement;
  idempotency: NamedStatement;
  event: NamedStatement;
  lastPosition: NamedStatement;
  body: NamedStatement;
  bodyExists: NamedStatement;
}
