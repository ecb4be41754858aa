// Re-import into an existing VM and the diff of a VM between two versions (contract v1.3,
// issue 20): the change list both answer, the routes that changed, and the request shapes.

import { Type } from '@sinclair/typebox';
import { SEMANTICS } from '../../domain/resolve/types.js';
import { CHANGE_OPS, PART_KINDS } from '../../domain/topology/diff.js';
import { GIC_VERSIONS } from '../../domain/topology/types.js';
import { IMPORT_FORMATS } from '../../interchange/report.js';
import { Body, ID_PATTERN, Nullable, OneOf, Query } from './common.js';
import { Route } from './resolution.js';

const B1_CHANGED = `qemu-system-aarch64 -machine virt,gic-version=3,accel=kvm -m 16G -nodefaults \\
  -device pxb-pcie,id=pcie.1,bus_nr=1,bus=pcie.0,addr=0x1 \\
  -device arm-smmuv3,primary-bus=pcie.1,id=smmuv3.0 \\
  -device pcie-root-port,id=pcie.port1,bus=pcie.1,chassis=1,addr=0x0 \\
  -device pcie-root-port,id=pcie.port2,bus=pcie.1,chassis=2,addr=0x1 \\
  -device virtio-net-pci,bus=pcie.port2,id=net0
`;

const PartFields = Type.Object(
  {},
  {
    additionalProperties: true,
    description:
      'the part as the VM holds it (add: after; remove: before), or only the fields that changed (change: before and after); 64-bit values as 0x-hex. board: ramSize, gicVersion, its, kvm, hostItsBase, rmrHonoured, defaultBusBypassIommu; bus: type, bus, number, bypassIommu, slot, function; smmu: primaryBus, stage, oas, accel; device: driver, bus, slot, function, host, hostFd, iommufd; qemu and guest: the whole declaration',
  },
);

const changeFields = {
  op: OneOf(CHANGE_OPS, 'add: the part is new; remove: it went; change: it is there on both sides with other fields'),
  kind: OneOf(PART_KINDS, 'what the part is; board, qemu and guest have the VM id as id'),
  id: Type.String({ example: 'pcie.port2' }),
  before: Type.Optional(PartFields),
  after: Type.Optional(PartFields),
};

export const Change = Type.Object(changeFields, {
  description: 'a part added, removed or changed',
  example: {
    op: 'add',
    kind: 'device',
    id: 'net0',
    after: {
      driver: 'virtio-net-pci',
      bus: 'pcie.port2',
      slot: 0,
      function: 0,
      host: null,
      hostFd: false,
      iommufd: null,
    },
  },
});

export const RouteChange = Type.Object(
  {
    device: Type.String(),
    vector: Type.Integer(),
    semantics: OneOf(SEMANTICS, 'the QEMU behaviour both sides were resolved under'),
    before: Nullable(Route),
    after: Nullable(Route),
  },
  {
    description:
      'a programmed vector whose KVM MSI route differs; null: the vector is not there on that side (its device was added or removed). after.installed false where before was true: the change makes the vector lose its interrupts',
  },
);

export const ReimportBody = Body(
  {
    format: OneOf(IMPORT_FORMATS, 'qemu-cmdline: a qemu-system-aarch64 command line; libvirt-xml: a <domain>'),
    source: Type.String({ minLength: 1, description: 'the text, as for POST /v1/vm-imports' }),
    dryRun: Type.Optional(Type.Boolean({ default: false, description: 'answer the plan, append nothing' })),
    gicVersion: Type.Optional(
      OneOf(
        GIC_VERSIONS,
        "libvirt-xml only: the host's GIC version; absent: the VM's own, for a domain that names none",
      ),
    ),
    busNumbers: Type.Optional(
      Type.Record(Type.String({ pattern: ID_PATTERN }), Type.Integer({ minimum: 1, maximum: 255 }), {
        description: 'secondary bus numbers of root ports by id, as for POST /v1/vm-imports',
      }),
    ),
  },
  {
    description: 'the source the VM runs now',
    examples: {
      changed: {
        summary: 'the lab added a root port with a NIC behind it',
        value: { format: 'qemu-cmdline', source: B1_CHANGED, dryRun: true },
      },
    },
  },
);

export const ReimportAnswer = Type.Object(
  {
    vm: Type.String(),
    dryRun: Type.Boolean(),
    changes: Type.Array(Change, { description: 'what differs between the VM and the source; [] when nothing does' }),
    routes: Type.Array(RouteChange, {
      description: "the programmed vectors whose route the change moves, under the VM's semantics",
    }),
  },
  {
    description: 'the plan (dryRun) or the change appended',
    example: {
      vm: 'vm1',
      version: 9,
      dryRun: false,
      changes: [
        {
          op: 'add',
          kind: 'bus',
          id: 'pcie.port2',
          after: { type: 'pcie-root-port', bus: 'pcie.1', number: 3, bypassIommu: false },
        },
      ],
      routes: [],
      events: [{ position: 42, streamVersion: 9, type: 'BusAdded' }],
    },
  },
);

const SemanticsOrAll = OneOf(
  [...SEMANTICS, 'all'],
  "the QEMU behaviour the routes are compared under; all: under each (one entry per semantics); absent: each side's declared build picks",
);

export const DiffQuery = Query({
  from: Type.Optional(
    Type.Integer({
      minimum: 0,
      description: 'the older version (0: before the VM existed); default: the version before the last change',
    }),
  ),
  to: Type.Optional(Type.Integer({ minimum: 1, description: 'the newer version; default: the current one' })),
  semantics: Type.Optional(SemanticsOrAll),
});

export const DiffPictureQuery = DiffQuery;

export const DiffSchema = Type.Object(
  {
    vm: Type.String(),
    from: Type.Integer(),
    to: Type.Integer(),
    changes: Type.Array(
      Type.Object({
        ...changeFields,
        events: Type.Array(Type.Integer(), {
          description: 'positions of the events after from, up to to, that touched the part',
        }),
      }),
    ),
    routes: Type.Array(RouteChange),
    picture: Type.String({ format: 'uri', description: 'the diff drawn (GET .../diff.svg with the same versions)' }),
  },
  {
    description: 'what changed in a VM between two versions',
    example: {
      vm: 'vm1',
      from: 8,
      to: 10,
      changes: [
        {
          op: 'remove',
          kind: 'device',
          id: 'hostdev1',
          before: {
            driver: 'vfio-pci',
            bus: 'pcie.port2',
            slot: 0,
            function: 0,
            host: '0018:06:00.0',
            hostFd: false,
            iommufd: 'iommufd0',
          },
          events: [57],
        },
        {
          op: 'change',
          kind: 'smmu',
          id: 'smmuv3.0',
          before: { accel: true },
          after: { accel: false },
          events: [58],
        },
      ],
      routes: [
        {
          device: 'hostdev1',
          vector: 0,
          semantics: 'upstream',
          before: { installed: true, address: '0x8090040', data: '0x0', devid: '0x10', flags: 'KVM_MSI_VALID_DEVID' },
          after: null,
        },
      ],
      picture: 'http://127.0.0.1:8080/v1/vms/vm1/diff.svg?from=8&to=10',
    },
  },
);
