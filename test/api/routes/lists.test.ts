// The NetBox-style lists of contract v1.1: each collection with its filters, brief, ordering,
// url and display, absolute links and paging, and 400s naming an unknown parameter or a bad value.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../helpers/test-app';
import { acceleratedS10, command, emulatedBaseline } from '../../helpers/topology';

let t: TestApp;
const ABSOLUTE = /^http:\/\/127\.0\.0\.1:\d+\//;

type Page = { count: number; next: string | null; previous: string | null; results: Record<string, unknown>[] };

async function list(path: string): Promise<Page> {
  const response = await t.http.get(path);
  expect(response.status, `${path} -> ${JSON.stringify(response.body)}`).toBe(200);
  return response.body as Page;
}

const ids = (p: Page) => p.results.map((r) => r.id);

/** Follows a link as a client would: the absolute URL, requested on the test server. */
const follow = (link: string) => list(link.replace(ABSOLUTE, '/'));

async function expect400(path: string, pointer: string) {
  const response = await t.http.get(path).expect(400);
  expect(response.body.code).toBe('VALIDATION_FAILED');
  expect(response.body.errors.map((e: { pointer: string }) => e.pointer)).toContain(pointer);
  expect(response.body.detail).toContain(pointer.split('/')[2]);
}

beforeAll(async () => {
  t = await startTestApp();
  await acceleratedS10(t, 's10');
  await emulatedBaseline(t, 'emu');
  // More devices on emu: two more virtio devices and an e1000e, for filters and paging.
  await command(t, 'post', '/v1/vms/emu/devices', { id: 'blk0', driver: 'virtio-blk-pci', bus: 'pcie.0', slot: 3 });
  await command(t, 'post', '/v1/vms/emu/devices', { id: 'net1', driver: 'virtio-net-pci', bus: 'pcie.0', slot: 4 });
  await command(t, 'post', '/v1/vms/emu/devices', { id: 'e0', driver: 'e1000e', bus: 'pcie.0', slot: 5 });
  for (const [n, address] of [
    [0, '0x8090040'],
    [1, '0x8090040'],
    [2, '0x8090000'],
  ] as const)
    await command(t, 'put', `/v1/vms/emu/devices/net0/msi-vectors/${n}`, { address, data: `0x${n}` });
});

afterAll(async () => {
  await t.close();
});

describe('collections of a VM', () => {
  it('lists buses with url and display, filter type, ordering both ways', async () => {
    const all = await list('/v1/vms/s10/buses');
    expect(all.count).toBe(3);
    expect(ids(all)).toEqual(['pcie.0', 'pcie.1', 'pcie.port1']);
    for (const bus of all.results) {
      expect(bus.url).toMatch(ABSOLUTE);
      expect((await follow(bus.url as string)) as unknown).toMatchObject({ id: bus.id });
      expect(typeof bus.display).toBe('string');
    }
    expect(ids(await list('/v1/vms/s10/buses?type=pcie-root-port'))).toEqual(['pcie.port1']);
    expect(ids(await list('/v1/vms/s10/buses?ordering=-busNumber'))).toEqual(['pcie.port1', 'pcie.1', 'pcie.0']);
    expect(ids(await list('/v1/vms/s10/buses?ordering=busNumber'))).toEqual(['pcie.0', 'pcie.1', 'pcie.port1']);
  });

  it('lists SMMUs, filter accel', async () => {
    expect(ids(await list('/v1/vms/s10/smmus'))).toEqual(['smmuv3.0']);
    expect(ids(await list('/v1/vms/s10/smmus?accel=false'))).toEqual([]);
    expect(ids(await list('/v1/vms/emu/smmus?accel=false'))).toEqual(['smmuv3.0']);
  });

  it('lists devices with the filters driver, bus, smmu, accel', async () => {
    expect(ids(await list('/v1/vms/emu/devices'))).toEqual(['blk0', 'e0', 'net0', 'net1']);
    expect(ids(await list('/v1/vms/emu/devices?driver=virtio-net-pci'))).toEqual(['net0', 'net1']);
    expect(ids(await list('/v1/vms/emu/devices?bus=pcie.0&ordering=-slot'))).toEqual(['e0', 'net1', 'blk0', 'net0']);
    expect(ids(await list('/v1/vms/emu/devices?smmu=smmuv3.0&driver=e1000e'))).toEqual(['e0']);
    expect(ids(await list('/v1/vms/emu/devices?accel=true'))).toEqual([]);
    expect(ids(await list('/v1/vms/s10/devices?accel=true'))).toEqual(['hostdev0']);
    const [device] = (await list('/v1/vms/s10/devices')).results;
    expect(device).toMatchObject({
      id: 'hostdev0',
      streamId: '0x200',
      display: 'hostdev0 (vfio-pci, stream id 0x200)',
    });
  });

  it('lists mappings (filter stage) and MSI vectors, each readable at its url', async () => {
    const mappings = await list('/v1/vms/s10/devices/hostdev0/mappings?ordering=iova');
    expect(mappings.results.map((m) => m.iova)).toEqual(['0x8000000', '0xfffff000']);
    expect(ids(mappings)).toEqual(['1/0x8000000', '1/0xfffff000']);
    expect(await follow(mappings.results[1]!.url as string)).toMatchObject({ iova: '0xfffff000', output: '0x8090000' });
    expect((await list('/v1/vms/s10/devices/hostdev0/mappings?stage=2')).count).toBe(0);
    const vectors = await list('/v1/vms/emu/devices/net0/msi-vectors?ordering=-vector');
    expect(ids(vectors)).toEqual([2, 1, 0]);
    expect(await follow(vectors.results[0]!.url as string)).toMatchObject({ vector: 2, address: '0x8090000' });
    expect((await list('/v1/vms/emu/devices/net0/msi-vectors?ordering=address')).results[0]).toMatchObject({
      vector: 2,
    });
  });

  it('answers brief items: id, url and display only', async () => {
    const brief = await list('/v1/vms/emu/devices?brief=true&limit=2');
    expect(brief.results).toHaveLength(2);
    for (const item of brief.results) expect(Object.keys(item).sort()).toEqual(['display', 'id', 'url']);
    const vectors = await list('/v1/vms/emu/devices/net0/msi-vectors?brief=true');
    expect(vectors.results[0]).toEqual({
      id: 0,
      url: expect.stringMatching(/\/v1\/vms\/emu\/devices\/net0\/msi-vectors\/0$/),
      display: expect.any(String),
    });
  });

  it('pages with absolute next and previous links that keep the filters and options', async () => {
    const first = await list('/v1/vms/emu/devices?driver=virtio-net-pci&ordering=-id&limit=1');
    expect(first.count).toBe(2);
    expect(ids(first)).toEqual(['net1']);
    expect(first.previous).toBeNull();
    expect(first.next).toMatch(ABSOLUTE);
    expect(first.next).toContain('driver=virtio-net-pci');
    expect(first.next).toContain('ordering=-id');
    // Only what the client gave, not the defaults the schema fills in.
    expect(first.next).not.toContain('brief');
    const second = await follow(first.next!);
    expect(ids(second)).toEqual(['net0']);
    expect(second.next).toBeNull();
    expect(ids(await follow(second.previous!))).toEqual(['net1']);
  });

  it('refuses an unknown parameter or a bad filter value with a 400 naming it', async () => {
    await expect400('/v1/vms/emu/devices?colour=red', '/query/colour');
    await expect400('/v1/vms/emu/devices?accel=maybe', '/query/accel');
    await expect400('/v1/vms/emu/devices?bus=not%20an%20id', '/query/bus');
    await expect400('/v1/vms/emu/devices?ordering=colour', '/query/ordering');
    await expect400('/v1/vms/emu/buses?type=pcie-switch', '/query/type');
    await expect400('/v1/vms/s10/devices/hostdev0/mappings?stage=3', '/query/stage');
    await expect400('/v1/vms/emu/devices?limit=0', '/query/limit');
    await expect400('/v1/vms/emu/devices?brief=perhaps', '/query/brief');
    await expect400('/v1/vms?status=gone', '/query/status');
    await expect400('/v1/msi-resolutions?installed=yes', '/query/installed');
    await expect400('/v1/msi-sweeps?semantics=sideways', '/query/semantics');
    await expect400('/v1/events?type=NoSuchEvent', '/query/type');
  });
});

describe('records across VMs', () => {
  it('lists resolutions and sweeps with the filters vm, device, semantics, installed, misroutedBeforeFix', async () => {
    const resolve = (vm: string, body: Record<string, unknown>) =>
      t.http.post(`/v1/vms/${vm}/msi-resolutions`).send(body).expect(201);
    // S10 under pre-fix is misrouted; under upstream it is installed.
    await resolve('s10', { device: 'hostdev0', vector: 0, semantics: 'pre-fix' });
    await resolve('s10', { device: 'hostdev0', vector: 0, semantics: 'upstream' });
    await resolve('emu', { device: 'net0', vector: 0, semantics: 'upstream' });
    await t.http.post('/v1/vms/emu/msi-sweeps').send({ semantics: 'upstream' }).expect(201);
    await t.http.post('/v1/vms/s10/msi-sweeps').send({ semantics: 'pre-fix' }).expect(201);

    const all = await list('/v1/msi-resolutions');
    // Three resolutions, three vectors of emu's sweep, one of s10's.
    expect(all.count).toBe(7);
    expect((await list('/v1/msi-resolutions?vm=s10')).count).toBe(3);
    expect((await list('/v1/msi-resolutions?device=net0')).count).toBe(4);
    expect((await list('/v1/msi-resolutions?vm=s10&semantics=upstream')).count).toBe(1);
    const misrouted = await list('/v1/msi-resolutions?misroutedBeforeFix=true');
    expect(new Set(misrouted.results.map((r) => r.vm))).toEqual(new Set(['s10']));
    const notInstalled = await list('/v1/msi-resolutions?installed=false');
    for (const r of notInstalled.results) expect((r.route as { installed: boolean }).installed).toBe(false);
    const installed = await list('/v1/msi-resolutions?installed=true');
    expect(installed.count + notInstalled.count).toBe(7);
    // Items are the records as returned, after their url (which reads the record alone) and display.
    const { url, display, ...first } = all.results[0]! as Record<string, unknown> & { url: string; display: string };
    expect(display).toMatch(/^resolution of \S+ in \S+ \((upstream|address-space|pre-fix)\)$/);
    expect(url).toBe(`${new URL(url).origin}/v1/msi-resolutions/${first.id}`);
    expect((await t.http.get(new URL(url).pathname).expect(200)).body).toEqual(first);
    // Newest first, and brief.
    const newest = await list('/v1/msi-resolutions?ordering=-created&brief=true&limit=1');
    expect(Object.keys(newest.results[0]!).sort()).toEqual(['display', 'id', 'url']);
    expect(newest.results[0]!.id).toBe(all.results[6]!.id);
    expect(newest.next).toMatch(ABSOLUTE);

    const sweeps = await list('/v1/msi-sweeps');
    expect(sweeps.count).toBe(2);
    expect(sweeps.results[0]).toMatchObject({ vm: 'emu', semantics: 'upstream', counts: { vectors: 3 } });
    expect(sweeps.results[0]).not.toHaveProperty('results');
    expect(ids(await list('/v1/msi-sweeps?misroutedBeforeFix=true'))).toEqual([sweeps.results[1]!.id]);
    expect(ids(await list('/v1/msi-sweeps?device=hostdev0'))).toEqual([sweeps.results[1]!.id]);
    expect(ids(await list('/v1/vms/emu/msi-sweeps'))).toEqual([sweeps.results[0]!.id]);
    expect((await list('/v1/vms/emu/msi-resolutions?device=net0&semantics=upstream')).count).toBe(4);
    const sweepUrl = sweeps.results[0]!.url as string;
    expect(await follow(sweepUrl)).toMatchObject({ id: sweeps.results[0]!.id, vm: 'emu' });
  });

  it('lists fleet sweeps as stored, newest first on asking, brief', async () => {
    const first = (await t.http.post('/v1/fleet-sweeps').send({}).expect(201)).body;
    const second = (
      await t.http
        .post('/v1/fleet-sweeps')
        .send({ vm: ['emu'] })
        .expect(201)
    ).body;
    const oldestFirst = await list('/v1/fleet-sweeps');
    expect(ids(oldestFirst)).toEqual([first.id, second.id]);
    expect(oldestFirst.results[0]).toEqual(first);
    const newest = await list('/v1/fleet-sweeps?ordering=-created&brief=true&limit=1');
    expect(newest.results).toEqual([
      { id: second.id, url: expect.stringMatching(ABSOLUTE), display: expect.stringContaining('1 VMs') },
    ]);
    expect(await follow(newest.results[0]!.url as string)).toEqual(second);
  });
});

describe('GET /v1/events filters and cursor', () => {
  it('filters by vm and type (repeatable) and pages with next = after=<last position>', async () => {
    const defined = await list('/v1/events?type=VmDefined');
    expect(defined.results.map((e) => e.streamId)).toEqual(['s10', 'emu']);
    const both = await list('/v1/events?type=VmDefined&type=SmmuAdded&vm=emu');
    expect(both.results.map((e) => e.type)).toEqual(['VmDefined', 'SmmuAdded']);
    const first = await list('/v1/events?vm=emu&type=DeviceAttached&limit=2');
    expect(first.count).toBe(4);
    const last = first.results[1]!.position as number;
    expect(first.next).toMatch(
      new RegExp(`^http://127\\.0\\.0\\.1:\\d+/v1/events\\?vm=emu&type=DeviceAttached&after=${last}&limit=2$`),
    );
    const second = await follow(first.next!);
    expect(second.results.map((e) => (e.data as { deviceId: string }).deviceId)).toEqual(['net1', 'e0']);
    expect(second.next).toBeNull();
  });

  it('answers brief events whose url reads the event back', async () => {
    const brief = await list('/v1/events?vm=emu&type=SmmuAdded&brief=true');
    expect(brief.results).toHaveLength(1);
    const [item] = brief.results;
    expect(Object.keys(item!).sort()).toEqual(['display', 'id', 'url']);
    const read = await follow(item!.url as string);
    expect(read.results[0]).toMatchObject({ position: item!.id, type: 'SmmuAdded', streamId: 'emu' });
    const stream = await list('/v1/vms/emu/events?brief=true&limit=2');
    expect(stream.results.map((e) => e.display)).toEqual([
      expect.stringMatching(/VmDefined \(emu, version 1\)$/),
      expect.stringMatching(/SmmuAdded \(emu, version 2\)$/),
    ]);
  });
});

describe('DELETE /v1/vms/{vm}: decommission', () => {
  it('appends VmDecommissioned, then refuses commands; history and records stay readable; lists hide it', async () => {
    await command(t, 'post', '/v1/vms', { id: 'gone' });
    await command(t, 'post', '/v1/vms/gone/devices', { id: 'net0', driver: 'virtio-net-pci', bus: 'pcie.0', slot: 2 });
    await command(t, 'put', '/v1/vms/gone/devices/net0/msi-vectors/0', { address: '0x8090040', data: '0x1' });
    const record = await t.http.post('/v1/vms/gone/msi-resolutions').send({ device: 'net0', vector: 0 }).expect(201);

    const deleted = await t.http.delete('/v1/vms/gone').set('if-match', '"3"').expect(200);
    expect(deleted.body).toMatchObject({ id: 'gone', status: 'decommissioned', version: 4 });
    expect(deleted.body.events).toEqual([expect.objectContaining({ type: 'VmDecommissioned', streamVersion: 4 })]);
    expect(deleted.headers.etag).toBe('"4"');

    // Every command is refused, also defining the id again and decommissioning it twice.
    const refused = [
      t.http.post('/v1/vms/gone/buses').send({ id: 'pcie.1', type: 'pxb-pcie', busNr: 1 }),
      t.http.put('/v1/vms/gone/devices/net0/msi-vectors/1').send({ address: '0x8090040', data: '0x2' }),
      t.http.delete('/v1/vms/gone/devices/net0'),
      t.http.delete('/v1/vms/gone'),
      t.http.post('/v1/vms').send({ id: 'gone' }),
    ];
    for (const response of await Promise.all(refused)) {
      expect(response.status).toBe(409);
      expect(response.body.code).toBe('VM_DECOMMISSIONED');
    }
    expect((await t.http.get('/v1/vms/gone').expect(200)).body).toMatchObject({ status: 'decommissioned', version: 4 });
    expect((await list('/v1/vms/gone/events')).count).toBe(4);
    expect((await list('/v1/vms/gone/devices')).results.map((d) => d.id)).toEqual(['net0']);
    await t.http.get(`/v1/msi-resolutions/${record.body.id}`).expect(200);
    expect((await list('/v1/vms/gone/msi-resolutions')).count).toBe(1);

    // A fleet sweep of every VM leaves it out.
    const fleet = (await t.http.post('/v1/fleet-sweeps').send({}).expect(201)).body;
    expect(fleet.results.map((r: { vm: string }) => r.vm).sort()).toEqual(['emu', 's10']);

    // Lists hide it unless asked for.
    expect(ids(await list('/v1/vms'))).toEqual(['emu', 's10']);
    expect(ids(await list('/v1/vms?status=all'))).toEqual(['emu', 'gone', 's10']);
    expect(ids(await list('/v1/vms?status=decommissioned&brief=true'))).toEqual(['gone']);
    // emu has 10 events, s10 8, gone 4.
    expect(ids(await list('/v1/vms?status=all&ordering=-version'))).toEqual(['emu', 's10', 'gone']);
  });

  it('is a 404 for a VM that does not exist', async () => {
    expect((await t.http.delete('/v1/vms/never').expect(404)).body.code).toBe('VM_NOT_FOUND');
  });
});

describe('API tokens as a list', () => {
  it('lists live tokens with url and display, brief and ordering; a token, revoked too, reads at its url', async () => {
    const made: Record<string, string> = {};
    for (const name of ['zeta-sync', 'alpha-dashboard']) {
      const created = await t.http
        .post('/v1/tokens')
        .send({ name, scopes: ['read'] })
        .expect(201);
      expect(created.body).toMatchObject({ name, display: `${name} (read)` });
      expect(created.body.url).toMatch(ABSOLUTE);
      made[name] = created.body.id as string;
    }
    const byName = await list('/v1/tokens?ordering=name');
    const names = byName.results.map((r) => r.name as string);
    expect(names).toEqual([...names].sort());
    expect(ids(await list('/v1/tokens?ordering=-createdAt&limit=1'))).toEqual([made['alpha-dashboard']]);
    const brief = await list('/v1/tokens?brief=true');
    for (const item of brief.results) expect(Object.keys(item).sort()).toEqual(['display', 'id', 'url']);

    const revoked = await t.http.delete(`/v1/tokens/${made['zeta-sync']}`).expect(200);
    const read = await follow(revoked.body.url as string);
    expect(read).toMatchObject({ id: made['zeta-sync'], name: 'zeta-sync' });
    expect((read as unknown as { revokedAt: string | null }).revokedAt).not.toBeNull();
    expect(ids(await list('/v1/tokens?limit=1000'))).not.toContain(made['zeta-sync']);
    const missing = await t.http.get('/v1/tokens/0123456789abcdef').expect(404);
    expect(missing.body.code).toBe('TOKEN_NOT_FOUND');
    await expect400('/v1/tokens?ordering=secret', '/query/ordering');
  });
});
