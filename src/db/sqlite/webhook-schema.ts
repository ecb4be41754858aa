// The SQLite tables of webhooks (see ../port.ts): the hooks with their secret and delivery
// cursor, each delivery attempt, and the single-use tickets of browser event streams. Times the
// deliverer compares (leases, retries, ticket expiry) are milliseconds since the epoch.

import { index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';

export const webhooks = sqliteTable('webhooks', {
  seq: integer('seq').primaryKey(),
  id: text('id').notNull().unique(),
  url: text('url').notNull(),
  /** JSON arrays of strings; empty: all. */
  eventTypes: text('event_types').notNull(),
  vms: text('vms').notNull(),
  enabled: integer('enabled', { mode: 'boolean' }).notNull(),
  secret: text('secret').notNull(),
  previousSecret: text('previous_secret'),
  previousSecretUntil: integer('previous_secret_until'),
  createdAt: text('created_at').notNull(),
  updatedAt: text('updated_at').notNull(),
  cursor: integer('cursor').notNull(),
  failures: integer('failures').notNull().default(0),
  failingSince: integer('failing_since'),
  nextAttemptAt: integer('next_attempt_at'),
  disabledReason: text('disabled_reason'),
  leaseOwner: text('lease_owner'),
  leaseUntil: integer('lease_until'),
});

export const webhookDeliveries = sqliteTable(
  'webhook_deliveries',
  {
    seq: integer('seq').primaryKey(),
    hookId: text('hook_id').notNull(),
    position: integer('position').notNull(),
    eventType: text('event_type').notNull(),
    messageId: text('message_id').notNull(),
    attempt: integer('attempt').notNull(),
    outcome: text('outcome').notNull(),
    httpStatus: integer('http_status'),
    error: text('error'),
    attemptedAt: text('attempted_at').notNull(),
    latencyMs: integer('latency_ms').notNull(),
    responseExcerpt: text('response_excerpt'),
    node: text('node').notNull(),
  },
  (t) => [index('webhook_deliveries_hook').on(t.hookId, t.seq)],
);

export const streamTickets = sqliteTable('stream_tickets', {
  digest: text('digest').primaryKey(),
  tokenId: text('token_id').notNull(),
  expiresAt: integer('expires_at').notNull(),
  usedAt: integer('used_at'),
});
