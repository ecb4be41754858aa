// Resolutions and sweeps as records a lab engineer can cite later: stored, immutable, read back
// byte for byte, and as of an earlier version when asked.

import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventCount, startTestApp, type TestApp } from '../helpers/test-app';
import { acceleratedS10, command, emulatedBaseline } from '../helpers/topology';
import { resolveMsi } from '../helpers/resolve';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
  // Interleave two VMs so that global positions and stream versions differ.
  await command(t, 'post', '/v1/vms', { id: 'noise' });
  await acceleratedS10(t, 'vm1');
  await command(t, 'post', '/v1/vms/noise/smmus', { id: 'smmuv3.0', primaryBus: 'pcie.0' });
  // Version 9 of vm1: the guest switches the device to bypass; version 10: rewrites vector 0.
  await command(t, 'put', '/v1/vms/vm1/devices/hostdev0/ste', { config: 'abort' });
  await command(t, 'put', '/v1/vms/vm1/devices/hostdev0/msi-vectors/0', { address: '0xFFFFE040', data: '0x5' });
});
afterAll(async () => t.close());

describe('resolution records', () => {
  it('reads a resolution back by id byte for byte, after a restart too', async () => {
    const created = await t.http
      .post('/v1/vms/vm1/msi-resolutions')
      .send({ device: 'hostdev0', vector: 0 })
      .expect(201);
    const read = await t.http.get(created.headers.location!).expect(200);
    expect(read.text).toBe(created.text);
    expect(read.headers['content-type']).toMatch(/^application\/json/);
    t = await t.restart();
    expect((await t.http.get(created.headers.location!).expect(200)).text).toBe(created.text);
  });

  it('lists the VM resolutions with each record unchanged', async () => {
    const first = await t.http
      .post('/v1/vms/vm1/msi-resolutions')
      .send({ device: 'hostdev0', address: '0x8090040', data: '0x1', semantics: 'pre-fix' })
      .expect(201);
    const list = await t.http.get('/v1/vms/vm1/msi-resolutions?limit=1000').expect(200);
    expect(list.body.count).toBe(list.body.results.length);
    const listed = list.body.results.find((r: { id: string }) => r.id === first.body.id);
    // Every response ends with a newline; the record is the JSON before it. A list item is the
    // record as it was returned, after its url and display.
    expect(first.text.endsWith('}\n')).toBe(true);
    const { url, display, ...record } = listed;
    expect(url).toMatch(new RegExp(`/v1/msi-resolutions/${first.body.id}$`));
    expect(display).toBe('resolution of hostdev0 in vm1 (pre-fix)');
    expect(`${JSON.stringify(record)}\n`).toBe(first.text);
    expect(list.text).toContain(`"display":"${display}",${first.text.trimEnd().slice(1)}`);
  });

  it('resolves asOf an earlier version with the facts of that version, citing only events up to it', async () => {
    const events = (await t.http.get('/v1/vms/vm1/events').expect(200)).body.results as {
      position: number;
      streamVersion: number;
    }[];
    const lastPositionAt8 = events.find((e) => e.streamVersion === 8)!.position;

    const then = await resolveMsi(t, 'vm1', { device: 'hostdev0', vector: 0, asOf: 8 });
    expect(then.asOfVersion).toBe(8);
    expect(then.input).toEqual({ address: '0xfffff040', data: '0x0' });
    expect(then.hardwarePath!.delivered).toBe(true);
    const cited = then.trail.flatMap((s) => s.events.map((e) => e.position));
    expect(Math.max(...cited)).toBeLessThanOrEqual(lastPositionAt8);
    expect(cited).toContain(lastPositionAt8);

    const now = await resolveMsi(t, 'vm1', { device: 'hostdev0', vector: 0 });
    expect(now.asOfVersion).toBe(10);
    expect(now.input).toEqual({ address: '0xffffe040', data: '0x5' });
    expect(now.hardwarePath!.delivered).toBe(false);
  });

  it('answers 404 for an unknown device, vector, VM, version or record', async () => {
    const cases: [string, Record<string, unknown>, string][] = [
      ['/v1/vms/vm1/msi-resolutions', { device: 'nope', vector: 0 }, 'DEVICE_NOT_FOUND'],
      ['/v1/vms/vm1/msi-resolutions', { device: 'hostdev0', vector: 7 }, 'VECTOR_NOT_FOUND'],
      ['/v1/vms/nope/msi-resolutions', { device: 'hostdev0', vector: 0 }, 'VM_NOT_FOUND'],
      ['/v1/vms/vm1/msi-resolutions', { device: 'hostdev0', vector: 0, asOf: 11 }, 'VERSION_NOT_FOUND'],
      ['/v1/vms/vm1/msi-sweeps', { asOf: 99 }, 'VERSION_NOT_FOUND'],
    ];
    for (const [path, body, code] of cases) {
      const response = await t.http.post(path).send(body);
      expect(response.status, code).toBe(404);
      expect(response.body.code).toBe(code);
    }
    const missing = await t.http.get('/v1/msi-resolutions/00000000-0000-4000-8000-000000000000').expect(404);
    expect(missing.body.code).toBe('RESOLUTION_NOT_FOUND');
    expect((await t.http.get('/v1/msi-resolutions/not-a-uuid')).status).toBe(400);
  });

  it('refuses a request that names the MSI twice, or not at all, or half', async () => {
    for (const body of [
      { device: 'hostdev0' },
      { device: 'hostdev0', vector: 0, address: '0x8090040', data: '0x0' },
      { device: 'hostdev0', address: '0x8090040' },
      { device: 'hostdev0', vector: 0, semantics: 'v4' },
    ]) {
      const response = await t.http.post('/v1/vms/vm1/msi-resolutions').send(body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.headers['content-type']).toMatch(/problem\+json/);
      expect(response.body.code).toBe('VALIDATION_FAILED');
    }
  });

  it('appends no event, and replays a retry under the same Idempotency-Key', async () => {
    const before = await eventCount(t);
    const first = await t.http
      .post('/v1/vms/vm1/msi-resolutions')
      .set('Idempotency-Key', 'res-1')
      .send({ device: 'hostdev0', vector: 0 })
      .expect(201);
    const retry = await t.http
      .post('/v1/vms/vm1/msi-resolutions')
      .set('Idempotency-Key', 'res-1')
      .send({ device: 'hostdev0', vector: 0 })
      .expect(201);
    expect(retry.text).toBe(first.text);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(await eventCount(t)).toBe(before);
  });

  it('keeps records immutable in the database', async () => {
    await resolveMsi(t, 'vm1', { device: 'hostdev0', vector: 0 });
    const db = new Database(t.dbPath);
    try {
      expect(() => db.prepare("update msi_resolutions set body = '{}'").run()).toThrow(/immutable/i);
      expect(() => db.prepare('delete from msi_resolutions').run()).toThrow(/immutable/i);
    } finally {
      db.close();
    }
  });
});

describe('sweeps', () => {
  it('resolves every programmed vector and counts what is misrouted, missing, lost and blocked', async () => {
    await emulatedBaseline(t, 'lab');
    await command(t, 'post', '/v1/vms/lab/devices/net0/mappings', {
      stage: 1,
      iova: '0xFFFFF000',
      output: '0x08090000',
      size: '0x1000',
    });
    await command(t, 'put', '/v1/vms/lab/devices/net0/msi-vectors/0', { address: '0xFFFFF040', data: '0x0' }); // routed
    await command(t, 'put', '/v1/vms/lab/devices/net0/msi-vectors/1', { address: '0xFFFFE040', data: '0x1' }); // F_TRANSLATION
    await command(t, 'post', '/v1/vms/lab/buses', { id: 'pcie.1', type: 'pxb-pcie', busNr: 1 });
    await command(t, 'post', '/v1/vms/lab/smmus', { id: 'smmuv3.1', primaryBus: 'pcie.1', accel: true });
    await command(t, 'post', '/v1/vms/lab/buses', {
      id: 'pcie.port1',
      type: 'pcie-root-port',
      bus: 'pcie.1',
      secondaryBusNr: 2,
    });
    await command(t, 'post', '/v1/vms/lab/devices', {
      id: 'hostdev0',
      driver: 'vfio-pci',
      bus: 'pcie.port1',
      slot: 0,
      host: '0019:06:00.0',
      iommufd: 'iommufd0',
    });
    await command(t, 'put', '/v1/vms/lab/devices/hostdev0/msi-vectors/0', { address: '0xFFFFF040', data: '0x0' }); // RAM: misrouted and lost before the fix
    await command(t, 'post', '/v1/vms/lab/devices', {
      id: 'hostdev1',
      driver: 'vfio-pci',
      bus: 'pcie.port1',
      slot: 0,
      function: 1,
      host: '0019:07:00.0',
      iommufd: 'iommufd0',
    });
    await command(t, 'put', '/v1/vms/lab/devices/hostdev1/ste', { config: 'abort' });
    await command(t, 'put', '/v1/vms/lab/devices/hostdev1/msi-vectors/3', { address: '0x08090040', data: '0x2' }); // hw path blocked

    // No vector here has a route upstream and none before the fix: missingBeforeFix (§9.10) is 0.
    const upstream = await t.http.post('/v1/vms/lab/msi-sweeps').send({}).expect(201);
    expect(upstream.body.counts).toEqual({
      vectors: 4,
      misroutedBeforeFix: 1,
      missingBeforeFix: 0,
      routesMissing: 1,
      interruptsLost: 1,
      hwPathBlocked: 1,
    });
    expect(upstream.body.results.map((r: { device: string; vector: number }) => `${r.device}/${r.vector}`)).toEqual([
      'hostdev0/0',
      'hostdev1/3',
      'net0/0',
      'net0/1',
    ]);

    const preFix = await t.http.post('/v1/vms/lab/msi-sweeps').send({ semantics: 'pre-fix' }).expect(201);
    expect(preFix.body.counts).toEqual({
      vectors: 4,
      misroutedBeforeFix: 1,
      missingBeforeFix: 0,
      routesMissing: 1,
      interruptsLost: 2,
      hwPathBlocked: 1,
    });

    expect((await t.http.get(upstream.headers.location!).expect(200)).text).toBe(upstream.text);
    const one = upstream.body.results[0];
    expect((await t.http.get(`/v1/msi-resolutions/${one.id}`).expect(200)).text).toBe(`${JSON.stringify(one)}\n`);
  });

  it('asOf an earlier version sweeps only what was programmed then', async () => {
    // lab: VmDefined, SmmuAdded, guest state, net0, its mapping, then vector 0 (v6) and vector 1 (v7).
    const sweep = await t.http.post('/v1/vms/lab/msi-sweeps').send({ asOf: 6 }).expect(201);
    expect(sweep.body.asOfVersion).toBe(6);
    expect(sweep.body.results.map((r: { device: string; vector: number }) => `${r.device}/${r.vector}`)).toEqual([
      'net0/0',
    ]);
    expect((await t.http.post('/v1/vms/lab/msi-sweeps').send({ asOf: 7 }).expect(201)).body.counts.vectors).toBe(2);
  });
});

describe('sweep pages', () => {
  it('answers at most `limit` results, pages the rest with next, and reads each page back as answered', async () => {
    await acceleratedS10(t, 'paged');
    for (const n of [1, 2, 3, 4]) {
      await command(t, 'put', `/v1/vms/paged/devices/hostdev0/msi-vectors/${n}`, {
        address: '0xFFFFF040',
        data: `0x${n}`,
      });
    }
    const first = await t.http.post('/v1/vms/paged/msi-sweeps?limit=2').send({}).expect(201);
    // Five vectors counted, two answered; the Location reads this very page back.
    expect(first.body.counts.vectors).toBe(5);
    expect(first.body).toMatchObject({
      count: 5,
      previous: null,
      next: `/v1/msi-sweeps/${first.body.id}?limit=2&offset=2`,
    });
    expect(first.body.results.map((r: { vector: number }) => r.vector)).toEqual([0, 1]);
    expect(first.headers.location).toBe(`/v1/msi-sweeps/${first.body.id}?limit=2`);
    expect((await t.http.get(first.headers.location!).expect(200)).text).toBe(first.text);

    const second = (await t.http.get(first.body.next).expect(200)).body;
    expect(second.results.map((r: { vector: number }) => r.vector)).toEqual([2, 3]);
    const last = (await t.http.get(second.next).expect(200)).body;
    expect(last).toMatchObject({ next: null, previous: `/v1/msi-sweeps/${first.body.id}?limit=2&offset=2` });
    expect(last.results.map((r: { vector: number }) => r.vector)).toEqual([4]);
    // Every result is the resolution record it names, byte for byte.
    const record = (await t.http.get(`/v1/msi-resolutions/${last.results[0].id}`).expect(200)).text;
    expect(record).toBe(`${JSON.stringify(last.results[0])}\n`);
  });

  it('takes limit and offset in the query as every list does, and refuses them in the body (contract v1.3)', async () => {
    // The VM "paged" has vectors 0 to 4: offset 3 with limit 1 is vector 3 alone.
    const page = await t.http.post('/v1/vms/paged/msi-sweeps?limit=1&offset=3').send({}).expect(201);
    expect(page.body.results.map((r: { vector: number }) => r.vector)).toEqual([3]);
    expect(page.body).toMatchObject({
      count: 5,
      next: `/v1/msi-sweeps/${page.body.id}?limit=1&offset=4`,
      previous: `/v1/msi-sweeps/${page.body.id}?limit=1&offset=2`,
    });
    expect(page.headers.location).toBe(`/v1/msi-sweeps/${page.body.id}?limit=1&offset=3`);
    expect((await t.http.get(page.headers.location!).expect(200)).text).toBe(page.text);
    // An unknown query parameter is a 400 naming it, as on every list; limit in the body too.
    const unknown = await t.http.post('/v1/vms/paged/msi-sweeps?lmit=1').send({}).expect(400);
    expect(unknown.body.errors).toEqual([
      { pointer: '/query/lmit', in: 'query', detail: 'lmit is not a known query parameter' },
    ]);
    const inBody = await t.http.post('/v1/vms/paged/msi-sweeps').send({ limit: 2 }).expect(400);
    expect(inBody.body.errors[0].pointer).toBe('/limit');
    expect((await t.http.post('/v1/vms/paged/msi-sweeps?limit=1001').send({}).expect(400)).body.errors[0].pointer).toBe(
      '/query/limit',
    );
  });

  it("answers the lists' default page, 50 results, when the query names none (a 2,048-vector sweep is not 4.7 MB)", async () => {
    await acceleratedS10(t, 'wide');
    // Vector 0 is programmed by the topology; 60 more make 61, past one default page.
    for (let n = 1; n <= 60; n++)
      await command(t, 'put', `/v1/vms/wide/devices/hostdev0/msi-vectors/${n}`, {
        address: '0xFFFFF040',
        data: `0x${n.toString(16)}`,
      });
    const sweep = await t.http.post('/v1/vms/wide/msi-sweeps').send({}).expect(201);
    expect(sweep.body.counts.vectors).toBe(61);
    expect(sweep.body.count).toBe(61);
    expect(sweep.body.results).toHaveLength(50);
    expect(sweep.body.results.at(-1).vector).toBe(49);
    expect(sweep.body.next).toBe(`/v1/msi-sweeps/${sweep.body.id}?limit=50&offset=50`);
    // The plain Location reads this very first page back.
    expect(sweep.headers.location).toBe(`/v1/msi-sweeps/${sweep.body.id}`);
    expect((await t.http.get(sweep.headers.location!).expect(200)).text).toBe(sweep.text);
    const rest = (await t.http.get(sweep.body.next).expect(200)).body;
    expect(rest.results.map((r: { vector: number }) => r.vector)).toEqual(Array.from({ length: 11 }, (_, i) => 50 + i));
  });
});

describe('query parameters on the writes', () => {
  it.each([
    ['post', '/v1/vms?dryRun=true', { id: 'never' }],
    ['post', '/v1/fleet-sweeps?limit=20', {}],
    ['post', '/v1/vms/vm1/msi-resolutions?semantics=pre-fix', { device: 'hostdev0', vector: 0 }],
    ['put', '/v1/vms/vm1/devices/hostdev0/msi-vectors/7?asOf=1', { address: '0xFFFFF040', data: '0x7' }],
  ] as const)(
    '%s %s: a query parameter the write does not take is a 400 naming it, and nothing is written',
    async (method, url, body) => {
      const before = await eventCount(t);
      const name = url.split('?')[1]!.split('=')[0]!;
      const response = await t.http[method](url).send(body).expect(400);
      expect(response.body.errors).toEqual([
        { pointer: `/query/${name}`, in: 'query', detail: `${name} is not a known query parameter` },
      ]);
      expect(await eventCount(t)).toBe(before);
    },
  );
});
