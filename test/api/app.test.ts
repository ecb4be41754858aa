// The server's own limits, on real sockets with the production settings: a client that sends its
// request at 1 byte/s (headers or body) is cut off with a 408 within the 10 s request timeout
// while others are served, and connections over the cap are closed as they arrive.

import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServices } from '../../src/app/services';
import { buildApp, REQUEST_TIMEOUT_MS } from '../../src/api/app';
import { issueToken } from '../../src/app/tokens';
import { createStores, type Stores } from '../../src/db/index';

let dir: string;
let stores: Stores;
let app: Awaited<ReturnType<typeof buildApp>>;
let port: number;
let token: string;
const MAX_CONNECTIONS = 30;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'doorbell-limits-'));
  stores = await createStores(join(dir, 'doorbell.db'));
  token = (await issueToken(stores, { name: 'slow', scopes: ['write'] })).token;
  app = await buildApp({
    services: createServices(stores),
    maxConnections: MAX_CONNECTIONS,
    rateLimit: false,
    pressure: false,
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  port = (app.server.address() as { port: number }).port;
});

afterAll(async () => {
  await app.close();
  await stores.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Slow {
  socket: Socket;
  received: () => string;
  closedAfterMs: Promise<number>;
}

/** Opens a connection that sends `head` at once, then one byte of `drip` per second. */
function slowClient(head: string, drip: string): Slow {
  const started = Date.now();
  const socket = connect({ host: '127.0.0.1', port });
  let received = '';
  let sent = 0;
  socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
  socket.on('error', () => undefined);
  socket.write(head);
  const timer = setInterval(() => {
    if (!socket.writable) return;
    socket.write(drip[sent % drip.length] as string);
    sent += 1;
  }, 1000);
  const closedAfterMs = new Promise<number>((resolve) =>
    socket.once('close', () => {
      clearInterval(timer);
      resolve(Date.now() - started);
    }),
  );
  return { socket, received: () => received, closedAfterMs };
}

describe('slow clients and the connection cap', () => {
  it(`cuts off 1 byte/s clients within ${REQUEST_TIMEOUT_MS / 1000} s with a 408, serving others meanwhile`, async () => {
    const host = `Host: 127.0.0.1:${port}\r\n`;
    const slow = [
      ...Array.from({ length: 10 }, () => slowClient(`GET /v1/vms HTTP/1.1\r\n${host}`, 'X-Slow: aaaaaaaaaaaa')),
      ...Array.from({ length: 10 }, () =>
        slowClient(
          `POST /v1/vms HTTP/1.1\r\n${host}Authorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: 64\r\n\r\n`,
          '{"id":"slow"}',
        ),
      ),
    ];
    await new Promise((r) => setTimeout(r, 2000));
    // The server still serves everyone else.
    const healthy = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(healthy.status).toBe(200);

    const closed = await Promise.all(slow.map((s) => s.closedAfterMs));
    // The timeout is checked every second: at most 10 s + 1 s, plus slack for a busy machine.
    for (const ms of closed) {
      expect(ms).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 500);
      expect(ms).toBeLessThan(REQUEST_TIMEOUT_MS + 2500);
    }
    for (const s of slow) {
      expect(s.received()).toMatch(/^HTTP\/1\.1 408 /);
      expect(s.received()).toContain('application/problem+json');
      expect(s.received()).toContain('"code":"REQUEST_TIMEOUT"');
    }
  }, 30_000);

  it(`closes connections over the cap of ${MAX_CONNECTIONS} as they arrive`, async () => {
    const held = Array.from({ length: MAX_CONNECTIONS }, () => slowClient('GET /healthz HTTP/1.1\r\n', ' '));
    await new Promise((r) => setTimeout(r, 300));
    const started = Date.now();
    const extra = slowClient('GET /healthz HTTP/1.1\r\n', ' ');
    const closedAfter = await extra.closedAfterMs;
    expect(Date.now() - started).toBeLessThan(2000);
    expect(closedAfter).toBeLessThan(2000);
    expect(extra.received()).toBe('');
    for (const s of held) s.socket.destroy();
    await Promise.all(held.map((s) => s.closedAfterMs));
  });
});
