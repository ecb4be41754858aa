// The SQLite schema, as drizzle tables. drizzle-kit generates the migrations in migrations/ from
// this file; the triggers that make stored records immutable are a hand-written migration there.

import { sql } from 'drizzle-orm';
import { blob, index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';

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
  (t) => [
    uniqueIndex('events_stream_version').on(t.streamId, t.streamVersion),
    // GET /v1/events?type= and the change feed's filtered reads, without scanning the whole log.
    index('events_type_position').on(t.type, t.position),
  ],
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

// msi_resolutions, msi_sweeps, resolution_bodies, idempotency_keys and events are written by the
// record writer with SQL that drizzle generates from these tables (record-writer/statements.ts).

/**
 * The JSON of a resolution, without the record's id and VM, stored once however many records
 * repeat it (an inventory polling an unchanged VM asks the same question again and again) and
 * compressed (../shared/codec.mjs). `hash` is the sha256 of the JSON.
 */
export const resolutionBodies = sqliteTable('resolution_bodies', {
  hash: text('hash').primaryKey(),
  codec: text('codec').notNull(),
  packed: blob('packed', { mode: 'buffer' }).notNull(),
});

/**
 * MSI resolutions: what was returned to the client, kept unchanged for the audit trail. A record
 * is `{"id":…,"vm":…,` followed by its body: records stored before bodies were shared hold the
 * whole JSON in `body`; later ones leave `body` empty and name their body by `body_hash`.
 */
export const msiResolutions = sqliteTable(
  'msi_resolutions',
  {
    seq: integer('seq').primaryKey(),
    id: text('id').notNull().unique(),
    vmId: text('vm_id').notNull(),
    sweepId: text('sweep_id'),
    body: text('body').notNull(),
    bodyHash: text('body_hash').references(() => resolutionBodies.hash),
    /** The record's `picture` link, as answered (null: records from before pictures). */
    picture: text('picture'),
    createdAt: text('created_at').notNull(),
    // What lists filter on (GET /v1/msi-resolutions), copied from the body when the record is
    // written so that a filter reads no body. NULL in records stored before these columns whose
    // body is compressed (migrations/0007 fills them from the plain JSON bodies only).
    device: text('device'),
    semantics: text('semantics'),
    installed: integer('installed', { mode: 'boolean' }),
    misroutedBeforeFix: integer('misrouted_before_fix', { mode: 'boolean' }),
  },
  (t) => [
    index('msi_resolutions_vm').on(t.vmId, t.seq),
    index('msi_resolutions_sweep').on(t.sweepId, t.seq),
    index('msi_resolutions_device').on(t.device, t.seq),
  ],
);

/**
 * MSI sweeps: one record per sweep. `format` json: `body` is the whole JSON returned; head:
 * `body` is that JSON with an empty `results`, which are the sweep's resolution records in order.
 */
export const msiSweeps = sqliteTable(
  'msi_sweeps',
  {
    seq: integer('seq').primaryKey(),
    id: text('id').notNull().unique(),
    vmId: text('vm_id').notNull(),
    body: text('body').notNull(),
    format: text('format').notNull().default('json'),
    createdAt: text('created_at').notNull(),
    // What lists filter on (GET /v1/msi-sweeps), copied from the head when the sweep is written
    // (migrations/0007 fills them in for older sweeps): the semantics, and how many vectors were
    // misrouted before the fix and how many have no route installed.
    semantics: text('semantics'),
    misroutedBeforeFix: integer('misrouted_before_fix'),
    routesMissing: integer('routes_missing'),
  },
  (t) => [index('msi_sweeps_vm').on(t.vmId, t.seq)],
);

/**
 * API tokens. Only a SHA-256 digest of the secret is kept (the secret is 256 random bits, so a
 * fast digest is as good as a slow one); the secret is shown once, when the token is created.
 * A revoked token stays, so that the events its name signed can still be traced to it.
 */
export const apiTokens = sqliteTable(
  'api_tokens',
  {
    seq: integer('seq').primaryKey(),
    id: text('id').notNull().unique(),
    name: text('name').notNull(),
    scopes: text('scopes').notNull(),
    secretHash: text('secret_hash').notNull(),
    createdAt: text('created_at').notNull(),
    expiresAt: text('expires_at'),
    lastUsedAt: text('last_used_at'),
    revokedAt: text('revoked_at'),
  },
  // A name signs events as their actor: no two live tokens share one.
  (t) => [uniqueIndex('api_tokens_live_name').on(t.name).where(sql`${t.revokedAt} IS NULL`)],
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

// Webhooks and stream tickets (issue 22) keep their tables beside their store.
export * from './webhook-schema.js';
