// The PostgreSQL tables of webhooks: the same tables and columns as ../sqlite/webhook-schema.ts, in
// pg-core types. Times the deliverer compares are milliseconds since the epoch (bigint).

import { bigint, boolean, index, integer, pgTable, text } from 'drizzle-orm/pg-core';

const ms = (name: string) => bigint(name, { mode: 'number' });

export const webhooks = pgTable('webhooks', {
  seq: bigint('seq', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
  id: text('id').notNull().unique(),
  url: text('url').notNull(),
  eventTypes: text('event_types').notNull(),
  vms: text('vms').notNull(),
  enabled: boolean('enabled').notNull(),
  secret: text('secret').notNull(),
  previousSecret: text('previous_secret'),
  previousSecretUntil: ms('previous_secret_until'),
  createdAt: text('created_at').notNull(),
  updatedAt: text('updated_at').notNull(),
  cursor: ms('cursor').notNull(),
  failures: integer('failures').notNull().default(0),
  failingSince: ms('failing_since'),
  nextAttemptAt: ms('next_attempt_at'),
  disabledReason: text('disabled_reason'),
  leaseOwner: text('lease_owner'),
  leaseUntil: ms('lease_until'),
});

export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    seq: bigint('seq', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    hookId: text('hook_id').notNull(),
    position: ms('position').notNull(),
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

export const streamTickets = pgTable('stream_tickets', {
  digest: text('digest').primaryKey(),
  tokenId: text('token_id').notNull(),
  expiresAt: ms('expires_at').notNull(),
  usedAt: ms('used_at'),
});
