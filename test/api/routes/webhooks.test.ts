// Webhooks over HTTP with real receivers on loopback: the admin routes, and the deliverer sending
// the log's events signed, in order, at least once, backing off, giving up, refusing targets.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebhookDeliverer } from '../../../src/app/webhook-deliverer';
import { targetPolicy } from '../../../src/app/webhook-targets';
import { startTestApp, type TestApp } from '../../helpers/test-app';
import { type Receiver, startReceiver, verifies } from '../../helpers/webhook-receivers';

let t: TestApp;
const receivers: Receiver[] = [];
const deliverers: WebhookDeliverer[] = [];

beforeEach(async () => {
  t = await startTestApp();
});
afterEach(async () => {
  for (const d of deliverers.splice(0)) await d.stop();
  for (const r of receivers.splice(0)) await r.close();
  await t.close();
});

async function receiver(answer?: Parameters<typeof startReceiver>[0]) {
  const r = await startReceiver(answer);
  receivers.push(r);
  return r;
}

/** A deliverer of this test's service, fast: polls every 20 ms, retries after ~40 ms, 300 ms per attempt. */
function deliverer(options: Partial<ConstructorParameters<typeof WebhookDeliverer>[1]> = {}) {
  const d = new WebhookDeliverer(t.services, {
    policy: targetPolicy(),
    baseUrl: () => 'http://doorbell.test',
    pollMs: 20,
    retryBaseMs: 40,
    timeoutMs: 300,
    leaseMs: 2000,
    ...options,
  });
  deliverers.push(d);
  d.start();
  return d;
}

async function hook(body: object) {
  const response = await t.http.post('/v1/webhooks').send(body).expect(201);
  return response.body as { id: string; secret: string; url: string; self: string };
}

const defineVm = (id: string) => t.http.post('/v1/vms').send({ id }).expect(201);

describe('webhook admin routes', () => {
  it('creates a hook with a secret shown once, reads, lists, changes and deletes it', async () => {
    const created = await hook({ url: 'http://127.0.0.1:9/x', eventTypes: ['VmDefined'] });
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(created.url).toBe('http://127.0.0.1:9/x');
    const read = await t.http.get(`/v1/webhooks/${created.id}`).expect(200);
    expect(read.body.secret).toBeUndefined();
    expect(read.body).toMatchObject({ id: created.id, eventTypes: ['VmDefined'], vms: [], enabled: true });
    const list = await t.http.get('/v1/webhooks').expect(200);
    expect(list.body).toMatchObject({ count: 1, next: null, previous: null });
    expect(list.body.results[0].secret).toBeUndefined();
    const patched = await t.http
      .patch(`/v1/webhooks/${created.id}`)
      .send({ enabled: false, vms: ['vm1'] })
      .expect(200);
    expect(patched.body).toMatchObject({ enabled: false, vms: ['vm1'], eventTypes: ['VmDefined'] });
    await t.http.delete(`/v1/webhooks/${created.id}`).expect(200);
    await t.http.get(`/v1/webhooks/${created.id}`).expect(404);
    for (const [method, path] of [
      ['get', '/v1/webhooks/no-such-hook'],
      ['patch', '/v1/webhooks/no-such-hook'],
      ['delete', '/v1/webhooks/no-such-hook'],
      ['post', '/v1/webhooks/no-such-hook/rotate-secret'],
      ['get', '/v1/webhooks/no-such-hook/deliveries'],
      ['post', '/v1/webhooks/no-such-hook/redeliver?after=0'],
      ['post', '/v1/webhooks/no-such-hook/ping'],
    ] as const) {
      const answer = await t.http[method](path).send(method === 'patch' ? { enabled: true } : undefined);
      expect(answer.status, `${method} ${path}`).toBe(404);
      expect(answer.body.code).toBe('WEBHOOK_NOT_FOUND');
    }
  });

  it('refuses at creation a host outside the allowed networks, credentials and other schemes (422)', async () => {
    for (const url of ['http://10.1.2.3/hook', 'http://user:pw@127.0.0.1/hook', 'ftp://127.0.0.1/hook']) {
      const response = await t.http.post('/v1/webhooks').send({ url }).expect(422);
      expect(response.body.code).toBe('WEBHOOK_URL_REFUSED');
      expect(response.body.errors[0].pointer).toBe('/url');
    }
    // localhost is listed by name in the default policy; [::1] is in ::1/128.
    await hook({ url: 'http://localhost:9/x' });
    await hook({ url: 'http://[::1]:9/x' });
  });

  it('needs the admin scope', async () => {
    await t.anonymous.get('/v1/webhooks').expect(401);
    const reader = await t.http
      .post('/v1/tokens')
      .send({ name: 'reader', scopes: ['write'] })
      .expect(201);
    await t.anonymous.get('/v1/webhooks').set('Authorization', `Bearer ${reader.body.token}`).expect(403);
  });
});

describe('webhook delivery', () => {
  it('delivers every event once, in order, signed, the body as GET /v1/events shows it', async () => {
    const r = await receiver();
    const { id, secret } = await hook({ url: r.url });
    deliverer();
    for (const vm of ['a', 'b', 'c', 'd']) await defineVm(vm);
    await r.waitFor((got) => got.length >= 4);
    const log = await t.http.get('/v1/events').expect(200);
    // Four VmDefined events at positions 1-4, delivered as the log shows them; only the links'
    // base differs (the deliverer's is http://doorbell.test, the test's request went to 127.0.0.1).
    expect(r.received.map((x) => JSON.parse(x.body).position)).toEqual([1, 2, 3, 4]);
    const withBase = (e: { url: string }) =>
      JSON.stringify({ ...e, url: e.url.replace(/^http:\/\/[^/]+/, 'http://doorbell.test') });
    expect(r.received.map((x) => x.body)).toEqual(log.body.results.map(withBase));
    expect(r.received.every((x) => verifies(secret, x))).toBe(true);
    expect(r.received.map((x) => x.id)).toEqual([1, 2, 3, 4].map((p) => expect.stringMatching(new RegExp(`_${p}$`))));
    const deliveries = await t.http.get(`/v1/webhooks/${id}/deliveries`).expect(200);
    expect(deliveries.body.count).toBe(4);
    expect(deliveries.body.results[0]).toMatchObject({
      position: 4,
      outcome: 'delivered',
      status: 200,
      response: 'answer 200',
      attempt: 1,
    });
  });

  it('only the types and VMs a hook asks for', async () => {
    const r = await receiver();
    await hook({ url: r.url, vms: ['b', 'c'] });
    deliverer();
    for (const vm of ['a', 'b', 'c', 'd']) await defineVm(vm);
    await t.http.post('/v1/vms/b/smmus').send({ id: 'smmuv3.0', primaryBus: 'pcie.0' }).expect(201);
    await r.waitFor((got) => got.length >= 3);
    await new Promise((resolve) => setTimeout(resolve, 200));
    // VmDefined b (2), VmDefined c (3), SmmuAdded on b (5); a (1) and d (4) are not asked for.
    expect(r.received.map((x) => JSON.parse(x.body).position)).toEqual([2, 3, 5]);
  });

  it('retries a failing receiver with the same webhook-id, backing off, in order', async () => {
    // Fails the first three attempts with 500, then answers 200.
    const r = await receiver((_r, index) => (index < 3 ? 500 : 200));
    const { id, secret } = await hook({ url: r.url });
    deliverer();
    await defineVm('a');
    await defineVm('b');
    await r.waitFor((got) => got.length >= 5);
    const ids = r.received.map((x) => x.id);
    // Event 1 four times (three failures, then 200), then event 2 once.
    expect(ids.slice(0, 4).every((x) => x === ids[0])).toBe(true);
    expect(ids[4]).not.toBe(ids[0]);
    expect(r.received.every((x) => verifies(secret, x))).toBe(true);
    // Back-off: the n-th retry waits at least half of 40·2^(n-1) ms (jitter in [0.5, 1)): 20, 40, 80 ms.
    const gaps = [1, 2, 3].map((i) => r.received[i]!.at - r.received[i - 1]!.at);
    expect(gaps[0]).toBeGreaterThanOrEqual(20 - 5);
    expect(gaps[1]).toBeGreaterThanOrEqual(40 - 5);
    expect(gaps[2]).toBeGreaterThanOrEqual(80 - 5);
    const deliveries = (await t.http.get(`/v1/webhooks/${id}/deliveries`).expect(200)).body.results.reverse();
    expect(deliveries.map((d: { attempt: number; outcome: string }) => `${d.attempt}:${d.outcome}`)).toEqual([
      '1:failed',
      '2:failed',
      '3:failed',
      '4:delivered',
      '1:delivered',
    ]);
  });

  it('disables a hook at once on a 410', async () => {
    const r = await receiver(() => 410);
    const { id } = await hook({ url: r.url });
    deliverer();
    await defineVm('a');
    await defineVm('b');
    await r.waitFor((got) => got.length >= 1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(r.received).toHaveLength(1);
    const read = (await t.http.get(`/v1/webhooks/${id}`).expect(200)).body;
    expect(read.enabled).toBe(false);
    expect(read.disabledReason).toMatch(/410/);
  });

  it('gives up on a hanging receiver after the retry window, each attempt cut at its timeout', async () => {
    const r = await receiver(() => 'hang');
    const { id } = await hook({ url: r.url });
    deliverer({ timeoutMs: 150, retryWindowMs: 400 });
    await defineVm('a');
    await t.http.get(`/v1/webhooks/${id}`).expect(200);
    const until = Date.now() + 5000;
    let read = (await t.http.get(`/v1/webhooks/${id}`)).body;
    while (read.enabled && Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      read = (await t.http.get(`/v1/webhooks/${id}`)).body;
    }
    expect(read.enabled).toBe(false);
    expect(read.disabledReason).toMatch(/retry window/);
    const deliveries = (await t.http.get(`/v1/webhooks/${id}/deliveries`).expect(200)).body.results;
    expect(deliveries.length).toBeGreaterThanOrEqual(2);
    for (const d of deliveries) {
      expect(d).toMatchObject({ outcome: 'failed', status: null, error: 'no answer within 150 ms' });
      // Cut at 150 ms, well before a second.
      expect(d.latencyMs).toBeLessThan(1000);
    }
  });

  it('refuses at delivery a target the policy no longer allows: nothing is sent', async () => {
    const r = await receiver();
    const { id } = await hook({ url: r.url });
    deliverer({ policy: targetPolicy(['10.0.0.0/8']) });
    await defineVm('a');
    const until = Date.now() + 3000;
    let deliveries: { outcome: string; error: string }[] = [];
    while (deliveries.length === 0 && Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      deliveries = (await t.http.get(`/v1/webhooks/${id}/deliveries`)).body.results;
    }
    expect(deliveries[0]).toMatchObject({ outcome: 'refused' });
    expect(deliveries[0]!.error).toMatch(/not allowed/);
    expect(r.received).toHaveLength(0);
  });

  it('rotate-secret: both secrets verify during the grace period; redeliver replays with the same ids', async () => {
    const r = await receiver();
    const first = await hook({ url: r.url });
    deliverer();
    await defineVm('a');
    await r.waitFor((got) => got.length >= 1);
    const rotated = (await t.http.post(`/v1/webhooks/${first.id}/rotate-secret`).expect(200)).body;
    expect(rotated.secret).not.toBe(first.secret);
    expect(rotated.previousSecretExpiresAt).not.toBeNull();
    await t.http.post(`/v1/webhooks/${first.id}/redeliver?after=0`).expect(200);
    await r.waitFor((got) => got.length >= 2);
    const again = r.received[1]!;
    expect(again.id).toBe(r.received[0]!.id);
    expect(verifies(rotated.secret, again)).toBe(true);
    expect(verifies(first.secret, again)).toBe(true);
  });

  it('does not follow a redirect: the attempt fails, nothing is sent to the Location', async () => {
    // A receiver that answers 307 (Location: /elsewhere on itself): followed, it would get a second request.
    const redirecting = await startReceiver(() => 307);
    receivers.push(redirecting);
    const { id } = await hook({ url: redirecting.url });
    deliverer({ retryBaseMs: 60_000 });
    await defineVm('a');
    await redirecting.waitFor((got) => got.length >= 1);
    let deliveries: { outcome: string; status: number }[] = [];
    for (let i = 0; i < 50 && deliveries.length === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      deliveries = (await t.http.get(`/v1/webhooks/${id}/deliveries?limit=1`)).body.results;
    }
    expect(deliveries[0]).toMatchObject({
      outcome: 'failed',
      status: 307,
      error: 'redirect to /elsewhere not followed',
    });
    // One request only: the redirect to /elsewhere (on the same receiver) was not followed.
    expect(redirecting.received).toHaveLength(1);
  });

  it('pages the deliveries as every list (limit, offset, next, previous)', async () => {
    const r = await receiver();
    const { id } = await hook({ url: r.url });
    deliverer();
    for (const vm of ['a', 'b', 'c']) await defineVm(vm);
    await r.waitFor((got) => got.length >= 3);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const first = (await t.http.get(`/v1/webhooks/${id}/deliveries?limit=2`).expect(200)).body;
    // Three attempts, newest first: positions 3 and 2 on the first page, 1 on the next.
    expect(first.count).toBe(3);
    expect(first.results.map((d: { position: number }) => d.position)).toEqual([3, 2]);
    expect(first.previous).toBeNull();
    const next = new URL(first.next);
    const second = (await t.http.get(`${next.pathname}${next.search}`).expect(200)).body;
    expect(second.results.map((d: { position: number }) => d.position)).toEqual([1]);
    expect(second.next).toBeNull();
  });

  it('metrics: deliveries by outcome, and lag behind the log per hook', async () => {
    const r = await receiver((_r, index) => (index === 0 ? 500 : 200));
    const { id } = await hook({ url: r.url });
    // Not started yet: two events wait, the hook's lag is 2 (its cursor 0, the head 2).
    await defineVm('a');
    await defineVm('b');
    const before = (await t.http.get('/metrics').expect(200)).text;
    expect(before).toContain(`doorbell_webhook_lag_events{hook="${id}"} 2`);
    deliverer();
    await r.waitFor((got) => got.length >= 3);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const after = (await t.http.get('/metrics').expect(200)).text;
    // One 500, then events 1 and 2 delivered.
    expect(after).toContain('doorbell_webhook_deliveries_total{outcome="failed"} 1');
    expect(after).toContain('doorbell_webhook_deliveries_total{outcome="delivered"} 2');
    expect(after).toContain(`doorbell_webhook_lag_events{hook="${id}"} 0`);
  });

  it('ping sends a signed WebhookPing and records it', async () => {
    const r = await receiver();
    const { id, secret } = await hook({ url: r.url });
    const attempt = (await t.http.post(`/v1/webhooks/${id}/ping`).expect(200)).body;
    expect(attempt).toMatchObject({
      position: 0,
      eventType: 'WebhookPing',
      outcome: 'delivered',
      status: 200,
      response: 'answer 200',
    });
    expect(JSON.parse(r.received[0]!.body)).toMatchObject({ type: 'WebhookPing', webhook: id });
    expect(verifies(secret, r.received[0]!)).toBe(true);
  });
});
