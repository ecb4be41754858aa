// What a record write carries: resolution records, a sweep or fleet sweep record, and the response to keep under
// the request's Idempotency-Key, all committed in one transaction.

import type { StoredResponse } from '../idempotency-store.js';

export interface RecordRow {
  id: string;
  vmId: string;
  body: string;
  createdAt: string;
}

/** A fleet sweep: the 201's JSON (its first page) and every VM's result. */
export interface FleetSweepRow {
  id: string;
  body: string;
  results: string;
  createdAt: string;
}

export interface RecordWrite {
  resolutions: (RecordRow & { sweepId: string | null })[];
  sweep?: RecordRow;
  fleetSweep?: FleetSweepRow;
  idempotency?: { key: string; fingerprint: string; response: StoredResponse; createdAt: string };
}

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
}
