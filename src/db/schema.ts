// The SQLite schema, as drizzle tables. drizzle-kit generates the migrations in migrations/ from
// this file; the triggers that make stored records immutable are a hand-written migration there.

import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';

/**
 * The event log: one stream per VM. `position` is the global, gap-free order across all VMs;
 * `stream_version` counts the events of one VM from 1. 64-bit values inside `data` are
 * fixed-width hex strings ("0x0000000008090040"): they keep every bit and sort as text.
 */
export const events = sqliteTable(
  'events',
  {
    position: integer('position').primaryKey(),
    eventId: text('event_id').notNull().unique(),
    streamId: text('stream_id').notNull(),
    streamVersion: integer('stream_version').notNull(),
    type: text('type').notNull(),
    schemaVersion: integer('schema_version').notNull(),
    data: text('data').notNull(),
    metadata: text('metadata').notNull(),
    occurredAt: text('occurred_at').notNull(),
  },
  (t) => [uniqueIndex('events_stream_version').on(t.streamId, t.streamVersion)],
);

/** Responses stored under an Idempotency-Key, replayed on a retry with the same request. */
export const idempotencyKeys = sqliteTable('idempotency_keys', {
  key: text('key').primaryKey(),
  fingerprint: text('fingerprint').notNull(),
  status: integer('status').notNull(),
  headers: text('headers').notNull(),
  body: text('body').notNull(),
  createdAt: text('created_at').notNull(),
});

// msi_resolutions, msi_sweeps, fleet_sweeps and idempotency_keys are also written with plain SQL by
// record-writer-worker.mjs (a worker without a TypeScript loader): change it with them.

/** MSI resolutions: the exact JSON returned to the client, kept unchanged for the audit trail. */
export const msiResolutions = sqliteTable(
  'msi_resolutions',
  {
    seq: integer('seq').primaryKey(),
    id: text('id').notNull().unique(),
    vmId: text('vm_id').notNull(),
    sweepId: text('sweep_id'),
    body: text('body').notNull(),
    createdAt: text('created_at').notNull(),
  },
  (t) => [index('msi_resolutions_vm').on(t.vmId, t.seq)],
);

/** MSI sweeps: one record per sweep, the exact JSON returned. */
export const msiSweeps = sqliteTable(
  'msi_sweeps',
  {
    seq: integer('seq').primaryKey(),
    id: text('id').notNull().unique(),
    vmId: text('vm_id').notNull(),
    body: text('body').notNull(),
    createdAt: text('created_at').notNull(),
  },
  (t) => [index('msi_sweeps_vm').on(t.vmId, t.seq)],
);

/**
 * Fleet sweeps: one compact record per sweep. `body` is the exact JSON of the 201 (the first page
 * of results), returned again byte for byte; `results` is every VM's result (counts and verdict,
 * no resolutions) as a JSON array, from which later pages are cut.
 */
export const fleetSweeps = sqliteTable('fleet_sweeps', {
  seq: integer('seq').primaryKey(),
  id: text('id').notNull().unique(),
  body: text('body').notNull(),
  results: text('results').notNull(),
  createdAt: text('created_at').notNull(),
});
