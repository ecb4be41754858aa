// Pictures through HTTP (contract v1.2, "Pictures") and the live route (v1.1): the headers every
// picture carries, SVG that parses, ETag and 304, and the `picture` links of the JSON answers.

import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { itOnSqlite, startTestApp, type TestApp } from '../../helpers/test-app';
import { acceleratedS10 } from '../../helpers/topology';
import { all, expectWellFormedPicture, withAttribute } from '../../pictures/svg-inspect';

let t: TestApp;
beforeAll(async () => {
  // doorbell.lab:8443 is how one test reaches the service: the Host check must let it in.
  t = await startTestApp({ allowedHosts: ['127.0.0.1', 'doorbell.lab:8443'] });
  await acceleratedS10(t, 'vm1', { qemu: { version: '11.0.0' } });
});
afterAll(async () => t.close());

const CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox";

/** GETs a picture and checks what every picture must be; returns the parsed document and the response. */
async function picture(path: string, headers: Record<string, string> = {}) {
  const response = await t.http.get(path).set(headers).buffer(true).expect(200);
  expect(response.headers['content-type']).toMatch(/^image\/svg\+xml/);
  expect(response.headers['content-security-policy']).toBe(CSP);
  expect(response.headers['x-content-type-options']).toBe('nosniff');
  return { doc: expectWellFormedPicture(response.body.toString()), response };
}

const pathOf = (url: string) => {
  const u = new URL(url);
  return u.pathname + u.search;
};

describe('a stored resolution', () => {
  it('links its picture absolutely, on the host the request came to', async () => {
    const created = await t.http
      .post('/v1/vms/vm1/msi-resolutions')
      .set('host', 'doorbell.lab:8443')
      .send({ device: 'hostdev0', vector: 0 })
      .expect(201);
    expect(created.body.picture).toBe(`http://doorbell.lab:8443/v1/msi-resolutions/${created.body.id}.svg`);
    const read = await t.http.get(created.headers.location!).expect(200);
    expect(read.text).toBe(created.text);
    expect(read.headers.link).toMatch(
      /\/v1\/msi-resolutions\/[0-9a-f-]+\.svg>; rel="alternate"; type="image\/svg\+xml"$/,
    );

    const { doc } = await picture(pathOf(created.body.picture));
    // A column per semantics and the hardware path; upstream is the one resolved.
    expect(withAttribute(doc, 'data-column-header').map((h) => h.getAttribute('data-column-header'))).toEqual([
      'pre-fix',
      'address-space',
      'upstream',
      'hardware',
    ]);
  });

  itOnSqlite(
    'serves a record stored before pictures existed unchanged, and draws it',
    'it opens the SQLite file itself',
    async () => {
      // A record as the service stored it before v1.2: no picture, no semanticsSource.
      const fresh = (
        await t.http.post('/v1/vms/vm1/msi-resolutions').send({ device: 'hostdev0', vector: 0 }).expect(201)
      ).body;
      const { id: _id, picture: _picture, semanticsSource: _source, qemu: _qemu, ...rest } = fresh;
      const id = '11111111-2222-4333-8444-555555555555';
      const oldBody = JSON.stringify({ id, ...rest });
      const db = new Database(t.dbPath);
      db.prepare('INSERT INTO msi_resolutions (id, vm_id, sweep_id, body, created_at) VALUES (?, ?, NULL, ?, ?)').run(
        id,
        'vm1',
        oldBody,
        '2026-11-01T00:00:00.000Z',
      );
      db.close();
      const read = await t.http.get(`/v1/msi-resolutions/${id}`).expect(200);
      expect(read.text).toBe(`${oldBody}\n`);
      expect(read.headers.link).toContain(`/v1/msi-resolutions/${id}.svg>`);
      await picture(`/v1/msi-resolutions/${id}.svg`);
    },
  );

  it('is a 404 problem for an unknown record, also as a picture', async () => {
    const missing = await t.http.get('/v1/msi-resolutions/00000000-0000-4000-8000-000000000000.svg').expect(404);
    expect(missing.body.code).toBe('RESOLUTION_NOT_FOUND');
  });
});

describe('the live route', () => {
  it('is the body of a record without id, stores nothing, and answers 304 to its ETag', async () => {
    const record = (
      await t.http.post('/v1/vms/vm1/msi-resolutions').send({ device: 'hostdev0', vector: 0 }).expect(201)
    ).body;
    const before = (await t.http.get('/v1/vms/vm1/msi-resolutions?limit=1').expect(200)).body.count;
    const route = await t.http.get('/v1/vms/vm1/devices/hostdev0/msi-vectors/0/route').expect(200);
    const version = route.body.asOfVersion;
    expect(route.headers.etag).toBe(`"${version}-declared"`);
    expect(route.body).not.toHaveProperty('id');
    expect(route.body.picture).toMatch(
      /^http:\/\/127\.0\.0\.1:\d+\/v1\/vms\/vm1\/devices\/hostdev0\/msi-vectors\/0\/route\.svg$/,
    );
    const { id: _id, picture: _p, ...recorded } = record;
    const { picture: _q, ...live } = route.body;
    expect(live).toEqual(recorded);
    expect((await t.http.get('/v1/vms/vm1/msi-resolutions?limit=1').expect(200)).body.count).toBe(before);

    const again = await t.http
      .get('/v1/vms/vm1/devices/hostdev0/msi-vectors/0/route')
      .set('if-none-match', route.headers.etag!)
      .expect(304);
    expect(again.text).toBe('');

    const prefix = await t.http.get('/v1/vms/vm1/devices/hostdev0/msi-vectors/0/route?semantics=pre-fix').expect(200);
    expect(prefix.headers.etag).toBe(`"${version}-pre-fix"`);
    expect(prefix.body).toMatchObject({ semantics: 'pre-fix', semanticsSource: 'request' });
    expect(prefix.body.picture).toMatch(/\/route\.svg\?semantics=pre-fix$/);
    // S10: pre-fix routes the gIOVA 0xfffff040, guest RAM.
    expect(prefix.body.route).toMatchObject({ installed: true, address: '0xfffff040' });
  });

  it('answers the same bytes again, each asking under its own semantics and host, ending in a newline', async () => {
    const url = '/v1/vms/vm1/devices/hostdev0/msi-vectors/0/route';
    const get = (path: string, host: string) => t.http.get(path).set('host', host).expect(200);
    const first = await get(url, '127.0.0.1:8080');
    const second = await get(url, '127.0.0.1:8080');
    expect(second.text).toBe(first.text);
    expect(first.text.endsWith('}\n')).toBe(true);
    expect(first.headers['content-length']).toBe(String(Buffer.byteLength(first.text)));
    // What the answer depends on besides the VM's state is never taken from an earlier answer.
    expect((await get(`${url}?semantics=pre-fix`, '127.0.0.1:8080')).body.semantics).toBe('pre-fix');
    expect((await get(url, '127.0.0.1:8080')).body.semantics).not.toBe('pre-fix');
    expect(first.body.picture).toMatch(/^http:\/\/127\.0\.0\.1:8080\/v1\/vms\/vm1\//);
    expect((await get(url, '127.0.0.1:9090')).body.picture).toMatch(/^http:\/\/127\.0\.0\.1:9090\/v1\/vms\/vm1\//);
  });

  it('draws the route with the same ETag rules, as of a version too', async () => {
    const { doc, response } = await picture('/v1/vms/vm1/devices/hostdev0/msi-vectors/0/route.svg?semantics=pre-fix');
    expect(response.headers.etag).toMatch(/^"\d+-pre-fix"$/);
    // pre-fix is the resolved column; its route is the gIOVA in RAM, which never injects.
    expect(withAttribute(doc, 'data-column', 'pre-fix').length).toBeGreaterThan(0);
    await t.http
      .get('/v1/vms/vm1/devices/hostdev0/msi-vectors/0/route.svg?semantics=pre-fix')
      .set('if-none-match', response.headers.etag!)
      .expect(304);
    // Version 8 of vm1 is the last event before vector 0 was programmed: a 404 problem there.
    const early = await t.http.get('/v1/vms/vm1/devices/hostdev0/msi-vectors/0/route.svg?asOf=8').expect(404);
    expect(early.body.code).toBe('VECTOR_NOT_FOUND');
    const { response: asOf } = await picture('/v1/vms/vm1/devices/hostdev0/msi-vectors/0/route.svg?asOf=9');
    expect(asOf.headers.etag).toBe('"9-declared"');
  });
});

describe('the topology', () => {
  it('links and serves the picture of the VM, as of a version too', async () => {
    const vm = (await t.http.get('/v1/vms/vm1?asOf=4').expect(200)).body;
    expect(vm.picture).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1\/vms\/vm1\/topology\.svg\?asOf=4$/);
    const { doc, response } = await picture(pathOf(vm.picture));
    expect(response.headers.etag).toBe('"4"');
    // At version 4 (VmDefined, QemuBuildDeclared, pcie.1, smmuv3.0) there is no device yet.
    expect(doc.documentElement!.textContent).toContain('smmuv3.0');
    expect(doc.documentElement!.textContent).not.toContain('hostdev0');
    const { doc: now } = await picture('/v1/vms/vm1/topology.svg');
    expect(now.documentElement!.textContent).toContain('hostdev0');
    expect(all(now, 'title')[0]!.textContent).toContain('vm1');
  });
});

describe('DOORBELL_PUBLIC_URL', () => {
  it('is the base of every absolute link when set', async () => {
    const behind = await startTestApp({ publicUrl: 'https://doorbell.example/api' });
    try {
      await acceleratedS10(behind, 'vm1');
      const vm = (await behind.http.get('/v1/vms/vm1').expect(200)).body;
      expect(vm.picture).toBe('https://doorbell.example/api/v1/vms/vm1/topology.svg');
      const r = (await behind.http.post('/v1/vms/vm1/msi-resolutions').send({ device: 'hostdev0', vector: 0 })).body;
      expect(r.picture).toBe(`https://doorbell.example/api/v1/msi-resolutions/${r.id}.svg`);
    } finally {
      await behind.close();
    }
  });
});
