// Every topology rule a command can break, through HTTP: the status and code a client sees, and
// nothing appended (the event log and the VM's ETag are unchanged).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventCount, startTestApp, type TestApp } from '../../helpers/test-app';
import { command } from '../../helpers/topology';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => t.close());

type Setup = (vm: string) => Promise<void>;
type Json = Record<string, unknown>;

const vmOnly: Setup = async (vm) => {
  await command(t, 'post', '/v1/vms', { id: vm });
};
/** An emulated SMMU on pcie.0 with a virtio device at 00:02.0. */
const emulated: Setup = async (vm) => {
  await vmOnly(vm);
  await command(t, 'post', `/v1/vms/${vm}/smmus`, { id: 'smmuv3.0', primaryBus: 'pcie.0' });
  await command(t, 'post', `/v1/vms/${vm}/devices`, { id: 'net0', driver: 'virtio-net-pci', bus: 'pcie.0', slot: 2 });
};
/** An accel SMMU on pxb-pcie bus 1 with a vfio-pci device behind a root port. */
const accel: Setup = async (vm) => {
  await vmOnly(vm);
  await command(t, 'post', `/v1/vms/${vm}/buses`, { id: 'pcie.1', type: 'pxb-pcie', busNr: 1 });
  await command(t, 'post', `/v1/vms/${vm}/smmus`, { id: 'smmuv3.0', primaryBus: 'pcie.1', accel: true });
  await command(t, 'post', `/v1/vms/${vm}/buses`, {
    id: 'pcie.port1',
    type: 'pcie-root-port',
    bus: 'pcie.1',
    secondaryBusNr: 2,
  });
  await command(t, 'post', `/v1/vms/${vm}/devices`, {
    id: 'hostdev0',
    driver: 'vfio-pci',
    bus: 'pcie.port1',
    slot: 0,
    host: '0019:06:00.0',
    iommufd: 'iommufd0',
  });
};

interface RuleCase {
  rule: string;
  setup: Setup;
  method: 'post' | 'put' | 'delete';
  path: (vm: string) => string;
  body?: Json;
  status: number;
  code: string;
  pointer?: string;
}

const cases: RuleCase[] = [
  {
    rule: 'unknown VM',
    setup: async () => undefined,
    method: 'post',
    path: (vm) => `/v1/vms/${vm}/smmus`,
    body: { id: 's', primaryBus: 'pcie.0' },
    status: 404,
    code: 'VM_NOT_FOUND',
  },
  {
    rule: 'unknown bus',
    setup: vmOnly,
    method: 'post',
    path: (vm) => `/v1/vms/${vm}/devices`,
    body: { id: 'd', driver: 'virtio-net-pci', bus: 'pcie.9', slot: 1 },
    status: 404,
    code: 'BUS_NOT_FOUND',
    pointer: '/bus',
  },
  {
    rule: 'unknown SMMU',
    setup: vmOnly,
    method: 'put',
    path: (vm) => `/v1/vms/${vm}/smmus/nope/accel`,
    body: { enabled: true },
    status: 404,
    code: 'SMMU_NOT_FOUND',
  },
  {
    rule: 'unknown device',
    setup: emulated,
    method: 'put',
    path: (vm) => `/v1/vms/${vm}/devices/nope/msi-vectors/0`,
    body: { address: '0x1000', data: '0x0' },
    status: 404,
    code: 'DEVICE_NOT_FOUND',
  },
  {
    rule: 'unmap of nothing',
    setup: emulated,
    method: 'delete',
    path: (vm) => `/v1/vms/${vm}/devices/net0/mappings/1/0x1000`,
    status: 404,
    code: 'MAPPING_NOT_FOUND',
  },
  {
    rule: 'VM id taken',
    setup: vmOnly,
    method: 'post',
    path: () => '/v1/vms',
    body: { id: 'VM' },
    status: 409,
    code: 'VM_EXISTS',
    pointer: '/id',
  },
  {
    rule: 'device id taken by an SMMU',
    setup: emulated,
    method: 'post',
    path: (vm) => `/v1/vms/${vm}/devices`,
    body: { id: 'smmuv3.0', driver: 'virtio-net-pci', bus: 'pcie.0', slot: 3 },
    status: 409,
    code: 'DUPLICATE_ID',
    pointer: '/id',
  },
  {
    rule: 'bus number taken',
    setup: accel,
    method: 'post',
    path: (vm) => `/v1/vms/${vm}/buses`,
    body: { id: 'pcie.2', type: 'pxb-pcie', busNr: 2 },
    status: 409,
    code: 'BUS_NUMBER_TAKEN',
    pointer: '/busNr',
  },
  {
    rule: 'slot/function taken',
    setup: emulated,
    method: 'post',
    path: (vm) => `/v1/vms/${vm}/devices`,
    body: { id: 'net1', driver: 'virtio-net-pci', bus: 'pcie.0', slot: 2 },
    status: 409,
    code: 'SLOT_TAKEN',
    pointer: '/slot',
  },
  {
    rule: 'two SMMUs on one root bus',
    setup: emulated,
    method: 'post',
    path: (vm) => `/v1/vms/${vm}/smmus`,
    body: { id: 'smmuv3.1', primaryBus: 'pcie.0' },
    status: 409,
    code: 'SMMU_BUS_TAKEN',
    pointer: '/primaryBus',
  },
  {
    rule: 'overlapping mapping of one device and stage',
    setup: async (vm) => {
      await emulated(vm);
      await command(t, 'post', `/v1/vms/${vm}/devices/net0/mappings`, {
        stage: 1,
        iova: '0x10000',
        output: '0x40000000',
        size: '0x4000',
      });
    },
    method: 'post',
    path: (vm) => `/v1/vms/${vm}/devices/net0/mappings`,
    body: { stage: 1, iova: '0x13000', output: '0x50000000', size: '0x2000' },
    status: 409,
    code: 'MAPPING_OVERLAP',
    pointer: '/iova',
  },
  {
    rule: 'SMMU on a root port',
    setup: accel,
    method: 'post',
    path: (vm) => `/v1/vms/${vm}/smmus`,
    body: { id: 'smmuv3.1', primaryBus: 'pcie.port1' },
    status: 422,
    code: 'SMMU_BUS_NOT_ROOT',
    pointer: '/primaryBus',
  },
  {
    rule: 'R8 vfio-pci behind an emulated SMMU (S9)',
    setup: emulated,
    method: 'post',
    path: (vm) => `/v1/vms/${vm}/devices`,
    body: { id: 'hostdev0', driver: 'vfio-pci', bus: 'pcie.0', slot: 3, host: '0000:75:00.1', iommufd: 'iommufd0' },
    status: 422,
    code: 'VFIO_BEHIND_EMULATED_SMMU',
  },
  {
    rule: 'R8 by adding an emulated SMMU over an attached vfio-pci device',
    setup: async (vm) => {
      await vmOnly(vm);
      await command(t, 'post', `/v1/vms/${vm}/devices`, {
        id: 'hostdev0',
        driver: 'vfio-pci',
        bus: 'pcie.0',
        slot: 3,
        host: '0000:75:00.1',
        iommufd: 'iommufd0',
      });
    },
    method: 'post',
    path: (vm) => `/v1/vms/${vm}/smmus`,
    body: { id: 'smmuv3.0', primaryBus: 'pcie.0' },
    status: 422,
    code: 'VFIO_BEHIND_EMULATED_SMMU',
  },
  {
    rule: 'R8 by turning accel off under a vfio-pci device',
    setup: accel,
    method: 'put',
    path: (vm) => `/v1/vms/${vm}/smmus/smmuv3.0/accel`,
    body: { enabled: false },
    status: 422,
    code: 'VFIO_BEHIND_EMULATED_SMMU',
    pointer: '/enabled',
  },
  {
    rule: 'R12 emulated endpoint behind accel=on',
    setup: accel,
    method: 'post',
    path: (vm) => `/v1/vms/${vm}/devices`,
    body: { id: 'net0', driver: 'virtio-net-pci', bus: 'pcie.port1', slot: 0, function: 1 },
    status: 422,
    code: 'ACCEL_EMULATED_ENDPOINT',
    pointer: '/driver',
  },
  {
    rule: 'R12 by turning accel on over an emulated device',
    setup: emulated,
    method: 'put',
    path: (vm) => `/v1/vms/${vm}/smmus/smmuv3.0/accel`,
    body: { enabled: true },
    status: 422,
    code: 'ACCEL_EMULATED_ENDPOINT',
    pointer: '/enabled',
  },
  {
    rule: 'R13 vfio-pci without iommufd behind accel=on',
    setup: accel,
    method: 'post',
    path: (vm) => `/v1/vms/${vm}/devices`,
    body: { id: 'hostdev1', driver: 'vfio-pci', bus: 'pcie.port1', slot: 0, function: 1, host: '0019:07:00.0' },
    status: 422,
    code: 'ACCEL_VFIO_WITHOUT_IOMMUFD',
    pointer: '/iommufd',
  },
  {
    rule: 'R13 by turning accel on over a vfio-pci device without iommufd',
    setup: async (vm) => {
      await vmOnly(vm);
      await command(t, 'post', `/v1/vms/${vm}/buses`, { id: 'pcie.1', type: 'pxb-pcie', busNr: 1 });
      // An endpoint sits behind a root port: a pxb-pcie takes bridges only (do_pci_register_device).
      await command(t, 'post', `/v1/vms/${vm}/buses`, {
        id: 'pcie.port1',
        type: 'pcie-root-port',
        bus: 'pcie.1',
        secondaryBusNr: 2,
      });
      await command(t, 'post', `/v1/vms/${vm}/devices`, {
        id: 'hostdev0',
        driver: 'vfio-pci',
        bus: 'pcie.port1',
        slot: 0,
        host: '0019:06:00.0',
      });
      await command(t, 'post', `/v1/vms/${vm}/smmus`, { id: 'smmuv3.0', primaryBus: 'pcie.0', accel: true });
      await command(t, 'put', `/v1/vms/${vm}/smmus/smmuv3.0/accel`, { enabled: false });
    },
    method: 'post',
    path: (vm) => `/v1/vms/${vm}/smmus`,
    body: { id: 'smmuv3.1', primaryBus: 'pcie.1', accel: true },
    status: 422,
    code: 'ACCEL_VFIO_WITHOUT_IOMMUFD',
  },
  {
    rule: 'R15 accel with stage=nested',
    setup: vmOnly,
    method: 'post',
    path: (vm) => `/v1/vms/${vm}/smmus`,
    body: { id: 'smmuv3.0', primaryBus: 'pcie.0', accel: true, stage: 'nested' },
    status: 422,
    code: 'ACCEL_STAGE_NOT_1',
    pointer: '/stage',
  },
  {
    rule: 'R15 accel with stage=2',
    setup: vmOnly,
    method: 'post',
    path: (vm) => `/v1/vms/${vm}/smmus`,
    body: { id: 'smmuv3.0', primaryBus: 'pcie.0', accel: true, stage: '2' },
    status: 422,
    code: 'ACCEL_STAGE_NOT_1',
    pointer: '/stage',
  },
  {
    rule: 'R15 by turning accel on for a stage=2 SMMU',
    setup: async (vm) => {
      await vmOnly(vm);
      await command(t, 'post', `/v1/vms/${vm}/smmus`, { id: 'smmuv3.0', primaryBus: 'pcie.0', stage: '2' });
    },
    method: 'put',
    path: (vm) => `/v1/vms/${vm}/smmus/smmuv3.0/accel`,
    body: { enabled: true },
    status: 422,
    code: 'ACCEL_STAGE_NOT_1',
  },
  {
    rule: 'R16 accel without KVM',
    setup: async (vm) => {
      await command(t, 'post', '/v1/vms', { id: vm, kvm: false });
    },
    method: 'post',
    path: (vm) => `/v1/vms/${vm}/smmus`,
    body: { id: 'smmuv3.0', primaryBus: 'pcie.0', accel: true },
    status: 422,
    code: 'ACCEL_WITHOUT_KVM',
    pointer: '/accel',
  },
  {
    rule: 'R16 by turning accel on without KVM',
    setup: async (vm) => {
      await command(t, 'post', '/v1/vms', { id: vm, kvm: false });
      await command(t, 'post', `/v1/vms/${vm}/smmus`, { id: 'smmuv3.0', primaryBus: 'pcie.0' });
    },
    method: 'put',
    path: (vm) => `/v1/vms/${vm}/smmus/smmuv3.0/accel`,
    body: { enabled: true },
    status: 422,
    code: 'ACCEL_WITHOUT_KVM',
  },
  {
    rule: 'oas 48 without accel',
    setup: vmOnly,
    method: 'post',
    path: (vm) => `/v1/vms/${vm}/smmus`,
    body: { id: 'smmuv3.0', primaryBus: 'pcie.0', oas: 48 },
    status: 422,
    code: 'OAS_NOT_SUPPORTED',
    pointer: '/oas',
  },
  {
    rule: 'mapping iova not aligned to the granule',
    setup: emulated,
    method: 'post',
    path: (vm) => `/v1/vms/${vm}/devices/net0/mappings`,
    body: { stage: 1, iova: '0x10800', output: '0x40000000', size: '0x1000' },
    status: 422,
    code: 'MAPPING_MISALIGNED',
    pointer: '/iova',
  },
  {
    rule: 'mapping output not aligned to a 64K granule',
    setup: async (vm) => {
      await emulated(vm);
      await command(t, 'put', `/v1/vms/${vm}/devices/net0/ste`, { config: 's1', cd: { granule: '64K' } });
    },
    method: 'post',
    path: (vm) => `/v1/vms/${vm}/devices/net0/mappings`,
    body: { stage: 1, iova: '0x10000', output: '0x40001000', size: '0x10000' },
    status: 422,
    code: 'MAPPING_MISALIGNED',
    pointer: '/output',
  },
  {
    rule: 'an STE whose new granule leaves a mapping misaligned',
    setup: async (vm) => {
      await emulated(vm);
      await command(t, 'post', `/v1/vms/${vm}/devices/net0/mappings`, {
        stage: 1,
        iova: '0x11000',
        output: '0x40000000',
        size: '0x1000',
      });
    },
    method: 'put',
    path: (vm) => `/v1/vms/${vm}/devices/net0/ste`,
    body: { config: 's1', cd: { granule: '64K' } },
    status: 422,
    code: 'MAPPING_MISALIGNED',
    pointer: '/cd/granule',
  },
  {
    rule: 'mapping of size zero',
    setup: emulated,
    method: 'post',
    path: (vm) => `/v1/vms/${vm}/devices/net0/mappings`,
    body: { stage: 1, iova: '0x10000', output: '0x40000000', size: '0x0' },
    status: 422,
    code: 'MAPPING_SIZE_ZERO',
    pointer: '/size',
  },
  {
    rule: 'input range past 64 bits',
    setup: emulated,
    method: 'post',
    path: (vm) => `/v1/vms/${vm}/devices/net0/mappings`,
    body: { stage: 1, iova: '0xfffffffffffff000', output: '0x40000000', size: '0x2000' },
    status: 422,
    code: 'ADDRESS_OUT_OF_RANGE',
    pointer: '/iova',
  },
  {
    rule: 'output range past 64 bits',
    setup: emulated,
    method: 'post',
    path: (vm) => `/v1/vms/${vm}/devices/net0/mappings`,
    body: { stage: 1, iova: '0x10000', output: '0xffffffffffffe000', size: '0x4000' },
    status: 422,
    code: 'ADDRESS_OUT_OF_RANGE',
    pointer: '/output',
  },
  {
    rule: 'stage-2 mapping on a stage-1 SMMU',
    setup: emulated,
    method: 'post',
    path: (vm) => `/v1/vms/${vm}/devices/net0/mappings`,
    body: { stage: 2, iova: '0x10000', output: '0x40000000', size: '0x1000' },
    status: 422,
    code: 'STAGE_NOT_SUPPORTED',
    pointer: '/stage',
  },
  {
    rule: 'mapping for a device no SMMU covers',
    setup: async (vm) => {
      await vmOnly(vm);
      await command(t, 'post', `/v1/vms/${vm}/devices`, {
        id: 'net0',
        driver: 'virtio-net-pci',
        bus: 'pcie.0',
        slot: 2,
      });
    },
    method: 'post',
    path: (vm) => `/v1/vms/${vm}/devices/net0/mappings`,
    body: { stage: 1, iova: '0x10000', output: '0x40000000', size: '0x1000' },
    status: 422,
    code: 'NO_SMMU_FOR_DEVICE',
  },
  {
    rule: 'MSI data wider than 32 bits',
    setup: emulated,
    method: 'put',
    path: (vm) => `/v1/vms/${vm}/devices/net0/msi-vectors/0`,
    body: { address: '0x8090040', data: '0x100000000' },
    status: 422,
    code: 'MSI_DATA_OUT_OF_RANGE',
    pointer: '/data',
  },
  {
    rule: 'cd on a bypass STE',
    setup: emulated,
    method: 'put',
    path: (vm) => `/v1/vms/${vm}/devices/net0/ste`,
    body: { config: 'bypass', cd: { t0sz: 25 } },
    status: 422,
    code: 'STE_FIELD_NOT_USED',
    pointer: '/cd',
  },
  {
    rule: 'root port slot other than 0',
    setup: accel,
    method: 'post',
    path: (vm) => `/v1/vms/${vm}/devices`,
    body: { id: 'hostdev1', driver: 'vfio-pci', bus: 'pcie.port1', slot: 1, host: '0019:07:00.0', iommufd: 'iommufd0' },
    status: 422,
    code: 'SLOT_NOT_VALID',
    pointer: '/slot',
  },
  {
    rule: 'pxb-pcie without busNr',
    setup: vmOnly,
    method: 'post',
    path: (vm) => `/v1/vms/${vm}/buses`,
    body: { id: 'pcie.1', type: 'pxb-pcie' },
    status: 400,
    code: 'FIELD_REQUIRED',
    pointer: '/busNr',
  },
  {
    rule: 'vfio-pci without host',
    setup: vmOnly,
    method: 'post',
    path: (vm) => `/v1/vms/${vm}/devices`,
    body: { id: 'hostdev0', driver: 'vfio-pci', bus: 'pcie.0', slot: 3 },
    status: 400,
    code: 'FIELD_REQUIRED',
    pointer: '/host',
  },
  {
    rule: 'GICv2 with an ITS',
    setup: async () => undefined,
    method: 'post',
    path: () => '/v1/vms',
    body: { id: 'VM', gicVersion: 2, its: true },
    status: 422,
    code: 'GIC_V2_WITHOUT_ITS',
    pointer: '/its',
  },
];

describe('a command that breaks a topology rule is refused and appends nothing', () => {
  cases.forEach((c, i) => {
    it(`${c.rule} -> ${c.status} ${c.code}`, async () => {
      const vm = `rules-${i}`;
      await c.setup(vm);
      const before = await eventCount(t);
      const etagBefore = (await t.http.get(`/v1/vms/${vm}`)).headers.etag;
      const path = c.path(vm);
      const body =
        c.body === undefined ? undefined : JSON.parse(JSON.stringify(c.body).replaceAll('"VM"', JSON.stringify(vm)));
      const request = t.http[c.method](path);
      const response = body === undefined ? await request : await request.send(body);

      expect(response.status).toBe(c.status);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(response.body).toMatchObject({
        status: c.status,
        code: c.code,
        type: expect.any(String),
        title: expect.any(String),
        detail: expect.any(String),
      });
      if (c.pointer !== undefined)
        expect(response.body.errors).toContainEqual(expect.objectContaining({ pointer: c.pointer }));
      expect(await eventCount(t)).toBe(before);
      expect((await t.http.get(`/v1/vms/${vm}`)).headers.etag).toBe(etagBefore);
    });
  });

  it('names the rule and quotes QEMU in the detail of R-rules', async () => {
    await accel('rules-detail');
    const response = await t.http
      .post('/v1/vms/rules-detail/devices')
      .send({ id: 'net0', driver: 'virtio-net-pci', bus: 'pcie.port1', slot: 0, function: 1 });
    expect(response.body.detail).toContain('R12');
    expect(response.body.detail).toContain('Emulated endpoint devices are not allowed when using arm-smmuv3,accel=on');
  });

  it('accepts a no-op accel toggle without appending', async () => {
    await accel('rules-noop');
    const before = await eventCount(t);
    const response = await t.http.put('/v1/vms/rules-noop/smmus/smmuv3.0/accel').send({ enabled: true }).expect(200);
    expect(response.body.events).toEqual([]);
    expect(await eventCount(t)).toBe(before);
  });
});
