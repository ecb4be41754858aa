// VMs: the board and the whole projected topology.

import { Type } from '@sinclair/typebox';
import { GIC_VERSIONS } from '../../domain/topology/types.js';
import { MSI_CONTROLLERS } from '../../domain/virt-board.js';
import { Body, Hex, HexOut, Id, Listed, Nullable, OneOf } from './common.js';
import { GuestField, VmGuestSchema } from './guest.js';
import { QemuField, VmQemuSchema } from './qemu-build.js';

export const DefineVmBody = Body(
  {
    id: Id('VM id, chosen by the client', 'vm1'),
    ramSize: Type.Optional(Hex('RAM size; RAM starts at 0x40000000 (default 0x40000000)', '0x100000000')),
    gicVersion: Type.Optional(OneOf(GIC_VERSIONS, 'GIC version (default 3)')),
    its: Type.Optional(Type.Boolean({ description: 'in-kernel vITS (default true with gicVersion 3)' })),
    kvm: Type.Optional(Type.Boolean({ description: 'KVM with in-kernel irqchip (default true)' })),
    hostItsBase: Type.Optional(Hex('physical ITS base of the host, for the hardware path', '0x202100000')),
    rmrHonoured: Type.Optional(
      Type.Boolean({
        description:
          'the guest honours the IORT RMR for the sw_msi window (default true: ACPI Linux; false for DT boot); each SMMU starts from it (§9.4)',
      }),
    ),
    defaultBusBypassIommu: Type.Optional(
      Type.Boolean({
        description:
          '-machine default_bus_bypass_iommu=on: no IOMMU (SMMU or virtio-iommu) translates the devices of pcie.0 (default false)',
      }),
    ),
    qemu: Type.Optional(QemuField),
    guest: Type.Optional(GuestField),
  },
  {
    examples: {
      s10: {
        summary:
          'first session, step 1: 4 GiB of RAM, GICv3 with ITS, KVM, the host ITS at 0x202100000, QEMU 11.0.0 (appends VmDefined and QemuBuildDeclared)',
        value: { id: 'vm1', ramSize: '0x100000000', hostItsBase: '0x202100000', qemu: { version: '11.0.0' } },
      },
      nvidia: {
        summary: "a VM on NVIDIA's Debian 1:10.1.0+nvidia1-unstable (address-space, series v3-v5)",
        value: {
          id: 'vm-nv',
          ramSize: '0x100000000',
          hostItsBase: '0x202100000',
          qemu: { package: 'Debian 1:10.1.0+nvidia1-unstable' },
        },
      },
    },
  },
);

const VirtioIommuSchema = Type.Object(
  {
    device: Type.String({ description: 'the virtio-iommu-pci device (its resource under devices)' }),
    bus: Type.String({ description: 'pcie.0, where virt lets it sit' }),
    streamId: HexOut('its own BDF, which it does not translate'),
    reservedRegions: Type.Array(
      Type.Object({
        start: HexOut('first address'),
        end: HexOut('last address (inclusive, as QEMU writes reserved-regions)'),
        type: OneOf(['msi', 'reserved'], 'VIRTIO_IOMMU_RESV_MEM_T_MSI (identity) or _T_RESERVED (fault)'),
      }),
      {
        description:
          "the reserved-regions virt's pre_plug sets: the vITS GITS_TRANSLATER page with an ITS, the GICv2m page, none without an MSI controller",
      },
    ),
    covers: Type.Array(Type.String(), {
      description: 'the devices it translates: every device of a root bus that does not bypass it, except itself',
    }),
    bypassedBuses: Type.Array(Type.String(), {
      description: 'root buses with bypass_iommu=on, which it does not translate',
    }),
    setBy: Type.Integer({ description: 'position of the event that attached it' }),
  },
  { description: "the VM's virtio-iommu (-device virtio-iommu-pci, <iommu model='virtio'/>)" },
);

export const VmSchema = Type.Object(
  {
    id: Type.String(),
    ...Listed,
    status: OneOf(['active', 'decommissioned'], 'decommissioned once DELETE /v1/vms/{vm} took it out of service'),
    decommissionedBy: Nullable(Type.Integer({ description: 'position of the VmDecommissioned event, if any' })),
    version: Type.Integer({ description: 'number of events in the VM stream' }),
    picture: Type.String({ description: 'absolute URL of the topology picture (image/svg+xml)' }),
    qemu: VmQemuSchema,
    guest: VmGuestSchema,
    ramBase: HexOut('where RAM starts'),
    ramSize: HexOut('RAM size'),
    gicVersion: OneOf(GIC_VERSIONS, 'GIC version'),
    its: Type.Boolean(),
    kvm: Type.Boolean(),
    hostItsBase: Nullable(HexOut('physical ITS base of the host')),
    rmrHonoured: Type.Boolean({ description: "the guest's RMR handling, the default of each SMMU (§9.4)" }),
    defaultBusBypassIommu: Type.Boolean({
      description: '-machine default_bus_bypass_iommu: pcie.0 bypasses the IOMMU (false unless set)',
    }),
    virtioIommu: Nullable(VirtioIommuSchema),
    msiController: OneOf(MSI_CONTROLLERS, 'what receives MSIs: the vITS, a GICv2m frame, or nothing'),
    msiGpa: HexOut('the vITS doorbell gPA that upstream QEMU (11.0.0 and later) hands KVM with accel (msi-gpa)'),
    buses: Type.Array(Type.Ref('Bus')),
    smmus: Type.Array(Type.Ref('Smmu')),
    devices: Type.Array(Type.Ref('Device')),
  },
  { $id: 'Vm', description: 'a VM topology as projected from its events' },
);
