// virtio-iommu through HTTP: attach it, see it in the VM and device representations, resolve and
// sweep through it, and the rules that refuse mixing it with an SMMU. Values derived in comments.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../helpers/test-app';
import { command } from '../../helpers/topology';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => t.close());

/** The worked example of docs/domain/virtio-iommu.md: virtio-iommu 00:01.0, rp1 00:02.0 (bus 1), vfio-pci 01:00.0. */
async function example(vm: string) {
  await command(t, 'post', '/v1/vms', { id: vm, ramSize: '0x100000000', hostItsBase: '0x202100000' });
  await command(t, 'post', `/v1/vms/${vm}/devices`, {
    id: 'viommu',
    driver: 'virtio-iommu-pci',
    bus: 'pcie.0',
    slot: 1,
  });
  await command(t, 'post', `/v1/vms/${vm}/buses`, {
    id: 'rp1',
    type: 'pcie-root-port',
    bus: 'pcie.0',
    secondaryBusNr: 1,
  });
  await command(t, 'post', `/v1/vms/${vm}/devices`, {
    id: 'hostdev0',
    driver: 'vfio-pci',
    bus: 'rp1',
    slot: 0,
    host: '0000:75:00.1',
  });
}

describe('virtio-iommu through HTTP', () => {
  it('the VM representation shows it, its reserved MSI region and what it covers; the device names it', async () => {
    await example('vi1');
    const vm = (await t.http.get('/v1/vms/vi1').expect(200)).body;
    expect(vm.defaultBusBypassIommu).toBe(false);
    // ITS: [0x08080000 + 0x10000, 0x08080000 + 0x20000 - 1]; it covers hostdev0, not itself; BDF 00:01.0 = 0x8.
    expect(vm.virtioIommu).toEqual({
      device: 'viommu',
      bus: 'pcie.0',
      streamId: '0x8',
      reservedRegions: [{ start: '0x8090000', end: '0x809ffff', type: 'msi' }],
      covers: ['hostdev0'],
      bypassedBuses: [],
      setBy: expect.any(Number),
    });
    expect(vm.smmus).toEqual([]);
    const device = (await t.http.get('/v1/vms/vi1/devices/hostdev0').expect(200)).body;
    expect(device).toMatchObject({ virtioIommu: 'viommu', smmu: null, streamId: '0x100' });
    expect((await t.http.get('/v1/vms/vi1/devices/viommu').expect(200)).body.virtioIommu).toBeNull();
  });

  it('resolves the guest doorbell 0x08090040 through it (identity in the MSI region) and sweeps it', async () => {
    await command(t, 'put', '/v1/vms/vi1/devices/hostdev0/msi-vectors/0', { address: '0x8090040', data: '0x0' });
    // vector 1: an unmapped address outside the region faults (R_MAPPING), the interrupts are lost.
    await command(t, 'put', '/v1/vms/vi1/devices/hostdev0/msi-vectors/1', { address: '0xfffff040', data: '0x1' });
    const r = (await t.http.post('/v1/vms/vi1/msi-resolutions').send({ device: 'hostdev0', vector: 0 }).expect(201))
      .body;
    expect(r.addressSpace).toBe('virtio-iommu');
    expect(r.virtioIommu).toBe('viommu');
    expect(r.route).toMatchObject({ installed: true, address: '0x8090040', data: '0x0', devid: '0x100' });
    expect(r.hardwarePath).toMatchObject({ deviceWrites: '0x8000040', delivered: true });
    expect(r.trail.map((s: { rule?: string }) => s.rule).filter(Boolean)).toEqual(['VI1', 'VI2', 'VI7']);
    const sweep = (await t.http.post('/v1/vms/vi1/msi-sweeps').send({}).expect(201)).body;
    // 2 vectors: one installed, one faulted -> 1 route missing, 1 interrupt lost.
    expect(sweep.counts).toMatchObject({ vectors: 2, routesMissing: 1, interruptsLost: 1, hwPathBlocked: 0 });
    expect(sweep.results[1].virtioIommuFault).toMatchObject({ reason: 'R_MAPPING', endpoint: '0x100' });
  });

  it('a guest MAP (PUT .../mappings, stage 1) routes an address outside the region', async () => {
    await command(t, 'post', '/v1/vms/vi1/devices/hostdev0/mappings', {
      stage: 1,
      iova: '0xfffff000',
      output: '0x8090000',
      size: '0x1000',
    });
    const r = (await t.http.post('/v1/vms/vi1/msi-resolutions').send({ device: 'hostdev0', vector: 1 }).expect(201))
      .body;
    // 0xfffff040 - 0xfffff000 + 0x08090000 = 0x08090040.
    expect(r.route).toMatchObject({ installed: true, address: '0x8090040', data: '0x1' });
  });

  it("the exports keep it: -device virtio-iommu-pci and <iommu model='virtio'> at 00:01.0", async () => {
    const cmdline = (await t.http.get('/v1/vms/vi1/qemu-cmdline').expect(200)).text;
    expect(cmdline).toMatch(/-device virtio-iommu-pci,[^ ]*id=viommu/);
    const xml = (await t.http.get('/v1/vms/vi1/libvirt-xml').expect(200)).text;
    expect(xml).toMatch(
      /<iommu model='virtio'>\s*<alias name='ua-viommu'\/>\s*<address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x0'\/>\s*<\/iommu>/,
    );
  });

  it('the fleet view names it', async () => {
    const fleet = (
      await t.http
        .post('/v1/fleet-sweeps')
        .send({ vm: ['vi1'] })
        .expect(201)
    ).body;
    expect(fleet.results[0]).toMatchObject({ vm: 'vi1', iommu: { kind: 'virtio-iommu', ids: ['viommu'] } });
  });

  it('QEMU refuses mixing it with an SMMU, a second one, a root port, and unplugging it: 422 with the message', async () => {
    const smmu = await t.http.post('/v1/vms/vi1/smmus').send({ id: 'smmuv3.0', primaryBus: 'pcie.0' });
    expect(smmu.status).toBe(422);
    expect(smmu.body).toMatchObject({ code: 'IOMMU_CONFLICT' });
    expect(smmu.body.detail).toContain(
      "virt machine already has virtio-iommu set. Doesn't support incompatible iommus",
    );
    const second = await t.http
      .post('/v1/vms/vi1/devices')
      .send({ id: 'viommu2', driver: 'virtio-iommu', bus: 'pcie.0', slot: 3 });
    expect(second.status).toBe(422);
    expect(second.body.errors[0].pointer).toBe('/driver');
    expect(second.body.detail).toContain('virt machine does not support multiple IOMMUs');
    const detach = await t.http.delete('/v1/vms/vi1/devices/viommu');
    expect(detach.status).toBe(422);
    expect(detach.body.code).toBe('DEVICE_NOT_UNPLUGGABLE');

    await command(t, 'post', '/v1/vms', { id: 'vi2', qemu: { version: '7.2.0' } });
    await command(t, 'post', '/v1/vms/vi2/smmus', { id: 'smmuv3.0', primaryBus: 'pcie.0' });
    const afterSmmu = await t.http
      .post('/v1/vms/vi2/devices')
      .send({ id: 'viommu', driver: 'virtio-iommu-pci', bus: 'pcie.0', slot: 1 });
    expect(afterSmmu.status).toBe(422);
    expect(afterSmmu.body.detail).toContain('virt machine does not support multiple IOMMUs');
  });

  it('defaultBusBypassIommu and a pxb bypassIommu are accepted, shown, and take devices out of its cover', async () => {
    await command(t, 'post', '/v1/vms', { id: 'vi3', defaultBusBypassIommu: true });
    await command(t, 'post', '/v1/vms/vi3/devices', {
      id: 'viommu',
      driver: 'virtio-iommu-pci',
      bus: 'pcie.0',
      slot: 1,
    });
    await command(t, 'post', '/v1/vms/vi3/buses', { id: 'pcie.1', type: 'pxb-pcie', busNr: 16, bypassIommu: false });
    await command(t, 'post', '/v1/vms/vi3/buses', { id: 'pcie.2', type: 'pxb-pcie', busNr: 32, bypassIommu: true });
    await command(t, 'post', '/v1/vms/vi3/buses', {
      id: 'rp1',
      type: 'pcie-root-port',
      bus: 'pcie.1',
      secondaryBusNr: 17,
    });
    await command(t, 'post', '/v1/vms/vi3/buses', {
      id: 'rp2',
      type: 'pcie-root-port',
      bus: 'pcie.2',
      secondaryBusNr: 33,
    });
    await command(t, 'post', '/v1/vms/vi3/devices', { id: 'n0', driver: 'e1000e', bus: 'pcie.0', slot: 5 });
    await command(t, 'post', '/v1/vms/vi3/devices', { id: 'n1', driver: 'e1000e', bus: 'rp1', slot: 0 });
    await command(t, 'post', '/v1/vms/vi3/devices', { id: 'n2', driver: 'e1000e', bus: 'rp2', slot: 0 });
    const vm = (await t.http.get('/v1/vms/vi3').expect(200)).body;
    expect(vm.defaultBusBypassIommu).toBe(true);
    // pcie.0 and pcie.2 bypass; only n1 (on pcie.1) is translated.
    expect(vm.virtioIommu.covers).toEqual(['n1']);
    expect(vm.virtioIommu.bypassedBuses).toEqual(['pcie.0', 'pcie.2']);
    expect(vm.buses.find((b: { id: string }) => b.id === 'pcie.2').bypassIommu).toBe(true);
    const r = (
      await t.http
        .post('/v1/vms/vi3/msi-resolutions')
        .send({ device: 'n2', address: '0x8090040', data: '0x0' })
        .expect(201)
    ).body;
    expect(r.addressSpace).toBe('system');
    expect(r.virtioIommu).toBe('viommu');
    const bad = await t.http
      .post('/v1/vms/vi3/buses')
      .send({ id: 'rp9', type: 'pcie-root-port', bus: 'pcie.0', secondaryBusNr: 40, bypassIommu: true });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].pointer).toBe('/bypassIommu');
  });

  it('the import keeps a virtio-iommu (command line) and a pxb bypass_iommu', async () => {
    const source = [
      'qemu-system-aarch64 -machine virt,gic-version=3 -accel kvm -nodefaults -m 4G',
      '-device virtio-iommu-pci,addr=0x1',
      '-device pcie-root-port,id=rp1,bus=pcie.0,chassis=1,addr=0x2',
      '-device vfio-pci,host=0000:75:00.1,bus=rp1,id=hostdev0',
    ].join(' ');
    const response = await t.http.post('/v1/vm-imports').send({ vm: 'vi4', format: 'qemu-cmdline', source });
    expect(response.status, JSON.stringify(response.body)).toBe(201);
    const vm = (await t.http.get('/v1/vms/vi4').expect(200)).body;
    expect(vm.virtioIommu).toMatchObject({ streamId: '0x8', covers: ['hostdev0'] });
  });
});
