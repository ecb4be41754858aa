// Re-import into an existing VM and the diff between two versions, over HTTP (issue 20).
//
// A: pcie.1 (pxb-pcie, bus_nr 1) with an emulated SMMUv3, two root ports on it, pcie.port1 at
// slot 0 (EDK2 gives it bus 2) with net0 and pcie.port3 at slot 2 (bus 3) with net1.
// B, the lab's new state: RAM 4G -> 8G, pcie.port3 and net1 gone, pcie.port2 at slot 1 (now bus 3)
// with blk0. So the change, by hand: net1 detached, pcie.port3 removed (nothing is left behind
// it), the board's ramSize, pcie.port2 added, blk0 attached; net0 stays with its vector.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventCount, startTestApp, type TestApp } from '../../helpers/test-app';

const A = `qemu-system-aarch64 -machine virt,gic-version=3,accel=kvm -m 4G -nodefaults \\
  -device pxb-pcie,id=pcie.1,bus_nr=1,bus=pcie.0,addr=0x1 \\
  -device arm-smmuv3,primary-bus=pcie.1,id=smmuv3.0 \\
  -device pcie-root-port,id=pcie.port1,bus=pcie.1,chassis=1,addr=0x0 \\
  -device virtio-net-pci,bus=pcie.port1,id=net0 \\
  -device pcie-root-port,id=pcie.port3,bus=pcie.1,chassis=3,addr=0x2 \\
  -device virtio-net-pci,bus=pcie.port3,id=net1
`;
const B = `qemu-system-aarch64 -machine virt,gic-version=3,accel=kvm -m 8G -nodefaults \\
  -device pxb-pcie,id=pcie.1,bus_nr=1,bus=pcie.0,addr=0x1 \\
  -device arm-smmuv3,primary-bus=pcie.1,id=smmuv3.0 \\
  -device pcie-root-port,id=pcie.port1,bus=pcie.1,chassis=1,addr=0x0 \\
  -device virtio-net-pci,bus=pcie.port1,id=net0 \\
  -device pcie-root-port,id=pcie.port2,bus=pcie.1,chassis=2,addr=0x1 \\
  -device virtio-blk-pci,bus=pcie.port2,id=blk0
`;

// biome-ignore lint/suspicious/noExplicitAny: response bodies, read field by field as a client would
type Json = Record<string, any>;

/** The change list without the event positions, as the re-import answers it. */
const EXPECTED_CHANGES = [
  { op: 'change', kind: 'board', id: 'vm1', before: { ramSize: '0x100000000' }, after: { ramSize: '0x200000000' } },
  {
    op: 'add',
    kind: 'bus',
    id: 'pcie.port2',
    after: { type: 'pcie-root-port', bus: 'pcie.1', number: 3, bypassIommu: false },
  },
  {
    op: 'remove',
    kind: 'bus',
    id: 'pcie.port3',
    before: { type: 'pcie-root-port', bus: 'pcie.1', number: 3, bypassIommu: false },
  },
  {
    op: 'add',
    kind: 'device',
    id: 'blk0',
    after: {
      driver: 'virtio-blk-pci',
      bus: 'pcie.port2',
      slot: 0,
      function: 0,
      host: null,
      hostFd: false,
      iommufd: null,
    },
  },
  {
    op: 'remove',
    kind: 'device',
    id: 'net1',
    before: {
      driver: 'virtio-net-pci',
      bus: 'pcie.port3',
      slot: 0,
      function: 0,
      host: null,
      hostFd: false,
      iommufd: null,
    },
  },
];

let t: TestApp;
let imported: number;
beforeAll(async () => {
  t = await startTestApp();
  imported = (await t.http.post('/v1/vm-imports').send({ vm: 'vm1', format: 'qemu-cmdline', source: A }).expect(201))
    .body.version;
  // The guest programs one vector on each NIC and maps the vITS doorbell page 1:1 in stage 1 for
  // them (the STE's default config is s1): the MSI lands on 0x8090040 with the stream id (bus 2
  // or 3, 00.0) as devid.
  for (const dev of ['net0', 'net1']) {
    await t.http
      .post(`/v1/vms/vm1/devices/${dev}/mappings`)
      .send({ stage: 1, iova: '0x8090000', output: '0x8090000', size: '0x1000' })
      .expect(201);
    await t.http
      .put(`/v1/vms/vm1/devices/${dev}/msi-vectors/0`)
      .send({ address: '0x8090040', data: '0x1' })
      .expect(200);
  }
});
afterAll(async () => t.close());

const reimport = (body: Json, headers: Record<string, string> = {}) =>
  t.http.post('/v1/vms/vm1/imports').set(headers).send(body);

describe('POST /v1/vms/{vm}/imports', () => {
  it('a dry run answers the plan and appends nothing', async () => {
    const before = await eventCount(t);
    const response = await reimport({ format: 'qemu-cmdline', source: B, dryRun: true }).expect(200);
    expect(response.body).toMatchObject({ vm: 'vm1', version: imported + 4, dryRun: true, events: [] });
    expect(response.body.changes).toEqual(EXPECTED_CHANGES);
    // net1 goes with its vector; net0's route does not move.
    expect(response.body.routes).toEqual([
      {
        device: 'net1',
        vector: 0,
        semantics: 'upstream',
        before: { installed: true, address: '0x8090040', data: '0x1', devid: '0x300', flags: 'KVM_MSI_VALID_DEVID' },
        after: null,
      },
    ]);
    expect(await eventCount(t)).toBe(before);
  });

  it('a stale If-Match is 412 and appends nothing', async () => {
    const before = await eventCount(t);
    const response = await reimport({ format: 'qemu-cmdline', source: B }, { 'if-match': '"1"' }).expect(412);
    expect(response.body.code).toBe('PRECONDITION_FAILED');
    expect(await eventCount(t)).toBe(before);
  });

  it('appends the change as one, each event marked importedFrom; a retry with the key replays it', async () => {
    const headers = { 'if-match': `"${imported + 4}"`, 'idempotency-key': 'reimport-b' };
    const response = await reimport({ format: 'qemu-cmdline', source: B }, headers).expect(200);
    expect(response.body.dryRun).toBe(false);
    expect(response.body.changes).toEqual(EXPECTED_CHANGES);
    expect(response.body.events.map((e: Json) => e.type)).toEqual([
      'DeviceDetached',
      'BusRemoved',
      'BoardChanged',
      'BusAdded',
      'DeviceAttached',
    ]);
    expect(response.body.version).toBe(imported + 9);
    expect(response.headers.etag).toBe(`"${imported + 9}"`);
    const events = (await t.http.get(`/v1/events?vm=vm1&limit=5&offset=${imported + 4}`).expect(200)).body.results;
    for (const event of events) expect(event.metadata.importedFrom).toMatchObject({ format: 'qemu-cmdline' });

    const replay = await reimport({ format: 'qemu-cmdline', source: B }, headers).expect(200);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body).toEqual(response.body);

    // net0 stayed, with the vector its guest programmed; net1 is gone.
    await t.http.get('/v1/vms/vm1/devices/net0/msi-vectors/0').expect(200);
    await t.http.get('/v1/vms/vm1/devices/net1').expect(404);
    const vm = (await t.http.get('/v1/vms/vm1').expect(200)).body;
    expect(vm.ramSize).toBe('0x200000000');
  });

  it('the same source again changes nothing and appends nothing', async () => {
    const before = await eventCount(t);
    const headers = { 'idempotency-key': 'same-again' };
    const response = await reimport({ format: 'qemu-cmdline', source: B }, headers).expect(200);
    expect(response.body).toMatchObject({ changes: [], routes: [], events: [], version: imported + 9 });
    const replay = await reimport({ format: 'qemu-cmdline', source: B }, headers).expect(200);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(await eventCount(t)).toBe(before);
  });

  it('a source that breaks a rule is refused at its part, and appends nothing', async () => {
    const before = await eventCount(t);
    // An SMMU on a root port: smmu_base_realize refuses it.
    const bad = B.replace('primary-bus=pcie.1,id=smmuv3.0', 'primary-bus=pcie.port1,id=smmuv3.0');
    const response = await reimport({ format: 'qemu-cmdline', source: bad });
    expect(response.status, JSON.stringify(response.body)).toBe(422);
    expect(response.body.code).toBe('SMMU_BUS_NOT_ROOT');
    expect(response.body.detail).toContain('arm-smmuv3');
    expect(await eventCount(t)).toBe(before);
  });

  it('gicVersion belongs to a libvirt domain only: 400 naming it', async () => {
    const response = await reimport({ format: 'qemu-cmdline', source: B, gicVersion: 3 }).expect(400);
    expect(response.body.errors[0].pointer).toBe('/gicVersion');
  });

  it('a dry run checks If-Match too', async () => {
    await reimport({ format: 'qemu-cmdline', source: A, dryRun: true }, { 'if-match': '"1"' }).expect(412);
  });

  it('an unknown VM is 404', async () => {
    await t.http.post('/v1/vms/nope/imports').send({ format: 'qemu-cmdline', source: B }).expect(404);
  });
});

describe('GET /v1/vms/{vm}/diff', () => {
  it('by default shows the last change, each part with the events that made it; 304 on If-None-Match', async () => {
    const response = await t.http.get('/v1/vms/vm1/diff').expect(200);
    expect(response.body.from).toBe(imported + 4);
    expect(response.body.to).toBe(imported + 9);
    const positions = (
      await t.http.get(`/v1/vms/vm1/events?limit=5&offset=${imported + 4}`).expect(200)
    ).body.results.map((e: Json) => e.position);
    // The re-import's events in order: DeviceDetached net1, BusRemoved, BoardChanged, BusAdded, DeviceAttached.
    const [detached, removed, board, added, attached] = positions;
    expect(response.body.changes).toEqual([
      { ...EXPECTED_CHANGES[0], events: [board] },
      { ...EXPECTED_CHANGES[1], events: [added] },
      { ...EXPECTED_CHANGES[2], events: [removed] },
      { ...EXPECTED_CHANGES[3], events: [attached] },
      { ...EXPECTED_CHANGES[4], events: [detached] },
    ]);
    expect(response.body.routes.map((r: Json) => `${r.device}/${r.vector}`)).toEqual(['net1/0']);
    expect(response.body.picture).toMatch(/\/v1\/vms\/vm1\/diff\.svg\?from=\d+&to=\d+$/);
    const etag = String(response.headers.etag);
    expect(etag).toBe(`"${imported + 4}-${imported + 9}-declared"`);
    await t.http.get('/v1/vms/vm1/diff').set('if-none-match', etag).expect(304);
  });

  it('semantics=all compares the routes under each QEMU behaviour: net1/0 went under all three', async () => {
    const response = await t.http.get('/v1/vms/vm1/diff?semantics=all').expect(200);
    expect(response.body.routes.map((r: Json) => `${r.device}/${r.vector} ${r.semantics} ${r.after}`)).toEqual([
      'net1/0 pre-fix null',
      'net1/0 address-space null',
      'net1/0 upstream null',
    ]);
    expect(response.headers.etag).toBe(`"${imported + 4}-${imported + 9}-all"`);
  });

  it('from 0 lists the whole VM as added; semantics=all compares under each', async () => {
    const response = await t.http.get('/v1/vms/vm1/diff?from=0&to=1&semantics=all').expect(200);
    expect(response.body.changes.map((c: Json) => `${c.op} ${c.kind} ${c.id}`)).toEqual(['add board vm1']);
  });

  it('the last change of a VM imported in one append of more than 64 events is the import: from 0', async () => {
    // VmDefined, the pxb-pcie, 30 root ports with a NIC each and 20 NICs on pcie.0: 82 events (more
    // than the 64 read at once), one request. The diff adds all 82 parts (the board for VmDefined).
    const ports = Array.from(
      { length: 30 },
      (_, k) =>
        `  -device pcie-root-port,id=rp${k},bus=pcie.1,chassis=${k + 1},addr=0x${k.toString(16)} \\\n  -device virtio-net-pci,bus=rp${k},id=nic${k}`,
    );
    const onRoot = Array.from(
      { length: 20 },
      (_, k) => `  -device virtio-net-pci,bus=pcie.0,addr=0x${(k + 2).toString(16)},id=root${k}`,
    );
    const source = `qemu-system-aarch64 -machine virt -m 1G -nodefaults \\\n  -device pxb-pcie,id=pcie.1,bus_nr=1,bus=pcie.0,addr=0x1 \\\n${[...ports, ...onRoot].join(' \\\n')}\n`;
    const created = await t.http.post('/v1/vm-imports').send({ vm: 'big', format: 'qemu-cmdline', source }).expect(201);
    expect(created.body.version).toBe(82);
    const diff = await t.http.get('/v1/vms/big/diff').expect(200);
    expect(diff.body.from).toBe(0);
    expect(diff.body.changes).toHaveLength(82);
  });

  it('names the parameter of a bad from or to', async () => {
    const late = await t.http.get('/v1/vms/vm1/diff?from=3&to=2').expect(400);
    expect(late.body.errors[0].pointer).toBe('/query/from');
    const far = await t.http.get('/v1/vms/vm1/diff?to=999').expect(400);
    expect(far.body.errors[0].pointer).toBe('/query/to');
    const negative = await t.http.get('/v1/vms/vm1/diff?from=-1').expect(400);
    expect(JSON.stringify(negative.body.errors)).toContain('from');
  });

  it('draws the diff as a picture under the pictures rules', async () => {
    const response = await t.http.get(`/v1/vms/vm1/diff.svg?from=${imported + 4}&to=${imported + 9}`).expect(200);
    expect(response.headers['content-type']).toMatch(/^image\/svg\+xml/);
    expect(response.headers['content-security-policy']).toContain("default-src 'none'");
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    const svg = response.text ?? response.body.toString();
    expect(svg).toContain('role="img"');
    expect(svg).not.toContain('<script');
    expect(svg).toContain('data-op="remove" data-kind="device" data-id="net1"');
    expect(svg).toContain('data-op="add" data-kind="bus" data-id="pcie.port2"');
    expect(svg).toContain('net1 vector 0');
  });
});

describe('two re-imports at once', () => {
  it('without If-Match, each is appended on the version it was planned on (planned again if need be): both land, the later wins', async () => {
    await t.http.post('/v1/vm-imports').send({ vm: 'race', format: 'qemu-cmdline', source: A }).expect(201);
    const sources = [B, A.replace('-m 4G', '-m 2G')];
    const answers = await Promise.all(
      sources.map((source) => t.http.post('/v1/vms/race/imports').send({ format: 'qemu-cmdline', source })),
    );
    expect(answers.map((a) => a.status)).toEqual([200, 200]);
    // The VM is what the later append's source says: reading that source again changes nothing.
    const later = answers[0]!.body.version > answers[1]!.body.version ? 0 : 1;
    const again = await t.http
      .post('/v1/vms/race/imports')
      .send({ format: 'qemu-cmdline', source: sources[later], dryRun: true })
      .expect(200);
    expect(again.body.changes).toEqual([]);
  });
});
