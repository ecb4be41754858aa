// The webhook deliverer: a background loop of each service node that follows the event log for
// every enabled hook and POSTs each matching event, signed by the Standard Webhooks scheme.
//
// - At least once, in order: a hook's cursor (stored) moves only after a 2xx for the event at
//   it; a restart, a crash or another node resumes there, and a retry carries the same
//   `webhook-id` (derived from the hook and the event's position).
// - One node per hook: an attempt runs under the hook's lease in the database (claim/renew at
//   each event); a node that dies stops renewing and another takes over when the lease runs out.
//   The lease outlasts an attempt's timeout, so two nodes do not attempt one event together.
// - Failures back off exponentially with jitter; past the retry window (a day) the hook is
//   disabled with the reason recorded; a 410 disables it at once. No redirect is followed, and
//   the target is checked against DOORBELL_WEBHOOK_ALLOW at each attempt.

import { randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { hostname } from 'node:os';
import { Webhook } from 'standardwebhooks';
import { eventBody, eventJson } from './event-json.js';
import type { DeliveryOutcome, DeliveryProgress, DeliveryRow, StoredEvent, Stores, WebhookRow } from '../db/port.js';
import { bigintsToHex } from '../domain/address.js';
import type { Services } from './services.js';
import { checkTarget, guardedLookup, TargetRefused, type TargetPolicy } from './webhook-targets.js';

export interface DelivererOptions {
  /** Where targets may be (DOORBELL_WEBHOOK_ALLOW). */
  policy: TargetPolicy;
  /** The base of the `url` of each delivered event (as GET /v1/events on this node shows it). */
  baseUrl: () => string;
  /** One attempt (connect, send, answer) may take this long. */
  timeoutMs: number;
  /** The first retry waits about this long; each next one twice as long (with jitter), at most retryMaxDelayMs. */
  retryBaseMs: number;
  retryMaxDelayMs: number;
  /** After failing this long at one event, the hook is disabled. */
  retryWindowMs: number;
  /** How long a node's claim on a hook holds without renewal. */
  leaseMs: number;
  /** How often the hooks are looked at without a wake-up (other nodes' events, due retries). */
  pollMs: number;
  /** This node's name in leases and delivery records. */
  node?: string;
  /** Told when this node disables a hook (a 410, retries exhausted): the server logs it. */
  onDisabled?: (hookId: string, reason: string) => void;
}

export const DEFAULT_DELIVERER = {
  timeoutMs: 10_000,
  retryBaseMs: 5_000,
  retryMaxDelayMs: 60 * 60 * 1000,
  retryWindowMs: 24 * 60 * 60 * 1000,
  leaseMs: 30_000,
  pollMs: 1_000,
};

/** The answer's first bytes kept in a delivery record. */
const EXCERPT_BYTES = 512;
/** Events read per query while looking for a hook's next one. */
const BATCH = 100;

/** The `webhook-id` of an event for a hook: the same for every attempt, so receivers can drop duplicates. */
export const messageIdOf = (hookId: string, position: number) => `msg_${hookId}_${position}`;

interface AttemptResult {
  outcome: DeliveryOutcome;
  httpStatus: number | null;
  error: string | null;
  latencyMs: number;
  excerpt: string | null;
}

/** The signature header: with the current secret, and also the previous one during its grace period. */
export function signatureOf(hook: WebhookRow, messageId: string, at: Date, body: string): string {
  const secrets = [hook.secret];
  if (hook.previousSecret !== null && (hook.previousSecretUntil ?? 0) > at.getTime()) secrets.push(hook.previousSecret);
  return secrets.map((secret) => new Webhook(secret).sign(messageId, at, body)).join(' ');
}

/** Backoff before attempt n+1 after n failures: base·2^(n-1), capped, times a jitter in [0.5, 1). */
export function retryDelay(
  failures: number,
  options: Pick<DelivererOptions, 'retryBaseMs' | 'retryMaxDelayMs'>,
  random = Math.random,
) {
  const exponential = Math.min(options.retryMaxDelayMs, options.retryBaseMs * 2 ** Math.min(failures - 1, 40));
  return Math.round(exponential * (0.5 + random() / 2));
}

export class WebhookDeliverer {
  readonly node: string;
  private readonly options: DelivererOptions;
  private readonly busy = new Set<string>();
  private readonly inFlight = new Set<Promise<void>>();
  private stopped = true;
  private poll: NodeJS.Timeout | undefined;
  private timers = new Set<NodeJS.Timeout>();
  private unsubscribe: (() => void) | undefined;
  private ticking = false;
  /** The last look found no enabled hook. */
  private noHooks = false;
  private tickAgain = false;
  private readonly outcomes;

  private readonly stores: Stores;

  constructor(services: Services, options: Partial<DelivererOptions> & Pick<DelivererOptions, 'policy' | 'baseUrl'>) {
    const { stores, metrics } = services;
    this.stores = stores;
    this.options = { ...DEFAULT_DELIVERER, ...options };
    this.node = options.node ?? `${hostname()}/${process.pid}/${randomBytes(3).toString('hex')}`;
    this.outcomes = metrics.counter({
      name: 'doorbell_webhook_deliveries_total',
      help: 'Webhook delivery attempts by outcome (delivered, failed, gone, refused)',
      labelNames: ['outcome'],
    });
    const { webhooks, events } = stores;
    metrics.gauge({
      name: 'doorbell_webhook_lag_events',
      help: "Positions between the log's head and each enabled hook's cursor",
      labelNames: ['hook'],
      async collect() {
        this.reset();
        const [hooks, head] = await Promise.all([webhooks.enabled(), events.lastPosition()]);
        for (const hook of hooks) this.set({ hook: hook.id }, Math.max(0, head - hook.cursor));
      },
    });
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    // With no hook enabled an append needs no look (the poll notices a new hook): a service without
    // webhooks pays one query a poll, not one per append.
    this.unsubscribe = this.stores.events.onAppended(() => {
      if (!this.noHooks) this.wake();
    });
    this.poll = setInterval(() => this.wake(), this.options.pollMs);
    this.poll.unref();
    this.wake();
  }

  /** Stops taking new work, waits for attempts in flight, and gives the leases up. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    if (this.poll !== undefined) clearInterval(this.poll);
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await Promise.allSettled([...this.inFlight]);
  }

  /** Looks at every hook again (an append, a poll, a due retry). */
  wake(): void {
    if (this.stopped) return;
    if (this.ticking) {
      this.tickAgain = true;
      return;
    }
    this.ticking = true;
    void this.tick()
      .catch(() => undefined)
      .finally(() => {
        this.ticking = false;
        if (this.tickAgain) {
          this.tickAgain = false;
          this.wake();
        }
      });
  }

  private later(at: number): void {
    const timer = setTimeout(
      () => {
        this.timers.delete(timer);
        this.wake();
      },
      Math.max(0, at - Date.now()),
    );
    timer.unref();
    this.timers.add(timer);
  }

  private async tick(): Promise<void> {
    const now = Date.now();
    const hooks = await this.stores.webhooks.enabled();
    this.noHooks = hooks.length === 0;
    for (const hook of hooks) {
      if (this.stopped) return;
      if (this.busy.has(hook.id)) continue;
      if (hook.nextAttemptAt !== null && hook.nextAttemptAt > now) continue;
      this.busy.add(hook.id);
      const work = this.serve(hook.id)
        .catch(() => undefined)
        .finally(() => {
          this.busy.delete(hook.id);
          this.inFlight.delete(work);
        });
      this.inFlight.add(work);
    }
  }

  /** Delivers a hook's events one at a time while it holds the lease, until it is caught up or fails. */
  private async serve(hookId: string): Promise<void> {
    const { webhooks } = this.stores;
    let scanned: number | undefined;
    try {
      while (!this.stopped) {
        const hook = await webhooks.claim(hookId, this.node, Date.now(), this.options.leaseMs);
        if (hook === undefined) return;
        if (hook.nextAttemptAt !== null && hook.nextAttemptAt > Date.now()) return this.later(hook.nextAttemptAt);
        const next = await this.nextEvent(hook, Math.max(hook.cursor, scanned ?? hook.cursor));
        if (next.event === undefined) return;
        scanned = next.event.position - 1;
        if (!(await this.deliver(hook, next.event))) return;
      }
    } finally {
      await webhooks.release(hookId, this.node).catch(() => undefined);
    }
  }

  /** The first event after `from` that the hook wants. */
  private async nextEvent(hook: WebhookRow, from: number): Promise<{ event?: StoredEvent }> {
    const filter = {
      types: hook.eventTypes.length > 0 ? hook.eventTypes : undefined,
      vm: hook.vms.length === 1 ? hook.vms[0] : undefined,
    };
    let after = from;
    for (;;) {
      const batch = await this.stores.events.readAfter(after, filter, { limit: BATCH });
      const event = batch.find((e) => hook.vms.length === 0 || hook.vms.includes(e.streamId));
      if (event !== undefined || batch.length < BATCH) return { event };
      after = batch[batch.length - 1]!.position;
    }
  }

  private bodyOf(event: StoredEvent): string {
    return eventJson(this.options.baseUrl(), event.position, JSON.stringify(bigintsToHex(eventBody(event))));
  }

  /** One attempt at one event; true when it was delivered (and the cursor moved). */
  private async deliver(hook: WebhookRow, event: StoredEvent): Promise<boolean> {
    const messageId = messageIdOf(hook.id, event.position);
    const started = new Date();
    const result = await this.attempt(hook, messageId, this.bodyOf(event), started);
    const now = Date.now();
    const attempt = hook.failures + 1;
    let progress: DeliveryProgress;
    if (result.outcome === 'delivered')
      progress = { cursor: event.position, failures: 0, failingSince: null, nextAttemptAt: null };
    else {
      const failingSince = hook.failingSince ?? started.getTime();
      progress = { cursor: hook.cursor, failures: attempt, failingSince, nextAttemptAt: null };
      if (result.outcome === 'gone')
        Object.assign(progress, {
          enabled: false,
          disabledReason: `disabled at ${new Date(now).toISOString()}: the receiver answered 410 Gone to event ${event.position}`,
        });
      else if (now - failingSince >= this.options.retryWindowMs)
        Object.assign(progress, {
          enabled: false,
          disabledReason: `disabled at ${new Date(now).toISOString()}: event ${event.position} failed ${attempt} times since ${new Date(failingSince).toISOString()} (retry window ${this.options.retryWindowMs} ms)`,
        });
      else progress.nextAttemptAt = now + retryDelay(attempt, this.options);
    }
    const recorded = await this.stores.webhooks.recordAttempt(
      hook.id,
      this.node,
      this.record(hook.id, event.position, event.type, messageId, attempt, started, result),
      progress,
    );
    this.outcomes.inc({ outcome: result.outcome });
    if (recorded && progress.disabledReason) this.options.onDisabled?.(hook.id, progress.disabledReason);
    if (progress.nextAttemptAt !== null && recorded) this.later(progress.nextAttemptAt);
    return recorded && result.outcome === 'delivered';
  }

  private record(
    hookId: string,
    position: number,
    eventType: string,
    messageId: string,
    attempt: number,
    started: Date,
    result: AttemptResult,
  ): Omit<DeliveryRow, 'seq'> {
    return {
      hookId,
      position,
      eventType,
      messageId,
      attempt,
      outcome: result.outcome,
      httpStatus: result.httpStatus,
      error: result.error,
      attemptedAt: started.toISOString(),
      latencyMs: result.latencyMs,
      responseExcerpt: result.excerpt,
      node: this.node,
    };
  }

  /** Sends a ping (not an event of the log: position 0, type WebhookPing) once, and records it. */
  async ping(hook: WebhookRow): Promise<Omit<DeliveryRow, 'seq'>> {
    const started = new Date();
    const messageId = `msg_${hook.id}_ping_${randomBytes(6).toString('hex')}`;
    const body = JSON.stringify({ type: 'WebhookPing', webhook: hook.id, occurredAt: started.toISOString() });
    const result = await this.attempt(hook, messageId, body, started);
    const row = this.record(hook.id, 0, 'WebhookPing', messageId, 1, started, result);
    await this.stores.webhooks.recordAttempt(hook.id, this.node, row, undefined);
    this.outcomes.inc({ outcome: result.outcome });
    return row;
  }

  /** One POST: checked target, signed, bounded in time, no redirect followed. */
  private async attempt(hook: WebhookRow, messageId: string, body: string, at: Date): Promise<AttemptResult> {
    const began = performance.now();
    const latency = () => Math.round(performance.now() - began);
    let target: URL;
    try {
      target = await checkTarget(this.options.policy, hook.url);
    } catch (error) {
      if (!(error instanceof TargetRefused)) throw error;
      return { outcome: 'refused', httpStatus: null, error: error.message, latencyMs: latency(), excerpt: null };
    }
    const headers = {
      'content-type': 'application/json',
      'user-agent': 'doorbell-webhooks',
      'webhook-id': messageId,
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': signatureOf(hook, messageId, at, body),
    };
    return new Promise<AttemptResult>((resolve) => {
      let settled = false;
      const done = (result: Omit<AttemptResult, 'latencyMs'>) => {
        if (settled) return;
        settled = true;
        resolve({ ...result, latencyMs: latency() });
      };
      const client = target.protocol === 'https:' ? https : http;
      const request = client.request(target, {
        method: 'POST',
        headers: { ...headers, 'content-length': Buffer.byteLength(body) },
        lookup: guardedLookup(this.options.policy),
        agent: false,
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      request.on('response', (response) => {
        const status = response.statusCode ?? 0;
        const chunks: Buffer[] = [];
        let size = 0;
        const finish = () => {
          const excerpt = Buffer.concat(chunks).subarray(0, EXCERPT_BYTES).toString('utf8');
          const outcome: DeliveryOutcome =
            status >= 200 && status < 300 ? 'delivered' : status === 410 ? 'gone' : 'failed';
          const error =
            status >= 300 && status < 400 ? `redirect to ${response.headers.location ?? '?'} not followed` : null;
          done({ outcome, httpStatus: status, error, excerpt });
          response.destroy();
        };
        response.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          size += chunk.length;
          if (size >= EXCERPT_BYTES) finish();
        });
        response.on('end', finish);
        response.on('error', finish);
        response.on('close', finish);
      });
      request.on('error', (error: NodeJS.ErrnoException) => {
        const timedOut = error.name === 'AbortError' || error.name === 'TimeoutError';
        const refused = error.code === 'WEBHOOK_TARGET_REFUSED';
        done({
          outcome: refused ? 'refused' : 'failed',
          httpStatus: null,
          error: timedOut ? `no answer within ${this.options.timeoutMs} ms` : error.message,
          excerpt: null,
        });
      });
      request.end(body);
    });
  }
}
