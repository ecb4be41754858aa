// Webhooks and stream tickets on SQLite (../port.ts). Each write that reads first runs in an
// IMMEDIATE transaction, so that another process on the same file cannot slip in between.

import { and, asc, count, desc, eq, gt, isNull, lt } from 'drizzle-orm';
import type { Db } from './database.js';
import type {
  DeliveryProgress,
  DeliveryRow,
  NewDelivery,
  StreamTicketPort,
  WebhookChanges,
  WebhookPort,
  WebhookRow,
} from '../port.js';
import { changesToTable, deliveryFromTable, hookFromTable, hookToTable, leaseFree } from '../shared/webhook-rows.js';
import { streamTickets, webhookDeliveries, webhooks } from './webhook-schema.js';

export class WebhookStore implements WebhookPort {
  constructor(private readonly db: Db) {}

  private immediate<T>(fn: () => T): T {
    return this.db.$client.transaction(fn).immediate();
  }

  private findNow(id: string): WebhookRow | undefined {
    const row = this.db.select().from(webhooks).where(eq(webhooks.id, id)).get();
    return row === undefined ? undefined : hookFromTable(row);
  }

  async insert(row: WebhookRow): Promise<void> {
    this.db.insert(webhooks).values(hookToTable(row)).run();
  }

  async find(id: string): Promise<WebhookRow | undefined> {
    return this.findNow(id);
  }

  async list(limit: number, offset: number): Promise<{ rows: WebhookRow[]; total: number }> {
    const rows = this.db.select().from(webhooks).orderBy(asc(webhooks.seq)).limit(limit).offset(offset).all();
    const total = this.db.select({ n: count() }).from(webhooks).get()?.n ?? 0;
    return { rows: rows.map(hookFromTable), total };
  }

  async enabled(): Promise<WebhookRow[]> {
    return this.db
      .select()
      .from(webhooks)
      .where(eq(webhooks.enabled, true))
      .orderBy(asc(webhooks.seq))
      .all()
      .map(hookFromTable);
  }

  async update(id: string, changes: WebhookChanges): Promise<WebhookRow | undefined> {
    return this.immediate(() => {
      this.db.update(webhooks).set(changesToTable(changes)).where(eq(webhooks.id, id)).run();
      return this.findNow(id);
    });
  }

  async remove(id: string): Promise<boolean> {
    return this.immediate(() => {
      const gone = this.db.delete(webhooks).where(eq(webhooks.id, id)).run().changes > 0;
      this.db.delete(webhookDeliveries).where(eq(webhookDeliveries.hookId, id)).run();
      return gone;
    });
  }

  async claim(id: string, node: string, now: number, leaseMs: number): Promise<WebhookRow | undefined> {
    return this.immediate(() => {
      const row = this.findNow(id);
      if (row === undefined || !row.enabled || !leaseFree(row, node, now)) return undefined;
      this.db
        .update(webhooks)
        .set({ leaseOwner: node, leaseUntil: now + leaseMs })
        .where(eq(webhooks.id, id))
        .run();
      return { ...row, leaseOwner: node, leaseUntil: now + leaseMs };
    });
  }

  async release(id: string, node: string): Promise<void> {
    this.db
      .update(webhooks)
      .set({ leaseOwner: null, leaseUntil: null })
      .where(and(eq(webhooks.id, id), eq(webhooks.leaseOwner, node)))
      .run();
  }

  async recordAttempt(
    id: string,
    node: string,
    attempt: NewDelivery,
    progress: DeliveryProgress | undefined,
  ): Promise<boolean> {
    return this.immediate(() => {
      if (progress !== undefined) {
        const moved = this.db
          .update(webhooks)
          .set(progress)
          .where(and(eq(webhooks.id, id), eq(webhooks.leaseOwner, node)))
          .run().changes;
        if (moved === 0) return false;
      } else if (this.findNow(id) === undefined) return false;
      this.db.insert(webhookDeliveries).values(attempt).run();
      return true;
    });
  }

  async deliveries(id: string, limit: number, offset: number): Promise<{ rows: DeliveryRow[]; total: number }> {
    const rows = this.db
      .select()
      .from(webhookDeliveries)
      .where(eq(webhookDeliveries.hookId, id))
      .orderBy(desc(webhookDeliveries.seq))
      .limit(limit)
      .offset(offset)
      .all();
    const total =
      this.db.select({ n: count() }).from(webhookDeliveries).where(eq(webhookDeliveries.hookId, id)).get()?.n ?? 0;
    return { rows: rows.map(deliveryFromTable), total };
  }
}

/** A used or expired ticket is kept this long, then deleted when a new one is made. */
const TICKET_KEEP_MS = 60 * 60 * 1000;

export class StreamTicketStore implements StreamTicketPort {
  constructor(private readonly db: Db) {}

  async insert(digest: string, tokenId: string, expiresAt: number, now: number): Promise<void> {
    this.db
      .delete(streamTickets)
      .where(lt(streamTickets.expiresAt, now - TICKET_KEEP_MS))
      .run();
    this.db.insert(streamTickets).values({ digest, tokenId, expiresAt }).run();
  }

  async redeem(digest: string, now: number): Promise<string | undefined> {
    const row = this.db
      .update(streamTickets)
      .set({ usedAt: now })
      .where(and(eq(streamTickets.digest, digest), isNull(streamTickets.usedAt), gt(streamTickets.expiresAt, now)))
      .returning()
      .get();
    return row?.tokenId;
  }
}
