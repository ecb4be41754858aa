// doorbell webhooks list|add|test|deliveries: manage webhooks through the API (an admin token).

import type { Client } from './client.js';
import { EXIT } from './exit-codes.js';
import { printJson, printTable } from './output.js';

interface Hook {
  id: string;
  url: string;
  eventTypes: string[];
  vms: string[];
  enabled: boolean;
  cursor: number;
  failures: number;
  disabledReason: string | null;
  secret?: string;
}

interface Delivery {
  position: number;
  eventType: string;
  webhookId: string;
  attempt: number;
  outcome: string;
  status: number | null;
  error: string | null;
  attemptedAt: string;
  latencyMs: number;
}

const all = (list: string[]) => (list.length === 0 ? 'all' : list.join(','));

export async function listWebhooks(client: Client, options: { json: boolean }): Promise<number> {
  const page = await client.json<{ results: Hook[] }>('GET', '/v1/webhooks?limit=1000');
  if (options.json) printJson(page.results);
  else
    printTable(
      ['id', 'url', 'events', 'vms', 'enabled', 'cursor', 'failures'],
      page.results.map((h) => [
        h.id,
        h.url,
        all(h.eventTypes),
        all(h.vms),
        h.enabled ? 'yes' : `no${h.disabledReason === null ? '' : `: ${h.disabledReason}`}`,
        h.cursor,
        h.failures,
      ]),
    );
  return EXIT.ok;
}

export async function addWebhook(
  client: Client,
  url: string,
  options: { type?: string[]; vm?: string[]; disabled?: boolean; json: boolean },
): Promise<number> {
  const hook = await client.json<Hook>('POST', '/v1/webhooks', {
    url,
    ...(options.type === undefined ? {} : { eventTypes: options.type }),
    ...(options.vm === undefined ? {} : { vms: options.vm }),
    ...(options.disabled === true ? { enabled: false } : {}),
  });
  if (options.json) printJson(hook);
  else
    process.stdout.write(
      `webhook ${hook.id} -> ${hook.url}\nsecret (shown once; give it to the receiver): ${hook.secret}\n`,
    );
  return EXIT.ok;
}

/** Sends a ping; exit 1 when the receiver did not answer 2xx. */
export async function testWebhook(client: Client, id: string, options: { json: boolean }): Promise<number> {
  const attempt = await client.json<Delivery>('POST', `/v1/webhooks/${encodeURIComponent(id)}/ping`);
  if (options.json) printJson(attempt);
  else
    process.stdout.write(
      `ping ${attempt.webhookId}: ${attempt.outcome}${attempt.status === null ? '' : ` (${attempt.status})`} in ${attempt.latencyMs} ms${attempt.error === null ? '' : ` - ${attempt.error}`}\n`,
    );
  return attempt.outcome === 'delivered' ? EXIT.ok : EXIT.refused;
}

export async function listDeliveries(
  client: Client,
  id: string,
  options: { limit: number; json: boolean },
): Promise<number> {
  const page = await client.json<{ count: number; results: Delivery[] }>(
    'GET',
    `/v1/webhooks/${encodeURIComponent(id)}/deliveries?limit=${options.limit}`,
  );
  if (options.json) printJson(page.results);
  else
    printTable(
      ['at', 'position', 'type', 'attempt', 'outcome', 'status', 'ms', 'error'],
      page.results.map((d) => [
        d.attemptedAt,
        d.position,
        d.eventType,
        d.attempt,
        d.outcome,
        d.status ?? '',
        d.latencyMs,
        d.error ?? '',
      ]),
    );
  return EXIT.ok;
}
