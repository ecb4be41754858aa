// Devices, the STE the guest programmed for them, their IOVA mappings and MSI-X vectors.

import { Type } from '@sinclair/typebox';
import { ADDRESS_SIZES } from '../../domain/topology/defaults.js';
import { GRANULES, PERMS, STAGES, STE_CONFIGS } from '../../domain/topology/types.js';
import { Body, Hex, HexOut, Id, Listed, NestedBody, Nullable, OneOf } from './common.js';

/** PCI host address as vfio-pci's host= takes it. */
const HOST_PATTERN = '^[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-1][0-9a-fA-F]\\.[0-7]$';

export const AttachDeviceBody = Body(
  {
    id: Id('device id (QEMU id), e.g. hostdev0', 'hostdev0'),
    driver: Type.String({
      pattern: '^[a-z0-9][a-z0-9-]{0,63}$',
      description:
        "vfio-pci, or an emulated model such as virtio-net-pci; virtio-iommu-pci (or its alias virtio-iommu) is the VM's virtio-iommu, on pcie.0",
    }),
    bus: Id('pcie.0, a pxb-pcie or a pcie-root-port id', 'pcie.port1'),
    slot: Type.Integer({ minimum: 0, maximum: 31, description: 'PCI slot (device number)' }),
    function: Type.Optional(Type.Integer({ minimum: 0, maximum: 7, description: 'PCI function (default 0)' })),
    host: Type.Optional(
      Type.String({
        pattern: HOST_PATTERN,
        description: 'vfio-pci: host PCI address DDDD:BB:DD.F (required unless hostFd is true)',
      }),
    ),
    hostFd: Type.Optional(
      Type.Boolean({
        description:
          'vfio-pci: the host device is handed to QEMU as an open file descriptor (fd=, as libvirt passes an iommufd device), so host may be left out',
      }),
    ),
    iommufd: Type.Optional(Id('vfio-pci: the iommufd object id (required behind accel=on)', 'iommufd0')),
  },
  {
    examples: {
      vfio: {
        summary: 'first session, step 5: vfio-pci hostdev0 behind pcie.port1 with iommufd',
        value: {
          id: 'hostdev0',
          driver: 'vfio-pci',
          bus: 'pcie.port1',
          slot: 0,
          host: '0019:06:00.0',
          iommufd: 'iommufd0',
        },
      },
    },
  },
);

const Granule = OneOf(GRANULES, 'translation granule');
const AddressSize = (description: string) => OneOf(ADDRESS_SIZES, description);
const StageNumber = OneOf(STAGES, 'translation stage');

const CdBody = NestedBody(
  {
    granule: Type.Optional(Granule),
    t0sz: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 63, description: 'CD.T0SZ; the SMMU accepts 16 to 39 (else C_BAD_CD)' }),
    ),
    t1sz: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 63,
        description: 'CD.T1SZ, the size of TT1 (default t0sz); 16 to 39 when EPD1=0 (else C_BAD_CD)',
      }),
    ),
    epd1: Type.Optional(Type.Boolean({ description: 'CD.EPD1: TT1 walks disabled' })),
    ips: Type.Optional(AddressSize('CD.IPS in output bits')),
    recordFaults: Type.Optional(Type.Boolean({ description: 'CD.R: record stage-1 faults' })),
    affd: Type.Optional(Type.Boolean({ description: 'CD.AFFD: access-flag faults disabled' })),
  },
  'stage-1 context descriptor (s1, nested); fields left out take the defaults',
);

const S2Body = NestedBody(
  {
    granule: Type.Optional(Granule),
    t0sz: Type.Optional(Type.Integer({ minimum: 0, maximum: 63, description: 'STE.S2T0SZ' })),
    ps: Type.Optional(AddressSize('STE.S2PS in output bits')),
    recordFaults: Type.Optional(Type.Boolean({ description: 'STE.S2R: record stage-2 faults' })),
  },
  'stage-2 fields of the STE (s2, nested); fields left out take the defaults',
);

export const SteBody = Body(
  {
    config: OneOf(STE_CONFIGS, 'STE.Config as the guest programmed it'),
    cd: Type.Optional(CdBody),
    s2: Type.Optional(S2Body),
    cdAddress: Type.Optional(
      Hex('STE.S1ContextPtr: where the CD is (an IPA in nested mode, read through stage 2)', '0x48000000'),
    ),
    ttb0: Type.Optional(Hex('CD.TTB0: the stage-1 table base for TT0 (an IPA in nested mode)', '0x48001000')),
    ttb1: Type.Optional(Hex('CD.TTB1: the stage-1 table base for TT1 (an IPA in nested mode)', '0x48002000')),
  },
  {
    description: 'replaces the whole STE: fields left out take the defaults again',
    examples: {
      s1: {
        summary: "Linux's stage-1 STE (the default)",
        value: { config: 's1', cd: { granule: '4K', t0sz: 16, epd1: true, ips: 44 } },
      },
    },
  },
);

export const MapBody = Body(
  {
    stage: StageNumber,
    iova: Hex('input address (gIOVA for stage 1, IPA for stage 2)', '0xfffff000'),
    output: Hex('output address', '0x8090000'),
    size: Hex('size in bytes, a multiple of the granule', '0x1000'),
    perm: Type.Optional(OneOf(PERMS, 'access permission (default rw)')),
    accessFlag: Type.Optional(Type.Boolean({ description: 'leaf PTE AF (default true)' })),
  },
  {
    examples: {
      doorbell: {
        summary: "the guest's stage-1 mapping of the vITS doorbell page",
        value: { stage: 1, iova: '0xfffff000', output: '0x8090000', size: '0x1000' },
      },
    },
  },
);

export const MappingParams = Type.Object({
  vm: Id('VM id', 'vm1'),
  dev: Id('device id', 'hostdev0'),
  stage: StageNumber,
  iova: Hex('input address the mapping starts at', '0xfffff000'),
});

export const VectorParams = Type.Object({
  vm: Id('VM id', 'vm1'),
  dev: Id('device id', 'hostdev0'),
  n: Type.Integer({ minimum: 0, maximum: 2047, description: 'MSI-X table entry', examples: [0] }),
});

export const VectorBody = Body(
  {
    address: Hex('message address the guest wrote (a gIOVA behind an SMMU)', '0xfffff040'),
    data: Hex('message data (EventID), 32 bits', '0x0'),
  },
  {
    examples: {
      s10: {
        summary: 'first session, step 6: the guest writes gIOVA 0xFFFFF040 into vector 0',
        value: { address: '0xFFFFF040', data: '0x0' },
      },
    },
  },
);

const Cd = Type.Object({
  granule: Granule,
  t0sz: Type.Integer(),
  t1sz: Type.Integer(),
  epd1: Type.Boolean(),
  ips: Type.Integer(),
  recordFaults: Type.Boolean(),
  affd: Type.Boolean(),
});
const S2 = Type.Object({ granule: Granule, t0sz: Type.Integer(), ps: Type.Integer(), recordFaults: Type.Boolean() });

export const DeviceSchema = Type.Object(
  {
    id: Type.String(),
    ...Listed,
    driver: Type.String(),
    bus: Type.String(),
    slot: Type.Integer(),
    function: Type.Integer(),
    host: Nullable(
      Type.String({
        description: 'the host PCI address; null when not known (an emulated device, or a vfio-pci passed by fd)',
      }),
    ),
    hostFd: Type.Boolean({ description: 'vfio-pci passed to QEMU as an open file descriptor (fd=)' }),
    iommufd: Nullable(Type.String()),
    rootBus: Type.String(),
    busNumber: Type.Integer(),
    streamId: HexOut('bus << 8 | slot << 3 | function, of the device or of requesterId.bridge when an alias applies'),
    devid: HexOut('KVM devid (= stream id)'),
    requesterId: Type.Optional(
      Type.Object(
        {
          id: HexOut('the requester id the SMMU and ITS see (= streamId)'),
          ownId: HexOut("the device's own bus << 8 | slot << 3 | function"),
          bridge: Type.String({ description: 'the bridge whose conventional bus gives the alias' }),
          rule: OneOf(
            ['secondary-bus', 'bridge-bdf'],
            "secondary-bus: behind a pcie-pci-bridge, its secondary bus and devfn 00.0 (PCI_REQ_ID_SECONDARY_BUS); bridge-bdf: behind a pci-bridge, the bridge's own BDF (PCI_REQ_ID_BDF)",
          ),
        },
        { description: 'present when QEMU translates the device by a requester id other than its own BDF' },
      ),
    ),
    smmu: Nullable(Type.String({ description: 'the SMMU in front of it' })),
    virtioIommu: Nullable(Type.String({ description: 'the virtio-iommu that translates it' })),
    ste: Nullable(
      Type.Object({
        config: OneOf(STE_CONFIGS, 'STE.Config'),
        cd: Nullable(Cd),
        s2: Nullable(S2),
        cdAddress: Nullable(HexOut('STE.S1ContextPtr, when stated')),
        ttb0: Nullable(HexOut('CD.TTB0, when stated')),
        ttb1: Nullable(HexOut('CD.TTB1, when stated')),
      }),
    ),
    mappingCount: Type.Object({ stage1: Type.Integer(), stage2: Type.Integer() }),
    vectors: Type.Array(
      Type.Object({ vector: Type.Integer(), address: HexOut('message address'), data: HexOut('message data') }),
    ),
  },
  { $id: 'Device', description: 'a PCI device: placement, stream id, STE and programmed vectors' },
);

export const MappingSchema = Type.Object(
  {
    id: Type.String({
      description: '<stage>/<iova>: the path of the mapping under the device',
      examples: ['1/0x8000000'],
    }),
    ...Listed,
    device: Type.String(),
    stage: StageNumber,
    iova: HexOut('input address'),
    output: HexOut('output address'),
    size: HexOut('size in bytes'),
    perm: OneOf(PERMS, 'access permission'),
    accessFlag: Type.Boolean(),
    setBy: Type.Integer({ description: 'position of the event that made it' }),
  },
  { $id: 'Mapping', description: 'an IOVA range mapped at one stage' },
);

export const VectorSchema = Type.Object(
  {
    id: Type.Integer({ description: 'the vector number' }),
    ...Listed,
    device: Type.String(),
    vector: Type.Integer(),
    address: HexOut('message address'),
    data: HexOut('message data'),
    setBy: Type.Integer({ description: 'position of the event that programmed it' }),
  },
  { $id: 'MsiVector', description: 'an MSI-X table entry as the guest programmed it' },
);

export const DetachedSchema = Type.Object(
  { id: Type.String(), detached: Type.Literal(true) },
  { description: 'the detached device' },
);
export const UnmappedSchema = Type.Object(
  {
    device: Type.String(),
    stage: StageNumber,
    iova: HexOut('where the removed range started'),
    unmapped: Type.Literal(true),
  },
  { description: 'the removed mapping' },
);
