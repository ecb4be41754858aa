// Webhooks as an admin manages them: make one (its secret shown once), change it, rotate its
// secret (the old one still signs for a grace period, so receivers can switch without losing a
// delivery), replay from a position, and read its delivery attempts. Delivery itself is
// webhook-deliverer.ts.

import { randomBytes } from 'node:crypto';
import type { Stores } from '../db/port.js';
import type { DeliveryRow, WebhookChanges, WebhookRow } from '../db/port.js';
import { ServiceError } from '../errors/problem.js';
import { checkTarget, TargetRefused, type TargetPolicy } from './webhook-targets.js';

/** How long the secret before a rotation still signs deliveries, by default (a day). */
export const DEFAULT_SECRET_GRACE_MS = 24 * 60 * 60 * 1000;

/** A Standard Webhooks secret: `whsec_` and 32 random bytes in base64. */
export const newSecret = () => `whsec_${randomBytes(32).toString('base64')}`;

export interface WebhookSettings {
  url: string;
  eventTypes?: string[];
  vms?: string[];
  enabled?: boolean;
}

/** A hook as answered: never its secret (that only in the answers to create and rotate-secret). */
export interface WebhookView {
  id: string;
  url: string;
  eventTypes: string[];
  vms: string[];
  enabled: boolean;
  disabledReason: string | null;
  createdAt: string;
  updatedAt: string;
  /** Every matching event at or before this position was delivered. */
  cursor: number;
  failures: number;
  nextAttemptAt: string | null;
  previousSecretExpiresAt: string | null;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function webhookView(row: WebhookRow, now = Date.now()): WebhookView {
  const graceLeft = row.previousSecretUntil !== null && row.previousSecretUntil > now;
  return {
    id: row.id,
    url: row.url,
    eventTypes: row.eventTypes,
    vms: row.vms,
    enabled: row.enabled,
    disabledReason: row.disabledReason,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    cursor: row.cursor,
    failures: row.failures,
    nextAttemptAt: iso(row.nextAttemptAt),
    previousSecretExpiresAt: graceLeft ? iso(row.previousSecretUntil) : null,
  };
}

async function allowedUrl(policy: TargetPolicy, url: string): Promise<string> {
  try {
    return (await checkTarget(policy, url)).href;
  } catch (error) {
    if (!(error instanceof TargetRefused)) throw error;
    throw new ServiceError('WEBHOOK_URL_REFUSED', `url ${JSON.stringify(url)} is refused: ${error.message}`, {
      errors: [{ pointer: '/url', detail: error.message }],
    });
  }
}

const unique = (values: readonly string[] | undefined) => [...new Set(values ?? [])];

/** Makes a hook; it receives the events appended from now on (redeliver replays older ones). */
export async function createWebhook(
  stores: Stores,
  policy: TargetPolicy,
  settings: WebhookSettings,
  now = new Date(),
): Promise<WebhookView & { secret: string }> {
  const url = await allowedUrl(policy, settings.url);
  const at = now.toISOString();
  const row: WebhookRow = {
    id: randomBytes(8).toString('hex'),
    url,
    eventTypes: unique(settings.eventTypes),
    vms: unique(settings.vms),
    enabled: settings.enabled ?? true,
    secret: newSecret(),
    previousSecret: null,
    previousSecretUntil: null,
    createdAt: at,
    updatedAt: at,
    cursor: await stores.events.lastPosition(),
    failures: 0,
    failingSince: null,
    nextAttemptAt: null,
    disabledReason: null,
    leaseOwner: null,
    leaseUntil: null,
  };
  await stores.webhooks.insert(row);
  return { ...webhookView(row, now.getTime()), secret: row.secret };
}

/** A page of the webhooks, oldest first, as their views (no secret). */
export async function listWebhooks(stores: Stores, limit: number, offset: number) {
  const { rows, total } = await stores.webhooks.list(limit, offset);
  return { views: rows.map((row) => webhookView(row)), total };
}

/** A page of a hook's delivery attempts (404 when there is no such hook). */
export async function listDeliveries(stores: Stores, id: string, limit: number, offset: number) {
  await findWebhook(stores, id);
  const { rows, total } = await stores.webhooks.deliveries(id, limit, offset);
  return { views: rows.map(deliveryView), total };
}

export async function findWebhook(stores: Stores, id: string): Promise<WebhookRow> {
  const row = await stores.webhooks.find(id);
  if (row === undefined) throw new ServiceError('WEBHOOK_NOT_FOUND', `no webhook ${JSON.stringify(id)}`);
  return row;
}

async function change(stores: Stores, id: string, changes: WebhookChanges): Promise<WebhookRow> {
  const row = await stores.webhooks.update(id, changes);
  if (row === undefined) throw new ServiceError('WEBHOOK_NOT_FOUND', `no webhook ${JSON.stringify(id)}`);
  return row;
}

/** Changes what was given; enabling a hook again clears why it was disabled and retries at once. */
export async function updateWebhook(
  stores: Stores,
  policy: TargetPolicy,
  id: string,
  settings: Partial<WebhookSettings>,
  now = new Date(),
): Promise<WebhookView> {
  await findWebhook(stores, id);
  const changes: WebhookChanges = { updatedAt: now.toISOString() };
  if (settings.url !== undefined) changes.url = await allowedUrl(policy, settings.url);
  if (settings.eventTypes !== undefined) changes.eventTypes = unique(settings.eventTypes);
  if (settings.vms !== undefined) changes.vms = unique(settings.vms);
  if (settings.enabled !== undefined) {
    changes.enabled = settings.enabled;
    if (settings.enabled)
      Object.assign(changes, { disabledReason: null, failures: 0, failingSince: null, nextAttemptAt: null });
  }
  return webhookView(await change(stores, id, changes), now.getTime());
}

/** Deletes a hook and its delivery records; answers the hook as it was. */
export async function deleteWebhook(stores: Stores, id: string): Promise<WebhookView> {
  const row = await findWebhook(stores, id);
  if (!(await stores.webhooks.remove(id)))
    throw new ServiceError('WEBHOOK_NOT_FOUND', `no webhook ${JSON.stringify(id)}`);
  return webhookView(row);
}

/** A new secret, shown once; the current one keeps signing (beside the new) for `graceMs`. */
export async function rotateSecret(
  stores: Stores,
  id: string,
  graceMs = DEFAULT_SECRET_GRACE_MS,
  now = new Date(),
): Promise<WebhookView & { secret: string }> {
  const current = await findWebhook(stores, id);
  const secret = newSecret();
  const row = await change(stores, id, {
    updatedAt: now.toISOString(),
    secret,
    previousSecret: graceMs > 0 ? current.secret : null,
    previousSecretUntil: graceMs > 0 ? now.getTime() + graceMs : null,
  });
  return { ...webhookView(row, now.getTime()), secret };
}

/** Delivers again every matching event after `after`: the cursor goes back (or forward) there. */
export async function redeliver(stores: Stores, id: string, after: number, now = new Date()): Promise<WebhookView> {
  await findWebhook(stores, id);
  const last = await stores.events.lastPosition();
  if (after > last)
    throw new ServiceError('VALIDATION_FAILED', `after=${after} is past the log's last position ${last}`, {
      errors: [{ pointer: '/query/after', detail: `after must be at most the last position, ${last}` }],
    });
  const row = await change(stores, id, {
    updatedAt: now.toISOString(),
    cursor: after,
    failures: 0,
    failingSince: null,
    nextAttemptAt: null,
  });
  return webhookView(row, now.getTime());
}

export interface DeliveryView {
  id: number;
  position: number;
  eventType: string;
  webhookId: string;
  attempt: number;
  outcome: DeliveryRow['outcome'];
  status: number | null;
  error: string | null;
  attemptedAt: string;
  latencyMs: number;
  response: string | null;
  node: string;
}

export const deliveryView = (row: DeliveryRow): DeliveryView => ({
  id: row.seq,
  position: row.position,
  eventType: row.eventType,
  webhookId: row.messageId,
  attempt: row.attempt,
  outcome: row.outcome,
  status: row.httpStatus,
  error: row.error,
  attemptedAt: row.attemptedAt,
  latencyMs: row.latencyMs,
  response: row.responseExcerpt,
  node: row.node,
});
