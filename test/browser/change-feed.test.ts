// docs/change-feed.html in Chromium: the example page follows the change feed with EventSource
// through a stream ticket (it cannot send Authorization), shows events as they are appended, and
// shows the end of the stream when its token is revoked. The page is served from another origin,
// as a user serves it, which the service allows by DOORBELL_CORS_ORIGINS.

import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app';
import { issueToken } from '../../src/app/tokens';
import { createServices } from '../../src/app/services';
import { createStores, type Stores } from '../../src/db/index';
import { launchChromium } from './chromium';

const PAGE = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'change-feed.html'), 'utf8');

let browser: Browser;
let stores: Stores;
let app: Awaited<ReturnType<typeof buildApp>>;
let pages: http.Server;
let base: string;
let origin: string;
let admin: string;

beforeAll(async () => {
  pages = http.createServer((_request, response) => response.writeHead(200, { 'content-type': 'text/html' }).end(PAGE));
  await new Promise<void>((resolve) => pages.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(pages.address() as AddressInfo).port}`;
  stores = await createStores(':memory:');
  admin = (await issueToken(stores, { name: 'admin', scopes: ['admin'] })).token;
  app = await buildApp({ services: createServices(stores), corsOrigins: [origin], eventStream: { heartbeatMs: 500 } });
  base = await app.listen({ port: 0, host: '127.0.0.1' });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await app?.close();
  await stores?.close();
  pages?.closeAllConnections();
  await new Promise((resolve) => pages?.close(resolve));
});

const call = (method: string, path: string, body?: object) =>
  fetch(`${base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${admin}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

describe('docs/change-feed.html', () => {
  it('follows the feed with a ticket and shows the end when its token is revoked', async () => {
    const reader = (await (await call('POST', '/v1/tokens', { name: 'page', scopes: ['read'] })).json()) as {
      id: string;
      token: string;
    };
    expect((await call('POST', '/v1/vms', { id: 'vm1' })).status).toBe(201);
    const page = await browser.newPage();
    await page.goto(`${origin}/change-feed.html#server=${encodeURIComponent(base)}&token=${reader.token}`);
    await page.locator('#status', { hasText: /^following/ }).waitFor();
    // The event before the page opened (it starts after 0) and one appended while it follows.
    expect((await call('POST', '/v1/vms', { id: 'vm2' })).status).toBe(201);
    await expect.poll(() => page.locator('#events li').count()).toBe(2);
    expect(await page.locator('#events li').allTextContents()).toEqual(['VmDefined vm1 v1', 'VmDefined vm2 v1']);
    // The token never left the page in a URL: the fragment was dropped.
    expect(page.url()).not.toContain(reader.token);
    expect((await call('DELETE', `/v1/tokens/${reader.id}`)).status).toBe(200);
    await page.locator('#status.ended').waitFor({ timeout: 5000 });
    expect(await page.locator('#status').textContent()).toContain('TOKEN_REVOKED');
  });
});
