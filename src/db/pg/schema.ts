// The PostgreSQL schema, as drizzle tables: the same tables and columns as the SQLite schema
// (../sqlite/schema.ts), in pg-core types (drizzle cannot share one table definition between dialects),
// plus `log_head`, the counter row every append moves. drizzle-kit generates migrations/postgres
// from this file (drizzle.pg.config.ts); the triggers that make events and records immutable and
// the seed of log_head are a hand-written migration there.
//
// JSON is kept as text, not jsonb: a record is returned byte for byte as it was first answered.

import { sql } from 'drizzle-orm';
import { bigint, boolean, customType, index, integer, pgTable, smallint, text, uniqueIndex } from 'drizzle-orm/pg-core';

const bytea = customType<{ data: Buffer; driverData: Buffer }>({ dataType: () => 'bytea' });

/**
 * The event log. `position` is gap-free and in commit order across every node: it is taken from
 * `log_head` in the appending transaction, which holds that row until it commits (see event-store.ts).
 */
export const events = pgTable(
  'events',
  {
    position: bigint('position', { mode: 'number' }).primaryKey(),
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

/** One row (id 1): the log's last position. Appends serialise on it; that is what orders them. */
export const logHead = pgTable('log_head', {
  id: smallint('id').primaryKey(),
  last: bigint('last', { mode: 'number' }).notNull(),
});

export const idempotencyKeys = pgTable('idempotency_keys', {
  key: text('key').primaryKey(),
  fingerprint: text('fingerprint').notNull(),
  status: integer('status').notNull(),
  headers: text('headers').notNull(),
  body: text('body').notNull(),
  createdAt: text('created_at').notNull(),
  /**
   * What to add to every position in `body`: an append plans its answers on provisional positions
   * and takes its real ones at commit (event-store.ts); 0 when the body holds its real positions.
   */
  positionShift: bigint('position_shift', { mode: 'number' }).notNull().default(0),
});

export const resolutionBodies = pgTable('resolution_bodies', {
  hash: text('hash').primaryKey(),
  codec: text('codec').notNull(),
  packed: bytea('packed').notNull(),
});

export const msiResolutions = pgTable(
  'msi_resolutions',
  {
    seq: bigint('seq', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    id: text('id').notNull().unique(),
    vmId: text('vm_id').notNull(),
    sweepId: text('sweep_id'),
    body: text('body').notNull(),
    bodyHash: text('body_hash').references(() => resolutionBodies.hash),
    picture: text('picture'),
    createdAt: text('created_at').notNull(),
    // What lists filter on (GET /v1/msi-resolutions), copied from the body when the record is written.
    device: text('device'),
    semantics: text('semantics'),
    installed: boolean('installed'),
    misroutedBeforeFix: boolean('misrouted_before_fix'),
  },
  (t) => [
    index('msi_resolutions_vm').on(t.vmId, t.seq),
    index('msi_resolutions_sweep').on(t.sweepId, t.seq),
    index('msi_resolutions_device').on(t.device, t.seq),
  ],
);

export const msiSweeps = pgTable(
  'msi_sweeps',
  {
    seq: bigint('seq', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    id: text('id').notNull().unique(),
    vmId: text('vm_id').notNull(),
    body: text('body').notNull(),
    format: text('format').notNull().default('json'),
    createdAt: text('created_at').notNull(),
    // What lists filter on (GET /v1/msi-sweeps), copied from the head when the sweep is written.
    semantics: text('semantics'),
    misroutedBeforeFix: integer('misrouted_before_fix'),
    routesMissing: integer('routes_missing'),
  },
  (t) => [index('msi_sweeps_vm').on(t.vmId, t.seq)],
);

export const apiTokens = pgTable(
  'api_tokens',
  {
    seq: bigint('seq', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    id: text('id').notNull().unique(),
    name: text('name').notNull(),
    scopes: text('scopes').notNull(),
    secretHash: text('secret_hash').notNull(),
    createdAt: text('created_at').notNull(),
    expiresAt: text('expires_at'),
    lastUsedAt: text('last_used_at'),
    revokedAt: text('revoked_at'),
  },
  (t) => [uniqueIndex('api_tokens_live_name').on(t.name).where(sql`${t.revokedAt} IS NULL`)],
);

export const fleetSweeps = pgTable('fleet_sweeps', {
  seq: bigint('seq', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
  id: text('id').notNull().unique(),
  body: text('body').notNull(),
  results: text('results').notNull(),
  createdAt: text('created_at').notNull(),
});

// Webhooks and stream tickets (issue 22) keep their tables beside their store.
export * from './webhook-schema.js';
