// Webhook rows between the port's types and the tables, written once for both engines: the
// tables have the same columns in each (sqlite/webhook-schema.ts, pg/webhook-schema.ts), and only the
// lists (JSON text) and the outcome (checked text) need mapping.

import {
  DELIVERY_OUTCOMES,
  type DeliveryOutcome,
  type DeliveryRow,
  type WebhookChanges,
  type WebhookRow,
} from '../port.js';

/** A hook as a table holds it (lists as JSON text). */
export type WebhookTableRow = Omit<WebhookRow, 'eventTypes' | 'vms'> & {
  eventTypes: string;
  vms: string;
  seq?: number;
};
export type DeliveryTableRow = Omit<DeliveryRow, 'outcome'> & { outcome: string };

export function hookFromTable({ seq: _seq, eventTypes, vms, ...rest }: WebhookTableRow): WebhookRow {
  return { ...rest, eventTypes: JSON.parse(eventTypes) as string[], vms: JSON.parse(vms) as string[] };
}

export function hookToTable(row: WebhookRow): Omit<WebhookTableRow, 'seq'> {
  return { ...row, eventTypes: JSON.stringify(row.eventTypes), vms: JSON.stringify(row.vms) };
}

export function changesToTable(changes: WebhookChanges) {
  const { eventTypes, vms, ...rest } = changes;
  return {
    ...rest,
    ...(eventTypes === undefined ? {} : { eventTypes: JSON.stringify(eventTypes) }),
    ...(vms === undefined ? {} : { vms: JSON.stringify(vms) }),
  };
}

export function deliveryFromTable(row: DeliveryTableRow): DeliveryRow {
  const outcome = (DELIVERY_OUTCOMES as readonly string[]).includes(row.outcome)
    ? (row.outcome as DeliveryOutcome)
    : 'failed';
  return { ...row, outcome };
}

/** Whether `node` may take the lease now: nobody holds it, it is `node`'s, or it ran out. */
export const leaseFree = (row: Pick<WebhookRow, 'leaseOwner' | 'leaseUntil'>, node: string, now: number) =>
  row.leaseOwner === null || row.leaseOwner === node || (row.leaseUntil ?? 0) <= now;
