// The storage port of webhooks and stream tickets: what src/app/webhooks.ts, the deliverer
// (src/app/webhook-deliverer.ts) and the ticket routes ask of persistence, with its own types.
// One adapter per engine (webhook-store.ts for SQLite, pg/webhook-store.ts for PostgreSQL); the
// row mapping both share is webhook-rows.ts.

/** A webhook as stored: its settings, its secret(s), and where its delivery stands in the log. */
export interface WebhookRow {
  id: string;
  url: string;
  /** Event types it wants; empty: all. */
  eventTypes: string[];
  /** VMs (stream ids) it wants; empty: all. */
  vms: string[];
  enabled: boolean;
  /** Standard Webhooks secret (`whsec_` + base64). */
  secret: string;
  /** The secret before the last rotation, still signed with until `previousSecretUntil` (ms since epoch). */
  previousSecret: string | null;
  previousSecretUntil: number | null;
  createdAt: string;
  updatedAt: string;
  /** Every matching event at or before this position has been delivered (answered 2xx). */
  cursor: number;
  /** Failed attempts in a row at the event after the cursor. */
  failures: number;
  /** When the first of those failures happened (ms since epoch); the retry window counts from it. */
  failingSince: number | null;
  /** Not before this time (ms since epoch) is the next attempt made. */
  nextAttemptAt: number | null;
  /** Why the service disabled the hook (410, retries exhausted); null when it did not. */
  disabledReason: string | null;
  /** The node that delivers for the hook now, and until when its lease holds (ms since epoch). */
  leaseOwner: string | null;
  leaseUntil: number | null;
}

export const DELIVERY_OUTCOMES = ['delivered', 'failed', 'gone', 'refused'] as const;
export type DeliveryOutcome = (typeof DELIVERY_OUTCOMES)[number];

/** One attempt to deliver one event to one hook. */
export interface DeliveryRow {
  seq: number;
  hookId: string;
  /** The event's position in the log (0 for a ping). */
  position: number;
  eventType: string;
  /** The `webhook-id` header: the same for every attempt at one event. */
  messageId: string;
  /** 1 for the first attempt at this event, 2 for the first retry, ... */
  attempt: number;
  outcome: DeliveryOutcome;
  /** The receiver's HTTP status; null when there was no answer (refused, timeout, connection error). */
  httpStatus: number | null;
  error: string | null;
  attemptedAt: string;
  latencyMs: number;
  /** The first bytes of the receiver's answer. */
  responseExcerpt: string | null;
  /** The service node that made the attempt. */
  node: string;
}

export type NewDelivery = Omit<DeliveryRow, 'seq'>;

/** What an attempt changes in its hook, written together with the attempt's record. */
export type DeliveryProgress = Pick<WebhookRow, 'cursor' | 'failures' | 'failingSince' | 'nextAttemptAt'> &
  Partial<Pick<WebhookRow, 'enabled' | 'disabledReason'>>;

/** What an admin may change of a hook (PATCH, rotate-secret, redeliver). */
export type WebhookChanges = Partial<
  Pick<
    WebhookRow,
    | 'url'
    | 'eventTypes'
    | 'vms'
    | 'enabled'
    | 'secret'
    | 'previousSecret'
    | 'previousSecretUntil'
    | 'cursor'
    | 'failures'
    | 'failingSince'
    | 'nextAttemptAt'
    | 'disabledReason'
  >
> & { updatedAt: string };

export interface WebhookPort {
  insert(row: WebhookRow): Promise<void>;
  find(id: string): Promise<WebhookRow | undefined>;
  /** Hooks oldest first. */
  list(limit: number, offset: number): Promise<{ rows: WebhookRow[]; total: number }>;
  /** The enabled hooks (what the deliverer serves). */
  enabled(): Promise<WebhookRow[]>;
  update(id: string, changes: WebhookChanges): Promise<WebhookRow | undefined>;
  /** Deletes the hook and its delivery records; false when there was none. */
  remove(id: string): Promise<boolean>;
  /**
   * Takes or renews the hook's delivery lease for `node` until `now + leaseMs`: the hook as it is
   * now, or undefined when another node holds an unexpired lease (or the hook is gone or disabled).
   */
  claim(id: string, node: string, now: number, leaseMs: number): Promise<WebhookRow | undefined>;
  /** Gives the lease up (only when `node` holds it). */
  release(id: string, node: string): Promise<void>;
  /**
   * Records an attempt and moves the hook on, in one transaction, only while `node` holds the
   * lease: false (nothing written) when it lost it meanwhile. A ping (position 0) changes nothing
   * of the hook: pass progress undefined.
   */
  recordAttempt(
    id: string,
    node: string,
    attempt: NewDelivery,
    progress: DeliveryProgress | undefined,
  ): Promise<boolean>;
  /** A hook's attempts, newest first. */
  deliveries(id: string, limit: number, offset: number): Promise<{ rows: DeliveryRow[]; total: number }>;
}

export interface StreamTicketPort {
  /** Stores a ticket (the digest of its secret) made for a token, usable once before `expiresAt` (ms). */
  insert(digest: string, tokenId: string, expiresAt: number, now: number): Promise<void>;
  /** Uses a ticket: the token id it was made for, or undefined when unknown, used or expired. */
  redeem(digest: string, now: number): Promise<string | undefined>;
}
