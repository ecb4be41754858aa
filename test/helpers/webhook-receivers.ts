// Webhook receivers for tests: real HTTP servers on loopback that record what they were sent and
// answer as a test says (2xx, an error for the first attempts, 410, or never).

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface Received {
  id: string;
  timestamp: string;
  signature: string;
  body: string;
  /** When it arrived (ms since epoch). */
  at: number;
}

export interface Receiver {
  url: string;
  received: Received[];
  /** Resolves once `predicate` holds for what arrived; rejects after `timeoutMs`. */
  waitFor(predicate: (received: Received[]) => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * `answer` gets each request (and how many came before it) and says the status, or 'hang'; the
 * answer is sent `delayMs` after the request arrived.
 */
export async function startReceiver(
  answer: (r: Received, index: number) => number | 'hang' = () => 200,
  delayMs = 0,
): Promise<Receiver> {
  const received: Received[] = [];
  const hanging = new Set<http.ServerResponse>();
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      const r: Received = {
        id: String(request.headers['webhook-id']),
        timestamp: String(request.headers['webhook-timestamp']),
        signature: String(request.headers['webhook-signature']),
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
      };
      const status = answer(r, received.length);
      received.push(r);
      if (status === 'hang') {
        hanging.add(response);
        return;
      }
      // A 3xx points at /elsewhere on the same server (a client that follows it would come back).
      const location = status >= 300 && status < 400 ? { location: '/elsewhere' } : {};
      const send = () =>
        response.writeHead(status, { 'content-type': 'text/plain', ...location }).end(`answer ${status}`);
      if (delayMs > 0) setTimeout(send, delayMs);
      else send();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    async waitFor(predicate, timeoutMs = 10_000) {
      const until = Date.now() + timeoutMs;
      while (!predicate(received)) {
        if (Date.now() > until)
          throw new Error(`receiver: condition not met in ${timeoutMs} ms (${received.length} received)`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const response of hanging) response.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Whether a delivery's signature verifies with `secret`, as a receiver using the reference library checks it. */
export function verifies(secret: string, r: Received): boolean {
  try {
    new Webhook(secret).verify(r.body, {
      'webhook-id': r.id,
      'webhook-timestamp': r.timestamp,
      'webhook-signature': r.signature,
    });
    return true;
  } catch {
    return false;
  }
}
