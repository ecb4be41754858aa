// The write side as a client and an operator see it: optimistic concurrency, idempotent retries,
// metadata, durability across a restart, 64-bit values, and immutability enforced by SQLite.

import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { eventCount, startSecondInstance, startTestApp, type TestApp } from '../helpers/test-app';
import { acceleratedS10, command } from '../helpers/topology';

let t: TestApp;
afterEach(async () => t?.close());

describe('If-Match', () => {
  it('lets exactly one of two writers with the same ETag succeed; the other gets 412 with the current ETag', async () => {
    t = await startTestApp();
    await command(t, 'post', '/v1/vms', { id: 'vm1' });
    const etag = (await t.http.get('/v1/vms/vm1').expect(200)).headers.etag;
    expect(etag).toBe('"1"');

    const send = (id: string, busNr: number) =>
      t.http.post('/v1/vms/vm1/buses').set('If-Match', etag!).send({ id, type: 'pxb-pcie', busNr });
    const responses = await Promise.all([send('pcie.1', 1), send('pcie.2', 2)]);

    expect(responses.map((r) => r.status).sort()).toEqual([201, 412]);
    const loser = responses.find((r) => r.status === 412)!;
    expect(loser.body).toMatchObject({ code: 'PRECONDITION_FAILED', currentEtag: '"2"' });
    expect(loser.headers.etag).toBe('"2"');
    expect(await eventCount(t)).toBe(2);
  });

  it('holds across two service instances on one database file (two connections)', async () => {
    t = await startTestApp();
    const other = await startSecondInstance(t.dbPath);
    try {
      await command(t, 'post', '/v1/vms', { id: 'vm1' });
      // The second instance has the VM cached at version 1 ...
      expect((await other.http.get('/v1/vms/vm1').expect(200)).headers.etag).toBe('"1"');
      await t.http
        .post('/v1/vms/vm1/buses')
        .set('If-Match', '"1"')
        .send({ id: 'pcie.1', type: 'pxb-pcie', busNr: 1 })
        .expect(201);
      // ... and must not accept a write against it.
      const stale = await other.http
        .post('/v1/vms/vm1/buses')
        .set('If-Match', '"1"')
        .send({ id: 'pcie.2', type: 'pxb-pcie', busNr: 2 });
      expect(stale.status).toBe(412);
      // Without If-Match it catches up and sees the bus the first instance added.
      const taken = await other.http.post('/v1/vms/vm1/buses').send({ id: 'pcie.3', type: 'pxb-pcie', busNr: 1 });
      expect(taken.body.code).toBe('BUS_NUMBER_TAKEN');
    } finally {
      await other.close();
    }
  });

  it('accepts "*" and lists of ETags, and rejects garbage with 400', async () => {
    t = await startTestApp();
    await command(t, 'post', '/v1/vms', { id: 'vm1' });
    await t.http
      .post('/v1/vms/vm1/buses')
      .set('If-Match', '"7", "1"')
      .send({ id: 'pcie.1', type: 'pxb-pcie', busNr: 1 })
      .expect(201);
    await t.http
      .post('/v1/vms/vm1/buses')
      .set('If-Match', '*')
      .send({ id: 'pcie.2', type: 'pxb-pcie', busNr: 2 })
      .expect(201);
    const bad = await t.http
      .post('/v1/vms/vm1/buses')
      .set('If-Match', 'three')
      .send({ id: 'pcie.3', type: 'pxb-pcie', busNr: 3 });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('INVALID_IF_MATCH');
    expect(await eventCount(t)).toBe(3);
  });
});

describe('Idempotency-Key', () => {
  it('replays the first response for a retry and appends nothing; another body with the key is 422', async () => {
    t = await startTestApp();
    const first = await t.http.post('/v1/vms').set('Idempotency-Key', 'k-1').send({ id: 'vm1' }).expect(201);
    const retry = await t.http.post('/v1/vms').set('Idempotency-Key', 'k-1').send({ id: 'vm1' }).expect(201);
    expect(retry.text).toBe(first.text);
    expect(retry.headers.etag).toBe(first.headers.etag);
    expect(retry.headers.location).toBe('/v1/vms/vm1');
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(await eventCount(t)).toBe(1);

    const reused = await t.http.post('/v1/vms').set('Idempotency-Key', 'k-1').send({ id: 'vm2' });
    expect(reused.status).toBe(422);
    expect(reused.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(await eventCount(t)).toBe(1);
  });

  it('survives a restart: the retry after a crash still appends nothing', async () => {
    t = await startTestApp();
    await t.http.post('/v1/vms').set('Idempotency-Key', 'boot').send({ id: 'vm1' }).expect(201);
    t = await t.restart();
    const retry = await t.http.post('/v1/vms').set('Idempotency-Key', 'boot').send({ id: 'vm1' }).expect(201);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(await eventCount(t)).toBe(1);
  });
});

describe('event metadata', () => {
  it("keeps the X-Request-ID (echoed), the token's name as actor, X-Actor as onBehalfOf and the reason", async () => {
    t = await startTestApp();
    const response = await t.http
      .post('/v1/vms')
      .set('X-Request-ID', 'lab-42')
      .set('X-Actor', 'inventory')
      .set('X-Reason', 'rack 7 rebuild')
      .send({ id: 'vm1' })
      .expect(201);
    expect(response.headers['x-request-id']).toBe('lab-42');
    const events = await t.http.get('/v1/vms/vm1/events').expect(200);
    expect(events.body.results[0].metadata).toMatchObject({
      requestId: 'lab-42',
      // The actor is who authenticated (the helper's admin token), not what the client claims.
      actor: 'test-admin',
      tokenId: t.adminToken.slice(4, 20),
      onBehalfOf: 'inventory',
      reason: 'rack 7 rebuild',
      occurredAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
  });

  it('makes up a request id when the client sends none', async () => {
    t = await startTestApp();
    const response = await t.http.get('/v1/vms').expect(200);
    expect(response.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('durability', () => {
  it('builds S10 through HTTP, restarts on the same file, and reads every event back unchanged with contiguous positions', async () => {
    t = await startTestApp();
    await command(t, 'post', '/v1/vms', { id: 'other' });
    await acceleratedS10(t, 's10');
    await command(t, 'post', '/v1/vms/other/smmus', { id: 'smmuv3.0', primaryBus: 'pcie.0' });
    const before = (await t.http.get('/v1/events?limit=1000').expect(200)).body;
    const topologyBefore = (await t.http.get('/v1/vms/s10').expect(200)).body;

    t = await t.restart();

    const after = (await t.http.get('/v1/events?limit=1000').expect(200)).body;
    // Links (url, picture) are absolute on the host the request came to, and the restarted app listens on another port.
    const onAnyPort = (body: unknown) => JSON.parse(JSON.stringify(body).replace(/http:\/\/127\.0\.0\.1:\d+/g, 'BASE'));
    expect(onAnyPort(after)).toEqual(onAnyPort(before));
    expect(after.results.map((e: { position: number }) => e.position)).toEqual(
      after.results.map((_: unknown, i: number) => i + 1),
    );
    const streamVersions = after.results
      .filter((e: { streamId: string }) => e.streamId === 's10')
      .map((e: { streamVersion: number }) => e.streamVersion);
    expect(streamVersions).toEqual(streamVersions.map((_: number, i: number) => i + 1));
    expect(onAnyPort((await t.http.get('/v1/vms/s10').expect(200)).body)).toEqual(onAnyPort(topologyBefore));
    expect(topologyBefore.devices[0]).toMatchObject({ id: 'hostdev0', streamId: '0x200', smmu: 'smmuv3.0' });
  });

  it('pages the global log with after, limit and offset', async () => {
    t = await startTestApp();
    await acceleratedS10(t, 's10');
    const page = (await t.http.get('/v1/events?after=3&limit=2&offset=1').expect(200)).body;
    // acceleratedS10 appends 8 events; 5 of them come after position 3.
    expect(page.count).toBe(5);
    expect(page.results.map((e: { position: number }) => e.position)).toEqual([5, 6]);
    // next is a cursor after the page's last position (contract v1.1), absolute.
    expect(page.next).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1\/events\?after=6&limit=2$/);
    expect(page.previous).toMatch(/\/v1\/events\?after=3&limit=2&offset=0$/);
    const stream = (await t.http.get('/v1/vms/s10/events?limit=3&offset=5').expect(200)).body;
    expect(stream.results.map((e: { streamVersion: number }) => e.streamVersion)).toEqual([6, 7, 8]);
    expect(stream.previous).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1\/vms\/s10\/events\?limit=3&offset=2$/);
    expect(stream.next).toBeNull();
  });
});

describe('64-bit values', () => {
  it('keep every bit above 2^53 through a command, the event log, the projection and a restart', async () => {
    t = await startTestApp();
    await command(t, 'post', '/v1/vms', { id: 'vm1' });
    await command(t, 'post', '/v1/vms/vm1/smmus', { id: 'smmuv3.0', primaryBus: 'pcie.0' });
    await command(t, 'post', '/v1/vms/vm1/devices', { id: 'net0', driver: 'virtio-net-pci', bus: 'pcie.0', slot: 2 });
    await command(t, 'post', '/v1/vms/vm1/devices/net0/mappings', {
      stage: 1,
      iova: '0xFFFFFFFFFFFFF000',
      output: '0x20000000001FF000',
      size: '0x1000',
    });
    await command(t, 'post', '/v1/vms/vm1/devices/net0/mappings', {
      stage: 1,
      iova: '0x20000000000000',
      output: '0x20000000001000',
      size: '0x1000',
    });
    await command(t, 'put', '/v1/vms/vm1/devices/net0/msi-vectors/2047', {
      address: '0xFFFFFFFFFFFFFFFF',
      data: '0xFFFFFFFF',
    });

    t = await t.restart();
    const mappings = (await t.http.get('/v1/vms/vm1/devices/net0/mappings').expect(200)).body.results;
    expect(mappings.map((m: { iova: string; output: string }) => [m.iova, m.output])).toEqual([
      ['0x20000000000000', '0x20000000001000'],
      ['0xfffffffffffff000', '0x20000000001ff000'],
    ]);
    const device = (await t.http.get('/v1/vms/vm1/devices/net0').expect(200)).body;
    expect(device.vectors).toEqual([{ vector: 2047, address: '0xffffffffffffffff', data: '0xffffffff' }]);
    const mapped = (await t.http.get('/v1/vms/vm1/events').expect(200)).body.results.filter(
      (e: { type: string }) => e.type === 'IovaMapped',
    );
    expect(mapped[0].data).toMatchObject({ iova: '0xfffffffffffff000', output: '0x20000000001ff000', size: '0x1000' });
  });

  it('are stored as fixed-width hex text, so SQLite sorts them as numbers', async () => {
    t = await startTestApp();
    await command(t, 'post', '/v1/vms', { id: 'vm1', hostItsBase: '0xFFFF0000' });
    const db = new Database(t.dbPath, { readonly: true });
    try {
      const row = db.prepare("select data from events where type = 'VmDefined'").get() as { data: string };
      expect(JSON.parse(row.data)).toMatchObject({ hostItsBase: '0x00000000ffff0000', ramSize: '0x0000000040000000' });
    } finally {
      db.close();
    }
  });
});

describe('immutability, enforced by the database', () => {
  it('refuses to update or delete an event, or to append one out of sequence, even from raw SQL', async () => {
    t = await startTestApp();
    await command(t, 'post', '/v1/vms', { id: 'vm1' });
    const db = new Database(t.dbPath);
    try {
      expect(() => db.prepare("update events set data = '{}' where position = 1").run()).toThrow(/immutable/i);
      expect(() => db.prepare('delete from events where position = 1').run()).toThrow(/immutable/i);
      expect(() =>
        db
          .prepare(
            "insert into events (position, event_id, stream_id, stream_version, type, schema_version, data, metadata, occurred_at) values (5, 'x', 'vm1', 2, 'VmDefined', 1, '{}', '{}', 'now')",
          )
          .run(),
      ).toThrow();
    } finally {
      db.close();
    }
    expect(await eventCount(t)).toBe(1);
  });
});

describe('Location headers', () => {
  it('point at resources a client can GET', async () => {
    t = await startTestApp();
    const locations: string[] = [];
    const post = async (path: string, body: Record<string, unknown>) => {
      const response = await t.http.post(path).send(body).expect(201);
      locations.push(response.headers.location!);
    };
    await post('/v1/vms', { id: 'vm1' });
    await post('/v1/vms/vm1/buses', { id: 'pcie.1', type: 'pxb-pcie', busNr: 1 });
    await post('/v1/vms/vm1/smmus', { id: 'smmuv3.0', primaryBus: 'pcie.1', accel: true });
    await post('/v1/vms/vm1/buses', { id: 'pcie.port1', type: 'pcie-root-port', bus: 'pcie.1', secondaryBusNr: 2 });
    await post('/v1/vms/vm1/devices', {
      id: 'hostdev0',
      driver: 'vfio-pci',
      bus: 'pcie.port1',
      slot: 0,
      host: '0019:06:00.0',
      iommufd: 'iommufd0',
    });
    await post('/v1/vms/vm1/devices/hostdev0/mappings', {
      stage: 1,
      iova: '0xFFFFF000',
      output: '0x08090000',
      size: '0x1000',
    });
    await post('/v1/vms/vm1/msi-resolutions', { device: 'hostdev0', address: '0xfffff040', data: '0x0' });
    await post('/v1/vms/vm1/msi-sweeps', {});
    for (const location of locations) {
      const response = await t.http.get(location);
      expect(response.status, location).toBe(200);
    }
    const mapping = (await t.http.get(locations[5]!).expect(200)).body;
    expect(mapping).toMatchObject({ iova: '0xfffff000', output: '0x8090000', size: '0x1000', stage: 1 });
  });
});
