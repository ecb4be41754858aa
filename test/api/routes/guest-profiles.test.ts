// Guest profiles over HTTP (contract v1.3, issue 19): import the accel command line with its QEMU
// build and linux-dma, sweep it, and read the vectors the profile implies under each behaviour.
// Every expected value is derived by hand in the comments.

import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventCount, startTestApp, type TestApp } from '../../helpers/test-app';
import { command } from '../../helpers/topology';

const B1 = readFileSync(new URL('../../fixtures/import/two-accel-smmus.cmdline', import.meta.url), 'utf8');

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => t.close());

// biome-ignore lint/suspicious/noExplicitAny: response bodies, read field by field as a client would
type Json = Record<string, any>;

const sweep = async (vm: string, semantics?: string): Promise<Json> =>
  (
    await t.http
      .post(`/v1/vms/${vm}/msi-sweeps`)
      .send(semantics === undefined ? {} : { semantics })
      .expect(201)
  ).body;

describe('GET /v1/guest-profiles', () => {
  it('lists linux-dma and linux-passthrough, each rule cited to a Linux file and function', async () => {
    const body = (await t.http.get('/v1/guest-profiles').expect(200)).body as Json;
    expect(body.results.map((p: Json) => [p.id, p.domain])).toEqual([
      ['linux-dma', 'dma'],
      ['linux-passthrough', 'identity'],
    ]);
    const page = (body.results[0].rules as Json[]).find((r) => r.id === 'msi-page')!;
    expect(page.cite.map((c: Json) => c.function)).toContain('iommu_dma_get_msi_page, iommu_dma_alloc_iova');
  });
});

describe('the accel command line imported with QEMU 11.0.0 and linux-dma (dev0: 3 vectors, dev1: 2)', () => {
  let vm: Json;
  beforeAll(async () => {
    const before = await eventCount(t);
    vm = (
      await t.http
        .post('/v1/vm-imports')
        .send({
          vm: 'lab1',
          format: 'qemu-cmdline',
          source: B1,
          qemu: { version: '11.0.0' },
          guest: { profile: 'linux-dma', vectors: { dev0: 3, dev1: 2 } },
        })
        .expect(201)
    ).body;
    // One append: everything the import wrote is in the VM's stream.
    expect(await eventCount(t)).toBe(before + vm.version);
  });

  it('appends QemuBuildDeclared and GuestProfileDeclared right after VmDefined, in the same change', () => {
    expect((vm.events as Json[]).slice(0, 3).map((e) => e.type)).toEqual([
      'VmDefined',
      'QemuBuildDeclared',
      'GuestProfileDeclared',
    ]);
    expect(vm.qemu).toMatchObject({ version: '11.0.0', behaviour: 'upstream' });
  });

  it('the VM says what the profile implies for each device', () => {
    // dev0 and dev1 sit behind accel SMMUs: STE s1, the doorbell page at 0xFFFFF000 (4 KiB), so 0xFFFFF040.
    expect(vm.guest).toMatchObject({ profile: 'linux-dma', profileVersion: 1, pageSize: 4096 });
    expect(vm.guest.devices.map((d: Json) => [d.device, d.ste, d.vectors, d.msiAddress])).toEqual([
      ['dev0', 's1', 3, '0xfffff040'],
      ['dev1', 's1', 2, '0xfffff040'],
    ]);
  });

  it('upstream (the declared build): every vector routes to msi-gpa 0x08090040; pre-fix would misroute all five', async () => {
    const s = await sweep('lab1');
    expect(s.semantics).toBe('upstream');
    // 3 + 2 = 5 vectors. upstream: get_msi_direct_gpa gives 0x08090040 whatever the gIOVA, so none is
    // lost; pre-fix would take 0xFFFFF040 as a gPA: a route to another address -> misrouted, all 5.
    expect(s.counts).toMatchObject({ vectors: 5, interruptsLost: 0, misroutedBeforeFix: 5, missingBeforeFix: 0 });
    // dev0 is 02:00.0 behind pcie.port1 (bus 2): devid 0x200; dev1 behind pcie.port2 on bus 9: 0x900.
    expect(
      s.results.map((r: Json) => [r.device, r.vector, r.input.address, r.route.address, r.route.data, r.route.devid]),
    ).toEqual([
      ['dev0', 0, '0xfffff040', '0x8090040', '0x0', '0x200'],
      ['dev0', 1, '0xfffff040', '0x8090040', '0x1', '0x200'],
      ['dev0', 2, '0xfffff040', '0x8090040', '0x2', '0x200'],
      ['dev1', 0, '0xfffff040', '0x8090040', '0x0', '0x900'],
      ['dev1', 1, '0xfffff040', '0x8090040', '0x1', '0x900'],
    ]);
    const first = s.results[0] as Json;
    expect(first.trail[0].action).toMatch(/^assumed from linux-dma/);
    expect(first.trail[0].source).toContain('iommu_dma_compose_msi_msg');
  });

  it('pre-fix: the gIOVA 0xFFFFF040 taken as a gPA is RAM (-m 16G), not the ITS: every interrupt is lost', async () => {
    // RAM is 0x40000000 + 16 GiB = up to 0x43FFFFFFF, so 0xFFFFF040 is mach-virt.ram at offset
    // 0xBFFFF040: the route is installed there, and vgic_msi_to_its finds no ITS (KVM -EINVAL).
    const s = await sweep('lab1', 'pre-fix');
    // All 5 routes are installed (RAM backs 0xFFFFF040), and all 5 lose their interrupts.
    expect(s.counts).toMatchObject({ vectors: 5, routesMissing: 0, interruptsLost: 5 });
    const r = s.results[1] as Json;
    expect(r.route).toMatchObject({ installed: true, address: '0xfffff040', data: '0x1', devid: '0x200' });
    expect(r.doorbell).toMatchObject({ its: false });
    expect(r.diagnostics.map((d: Json) => d.code)).toContain('DOORBELL_NOT_IN_ITS');
  });

  it('address-space: QEMU walks the stage 1 the profile implies, 0xFFFFF040 -> 0x08090040', async () => {
    // The implied s1 STE gives the device an s1 HWPT, so the vSMMU's IOMMU address space; the implied
    // stage-1 page 0xFFFFF000 -> 0x08090000, plus the offset 0x40, is the doorbell.
    const s = await sweep('lab1', 'address-space');
    expect(s.counts).toMatchObject({ vectors: 5, interruptsLost: 0 });
    expect(s.results.map((r: Json) => r.route.address)).toEqual(Array(5).fill('0x8090040'));
    const walk = (s.results[0].trail as Json[]).filter((step) => step.action.startsWith('assumed from linux-dma'));
    expect(walk.length).toBeGreaterThan(1);
  });

  it('the live route of an implied vector answers too', async () => {
    const r = (await t.http.get('/v1/vms/lab1/devices/dev1/msi-vectors/1/route').expect(200)).body;
    expect(r.route).toMatchObject({ installed: true, address: '0x8090040', data: '0x1', devid: '0x900' });
  });
});

describe('PUT /v1/vms/{vm}/guest', () => {
  beforeAll(async () => {
    // No IOMMU: a virtio-net-pci at 00:02.0 (devid 0x10).
    await command(t, 'post', '/v1/vms', { id: 'plain', ramSize: '0x100000000' });
    await command(t, 'post', '/v1/vms/plain/devices', { id: 'net0', driver: 'virtio-net-pci', bus: 'pcie.0', slot: 2 });
  });

  it('without a profile the VM has no vectors to sweep, as before', async () => {
    expect((await sweep('plain')).counts.vectors).toBe(0);
  });

  it('declares linux-passthrough; the same again appends nothing; asOf before it answers as before', async () => {
    const declared = (await t.http.put('/v1/vms/plain/guest').send({ profile: 'linux-passthrough' }).expect(200)).body;
    expect(declared.guest).toMatchObject({ profile: 'linux-passthrough', setBy: expect.any(Number) });
    const again = (await t.http.put('/v1/vms/plain/guest').send({ profile: 'linux-passthrough' }).expect(200)).body;
    expect(again.version).toBe(declared.version);
    // virtio-net-pci, one queue pair: 2 * 1 + 1 = 3 vectors, each with the doorbell gPA 0x08090040 (no IOMMU).
    const s = await sweep('plain');
    expect(s.results.map((r: Json) => [r.input.address, r.input.data])).toEqual([
      ['0x8090040', '0x0'],
      ['0x8090040', '0x1'],
      ['0x8090040', '0x2'],
    ]);
    await t.http.get(`/v1/vms/plain/devices/net0/msi-vectors/0/route?asOf=${declared.version - 1}`).expect(404);
  });

  it('refuses an unknown profile and a bad page size, naming the field', async () => {
    const bad = await t.http.put('/v1/vms/plain/guest').send({ profile: 'windows' }).expect(400);
    expect(JSON.stringify(bad.body)).toContain('/profile');
    const size = await t.http.put('/v1/vms/plain/guest').send({ profile: 'linux-dma', pageSize: 8192 }).expect(400);
    expect(JSON.stringify(size.body)).toContain('/pageSize');
  });
});
