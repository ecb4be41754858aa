// Webhooks and stream tickets on PostgreSQL (../port.ts), shared by every node: the
// delivery lease is taken with one conditional UPDATE (a row lock decides between two nodes), and
// an attempt is recorded only while its node still holds the lease, so one node delivers for a
// hook at a time and another takes over once the lease of a dead one runs out.

import { and, asc, count, desc, eq, gt, isNull, lte, or, sql } from 'drizzle-orm';
import type {
  DeliveryProgress,
  DeliveryRow,
  NewDelivery,
  StreamTicketPort,
  WebhookChanges,
  WebhookPort,
  WebhookRow,
} from '../port.js';
import { changesToTable, deliveryFromTable, hookFromTable, hookToTable } from '../shared/webhook-rows.js';
import type { OpenPg, PgDb } from './database.js';
import { streamTickets, webhookDeliveries, webhooks } from './webhook-schema.js';

export class PgWebhookStore implements WebhookPort {
  constructor(private readonly database: OpenPg) {}

  private get db(): PgDb {
    return this.database.db;
  }

  async insert(row: WebhookRow): Promise<void> {
    await this.db.insert(webhooks).values(hookToTable(row));
  }

  async find(id: string): Promise<WebhookRow | undefined> {
    const [row] = await this.db.select().from(webhooks).where(eq(webhooks.id, id));
    return row === undefined ? undefined : hookFromTable(row);
  }

  async list(limit: number, offset: number): Promise<{ rows: WebhookRow[]; total: number }> {
    const [rows, [size]] = await Promise.all([
      this.db.select().from(webhooks).orderBy(asc(webhooks.seq)).limit(limit).offset(offset),
      this.db.select({ n: count() }).from(webhooks),
    ]);
    return { rows: rows.map(hookFromTable), total: Number(size?.n ?? 0) };
  }

  async enabled(): Promise<WebhookRow[]> {
    const rows = await this.db.select().from(webhooks).where(eq(webhooks.enabled, true)).orderBy(asc(webhooks.seq));
    return rows.map(hookFromTable);
  }

  async update(id: string, changes: WebhookChanges): Promise<WebhookRow | undefined> {
    const [row] = await this.db.update(webhooks).set(changesToTable(changes)).where(eq(webhooks.id, id)).returning();
    return row === undefined ? undefined : hookFromTable(row);
  }

  async remove(id: string): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const gone = await tx.delete(webhooks).where(eq(webhooks.id, id)).returning({ id: webhooks.id });
      await tx.delete(webhookDeliveries).where(eq(webhookDeliveries.hookId, id));
      return gone.length > 0;
    });
  }

  async claim(id: string, node: string, now: number, leaseMs: number): Promise<WebhookRow | undefined> {
    const [row] = await this.db
      .update(webhooks)
      .set({ leaseOwner: node, leaseUntil: now + leaseMs })
      .where(
        and(
          eq(webhooks.id, id),
          eq(webhooks.enabled, true),
          or(isNull(webhooks.leaseOwner), eq(webhooks.leaseOwner, node), lte(webhooks.leaseUntil, now)),
        ),
      )
      .returning();
    return row === undefined ? undefined : hookFromTable(row);
  }

  async release(id: string, node: string): Promise<void> {
    await this.db
      .update(webhooks)
      .set({ leaseOwner: null, leaseUntil: null })
      .where(and(eq(webhooks.id, id), eq(webhooks.leaseOwner, node)));
  }

  async recordAttempt(
    id: string,
    node: string,
    attempt: NewDelivery,
    progress: DeliveryProgress | undefined,
  ): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      if (progress !== undefined) {
        const moved = await tx
          .update(webhooks)
          .set(progress)
          .where(and(eq(webhooks.id, id), eq(webhooks.leaseOwner, node)))
          .returning({ id: webhooks.id });
        if (moved.length === 0) return false;
      } else {
        const [exists] = await tx.select({ id: webhooks.id }).from(webhooks).where(eq(webhooks.id, id));
        if (exists === undefined) return false;
      }
      await tx.insert(webhookDeliveries).values(attempt);
      return true;
    });
  }

  async deliveries(id: string, limit: number, offset: number): Promise<{ rows: DeliveryRow[]; total: number }> {
    const [rows, [size]] = await Promise.all([
      this.db
        .select()
        .from(webhookDeliveries)
        .where(eq(webhookDeliveries.hookId, id))
        .orderBy(desc(webhookDeliveries.seq))
        .limit(limit)
        .offset(offset),
      this.db.select({ n: count() }).from(webhookDeliveries).where(eq(webhookDeliveries.hookId, id)),
    ]);
    return { rows: rows.map(deliveryFromTable), total: Number(size?.n ?? 0) };
  }
}

const TICKET_KEEP_MS = 60 * 60 * 1000;

export class PgStreamTicketStore implements StreamTicketPort {
  constructor(private readonly database: OpenPg) {}

  async insert(digest: string, tokenId: string, expiresAt: number, now: number): Promise<void> {
    const { db } = this.database;
    await db.delete(streamTickets).where(sql`${streamTickets.expiresAt} < ${now - TICKET_KEEP_MS}`);
    await db.insert(streamTickets).values({ digest, tokenId, expiresAt });
  }

  async redeem(digest: string, now: number): Promise<string | undefined> {
    const [row] = await this.database.db
      .update(streamTickets)
      .set({ usedAt: now })
      .where(and(eq(streamTickets.digest, digest), isNull(streamTickets.usedAt), gt(streamTickets.expiresAt, now)))
      .returning({ tokenId: streamTickets.tokenId });
    return row?.tokenId;
  }
}
