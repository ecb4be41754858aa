// Import and export of a VM's topology: a qemu-system-aarch64 command line or a libvirt domain.

import { Type } from '@sinclair/typebox';
import { GIC_VERSIONS } from '../../domain/topology/types.js';
import { IMPORT_FORMATS } from '../../interchange/report.js';
import { Body, errorResponses, Id, ID_PATTERN, Nullable, OneOf } from './common.js';
import { GuestField } from './guest.js';
import { QemuField } from './qemu-build.js';

const B1_CMDLINE = `qemu-system-aarch64 -machine virt,gic-version=3,accel=kvm -nodefaults -cpu host -smp 4 -m 16G \\
  -bios /usr/share/AAVMF/AAVMF_CODE.fd \\
  -object iommufd,id=iommufd0 \\
  -device pxb-pcie,id=pcie.1,bus_nr=1,bus=pcie.0,addr=0x1 \\
  -device arm-smmuv3,primary-bus=pcie.1,id=smmuv3.0,accel=on,ats=on,ril=off,ssidsize=20,oas=48 \\
  -device pcie-root-port,id=pcie.port1,bus=pcie.1,chassis=1,addr=0x0 \\
  -device vfio-pci,host=0019:06:00.0,bus=pcie.port1,iommufd=iommufd0,id=dev0 \\
  -device pxb-pcie,id=pcie.2,bus_nr=8,bus=pcie.0,addr=0x2 \\
  -device arm-smmuv3,primary-bus=pcie.2,id=smmuv3.1,accel=on \\
  -device pcie-root-port,id=pcie.port2,bus=pcie.2,chassis=2,addr=0x0 \\
  -device vfio-pci,host=0018:06:00.0,bus=pcie.port2,iommufd=iommufd0,id=dev1 \\
  -drive file=image.qcow2,if=none,id=fs -device virtio-blk-device,drive=fs -nographic
`;

const B2_DOMAIN = `<domain type='kvm'>
  <name>accel-guest</name>
  <memory unit='GiB'>16</memory>
  <vcpu>4</vcpu>
  <os firmware='efi'><type arch='aarch64' machine='virt'>hvm</type></os>
  <features><acpi/><gic version='3'/></features>
  <cpu mode='host-passthrough'/>
  <iommufd enabled='yes'/>
  <devices>
    <controller type='pci' index='0' model='pcie-root'/>
    <controller type='pci' index='1' model='pcie-expander-bus'>
      <model name='pxb-pcie'/>
      <target busNr='1'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x0'/>
    </controller>
    <controller type='pci' index='2' model='pcie-root-port'>
      <model name='pcie-root-port'/>
      <target chassis='1' port='0x0'/>
      <address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>
    </controller>
    <hostdev mode='subsystem' type='pci' managed='yes'>
      <driver iommufd='yes'/>
      <source><address domain='0x0019' bus='0x06' slot='0x00' function='0x0'/></source>
      <address type='pci' domain='0x0000' bus='0x02' slot='0x00' function='0x0'/>
    </hostdev>
    <iommu model='smmuv3'>
      <driver pciBus='1' accel='on' ats='on' ril='off' ssidsize='20' oas='48'/>
    </iommu>
  </devices>
</domain>
`;

export const ImportBody = Body(
  {
    vm: Id('id of the VM to create', 'vm-imported'),
    format: OneOf(IMPORT_FORMATS, 'qemu-cmdline: a qemu-system-aarch64 command line; libvirt-xml: a <domain>'),
    source: Type.String({
      minLength: 1,
      description: 'the text: a command line as a shell reads it (quotes, line continuations), or the domain XML',
    }),
    gicVersion: Type.Optional(
      OneOf(
        GIC_VERSIONS,
        "libvirt-xml only: the host's GIC version, which libvirt uses when a KVM domain names none (no <gic>, or <gic version='host'>); without it the import assumes GICv3 with an ITS and says so in the report",
      ),
    ),
    qemu: Type.Optional(QemuField),
    guest: Type.Optional(GuestField),
    busNumbers: Type.Optional(
      Type.Record(Type.String({ pattern: ID_PATTERN }), Type.Integer({ minimum: 1, maximum: 255 }), {
        description:
          'secondary bus numbers of root ports by id, when they are not what EDK2 gives (domain reference §9)',
      }),
    ),
  },
  {
    description: 'a VM to create from a command line or a libvirt domain, in one atomic append',
    examples: {
      qemu: {
        summary: 'the accelerated command line of qemu-fidelity-and-import.md B1 (dev0 gets stream id 0x200)',
        value: { vm: 'vm-b1', format: 'qemu-cmdline', source: B1_CMDLINE },
      },
      libvirt: {
        summary: 'the libvirt domain of qemu-fidelity-and-import.md B2 (hostdev0 gets stream id 0x200)',
        value: { vm: 'vm-b2', format: 'libvirt-xml', source: B2_DOMAIN },
      },
    },
  },
);

const SourceRefSchema = Type.Union(
  [
    Type.Object({ token: Type.Integer({ description: 'the token of the command line (0 = the program)' }) }),
    Type.Object({ line: Type.Integer(), column: Type.Integer() }),
  ],
  { description: 'where in the source' },
);

export const ImportReportSchema = Type.Object(
  {
    format: OneOf(IMPORT_FORMATS, 'the format read'),
    sha256: Type.String({ description: 'SHA-256 of the source (as in each event metadata.importedFrom)' }),
    emulator: Type.Optional(
      Nullable(
        Type.Object(
          {
            binary: Type.String({
              description: "the binary as the source names it (libvirt's <emulator>, the program)",
            }),
            from: OneOf(['program', 'emulator-element'] as const, 'the command line program, or <emulator>'),
            at: SourceRefSchema,
            notes: Type.Array(Type.String()),
          },
          {
            description:
              'the QEMU binary the source names: recorded, never read as a build (a version in a path is a name, not an answer); doorbell probe-qemu BINARY --vm VM or doorbell import --probe-qemu declares what it answers. null: the source names none',
          },
        ),
      ),
    ),
    parts: Type.Array(
      Type.Object({
        at: SourceRefSchema,
        text: Type.String({ description: 'the part as written' }),
        became: Type.Object({
          kind: OneOf(['vm', 'bus', 'smmu', 'device', 'iommufd'] as const, 'what it became'),
          id: Type.String(),
        }),
        notes: Type.Array(Type.String(), { description: 'read but not modelled, ids generated, defaults' }),
      }),
      { description: 'what each understood part became' },
    ),
    ignored: Type.Array(Type.Object({ at: SourceRefSchema, text: Type.String(), reason: Type.String() }), {
      description: 'every part left out, and why',
    }),
    busNumbers: Type.Array(
      Type.Object({
        bus: Type.String(),
        busNumber: Type.Integer(),
        rule: OneOf(['bus_nr', 'firmware', 'busNumbers'] as const, 'what gave the number'),
        detail: Type.String(),
      }),
      { description: 'each bus number and the rule that gave it' },
    ),
  },
  { $id: 'ImportReport', description: 'what the import made of the source' },
);

/** An export: text in a media type, with the VM's ETag. */
export function exportResponses(mediaType: string, description: string) {
  return {
    200: {
      description,
      headers: {
        ETag: { type: 'string', description: 'the VM version exported; If-None-Match answers 304' },
        'Doorbell-Bus-Numbers': {
          type: 'string',
          description:
            'JSON object of root-port secondary bus numbers the text cannot carry (not what EDK2 gives): pass it as busNumbers when importing; absent when none',
        },
      },
      content: { [mediaType]: { schema: Type.String({ description }) } },
    },
    ...errorResponses(400, 404),
  };
}
