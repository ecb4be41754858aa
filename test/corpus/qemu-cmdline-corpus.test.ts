// Every command line of the import corpus (../shared/corpus: QEMU's own tests and docs, the SMMUv3
// accel cover letters, libvirt's aarch64 test data), read as QEMU reads it. Each file's outcome
// was derived by hand from the file: parsed, with its key facts, or refused with a reason true of
// QEMU (or a part the model does not hold, named). Skips when the corpus is not beside the clone.

import { expect, it } from 'vitest';
import { DomainError } from '../../src/domain/errors';
import { replay } from '../../src/domain/topology/replay';
import { type Draft, planImport } from '../../src/interchange/draft';
import { parseQemuCmdline } from '../../src/interchange/qemu-cmdline/parse';
import { InterchangeError } from '../../src/interchange/report';
import { corpusFiles, describeWithCorpus, readCorpus } from '../helpers/corpus';

interface Parsed {
  pxbs: number;
  rootPorts: number;
  /** Bridge types, in order. */
  bridges?: string[];
  smmus: number;
  /** Drivers of the devices, in QEMU's creation order (the board's NICs first). */
  devices: string[];
  /** What else the file shows (checked by the function). */
  also?: (d: Draft) => void;
  /** The code the import refuses the VM with (planImport, then every command decided), when it does. */
  planRefused?: string;
}
interface Refused {
  code: string;
  reason: string;
}
type Outcome = Parsed | Refused;

const vfio = 'vfio-pci';
const QEMU: Record<string, Outcome> = {
  // -nodefaults; the port is created before the pxb-pcie, so it lands on pcie.0; the pxb has no id.
  'bios-tables-test-virt-pxb.args': {
    pxbs: 1,
    rootPorts: 1,
    smmus: 0,
    devices: ['virtio-scsi-pci'],
    also: (d) => {
      expect(d.rootPorts[0]!.bus).toBe('pcie.0');
      expect(d.pxbs[0]).toMatchObject({ id: 'pxb0', busNr: 128, bus: 'pcie.0' });
    },
  },
  'bios-tables-test-virt-smmuv3-dev.args': { pxbs: 2, rootPorts: 1, smmus: 2, devices: ['virtio-scsi-pci'] },
  // -M iommu=smmuv3 after the devices still makes the machine SMMU; pcie.2 has bypass_iommu=on.
  'bios-tables-test-virt-smmuv3-legacy.args': {
    pxbs: 2,
    rootPorts: 1,
    smmus: 1,
    devices: ['virtio-scsi-pci'],
    also: (d) => {
      expect(d.smmus[0]!.primaryBus).toBe('pcie.0');
      expect(d.pxbs.map((p) => p.bypassIommu)).toEqual([undefined, true]);
    },
  },
  'bios-tables-test-virt-viot.args': { pxbs: 0, rootPorts: 0, smmus: 0, devices: ['virtio-iommu-pci'] },
  // -device virtio-net is the alias of virtio-net-pci; -netdev turns off the default NIC.
  'functional-test-smmu.args': {
    pxbs: 0,
    rootPorts: 0,
    smmus: 1,
    devices: ['virtio-rng-pci', 'virtio-blk-pci', 'virtio-net-pci'],
    also: (d) => expect(d.board.kvm).toBe(true),
  },
  // -net none: no default NIC.
  'qemu-devel-smmuv3-accel-v3-hisilicon.args': {
    pxbs: 2,
    rootPorts: 2,
    smmus: 3,
    devices: [vfio, vfio, 'virtio-9p-pci'],
  },
  // The first root port says id= twice: QEMU keeps the first (pcie.port1), so dev0 is free for the vfio-pci.
  'qemu-devel-smmuv3-accel-v7-grace.args': {
    pxbs: 2,
    rootPorts: 2,
    smmus: 2,
    devices: [vfio, vfio],
    also: (d) => {
      expect(d.rootPorts.map((p) => p.id)).toEqual(['pcie.port1', 'pcie.port2']);
      expect(d.devices.map((x) => `${x.id}@${x.bus}`)).toEqual(['dev0@pcie.port1', 'dev1@pcie.port2']);
    },
  },
  // No -nodefaults: the default NIC takes 00:01.0 first. fd=23 names no host address.
  'vfio-iommufd-doc-fd.args': {
    pxbs: 0,
    rootPorts: 0,
    smmus: 0,
    devices: ['virtio-net-pci', vfio],
    also: (d) => expect(d.devices[1]).toMatchObject({ host: undefined, iommufd: 'iommufd0' }),
  },
  'vfio-iommufd-doc.args': {
    pxbs: 0,
    rootPorts: 0,
    smmus: 0,
    devices: ['virtio-net-pci', vfio],
    also: (d) => {
      const plan = planImport('vm', d);
      const slots = plan.commands.flatMap((c) => (c.type === 'AttachDevice' ? [c.slot] : []));
      expect(slots).toEqual([1, 2]);
    },
  },
};

const virtioSet = (...names: string[]) => names.map((n) => `virtio-${n}-pci`);
/**
 * libvirt's test lines say acpi=off: the guest boots from QEMU's device tree, which describes
 * pcie.0 only, so it never sees a pxb-pcie or what sits below it; the import refuses that before
 * the accel SMMUs under -accel tcg would be refused (ACCEL_WITHOUT_KVM), as QEMU refuses them.
 */
const PXB_WITHOUT_ACPI = 'IMPORT_NOT_SUPPORTED';
const LIBVIRT: Record<string, Outcome> = {
  'aarch64-cpu-passthrough.aarch64-latest.args': {
    pxbs: 0,
    rootPorts: 2,
    smmus: 0,
    devices: ['virtio-blk-pci'],
    also: (d) => expect(d.board).toMatchObject({ acpi: false, kvm: true }),
  },
  'aarch64-kvm-32-on-64.aarch64-latest.args': {
    pxbs: 0,
    rootPorts: 3,
    smmus: 0,
    devices: ['virtio-blk-pci', 'virtio-net-pci'],
    also: (d) => expect(d.board.acpi).toBe(true),
  },
  // libvirt's pcie-to-pci-bridge for a conventional PCI device (pci-serial behind it).
  'aarch64-traditional-pci.aarch64-latest.args': {
    pxbs: 0,
    rootPorts: 2,
    bridges: ['pcie-pci-bridge'],
    smmus: 0,
    devices: ['pci-serial'],
    also: (d) => expect(d.bridges![0]).toMatchObject({ id: 'pci.2', bus: 'pci.1', slot: 0 }),
  },
  'aarch64-usb-controller.aarch64-latest.args': {
    pxbs: 0,
    rootPorts: 0,
    smmus: 0,
    devices: ['qemu-xhci', 'nec-usb-xhci', 'qemu-xhci'],
  },
  'aarch64-video-default.aarch64-latest.args': { pxbs: 0, rootPorts: 2, smmus: 0, devices: ['virtio-gpu-pci'] },
  'aarch64-video-virtio-gpu-pci.aarch64-latest.args': {
    pxbs: 0,
    rootPorts: 2,
    smmus: 0,
    devices: ['virtio-net-pci', 'virtio-gpu-pci'],
  },
  // tpm-tis-device is a sysbus device, not on the PCIe topology.
  'aarch64-virt-default-models.aarch64-latest.abi-update.args': {
    pxbs: 0,
    rootPorts: 5,
    smmus: 0,
    devices: ['qemu-xhci', 'virtio-scsi-pci', 'virtio-net-pci', 'virtio-gpu-pci', 'pvpanic-pci'],
  },
  'aarch64-virt-graphics.aarch64-latest.args': {
    pxbs: 0,
    rootPorts: 8,
    smmus: 0,
    devices: ['qemu-xhci', ...virtioSet('serial', 'blk', 'net', 'gpu', 'balloon', 'rng')],
  },
  // Every device is virtio-mmio (virtio-*-device): nothing on PCIe.
  'aarch64-virt-headless-mmio.aarch64-latest.args': { pxbs: 0, rootPorts: 0, smmus: 0, devices: [] },
  'aarch64-virt-headless.aarch64-latest.args': {
    pxbs: 0,
    rootPorts: 7,
    smmus: 0,
    devices: ['qemu-xhci', ...virtioSet('serial', 'blk', 'net', 'balloon', 'rng')],
  },
  'aarch64-virt-minimal.aarch64-latest.args': { pxbs: 0, rootPorts: 0, smmus: 0, devices: [] },
  'aarch64-virt-virtio.aarch64-latest.args': {
    pxbs: 0,
    rootPorts: 6,
    smmus: 0,
    devices: virtioSet('serial', 'blk', 'net', 'balloon', 'rng'),
  },
  'aarch64-virt-virtualization.aarch64-latest.args': { pxbs: 0, rootPorts: 2, smmus: 0, devices: ['virtio-net-pci'] },
  // i82801b11-bridge (DMI-to-PCI) takes a bus number and is none of the bridge types the model holds.
  'aarch64-virtio-pci-manual-addresses.aarch64-latest.args': {
    code: 'IMPORT_NOT_SUPPORTED',
    reason: 'i82801b11-bridge',
  },
  'default-video-type-aarch64.aarch64-latest.args': { pxbs: 0, rootPorts: 2, smmus: 0, devices: ['virtio-gpu-pci'] },
  // An arm (32-bit) vexpress-a9 board, not virt.
  'disk-arm-virtio-sd.aarch64-latest.args': { code: 'IMPORT_NOT_SUPPORTED', reason: 'vexpress-a9' },
  // -accel hvf is not KVM.
  'hvf-aarch64-virt-headless.aarch64-latest+hvf.args': {
    pxbs: 0,
    rootPorts: 6,
    smmus: 0,
    devices: virtioSet('serial', 'blk', 'net', 'balloon', 'rng'),
    also: (d) => expect(d.board.kvm).toBe(false),
  },
  // accel=on under -accel tcg: QEMU refuses it, a rule of the domain; the Draft carries kvm false.
  'iommu-smmuv3-pci-bus-accel-auto.aarch64-latest.args': {
    planRefused: PXB_WITHOUT_ACPI,
    pxbs: 2,
    rootPorts: 2,
    smmus: 2,
    devices: [vfio, vfio],
    also: (d) => {
      expect(d.board.kvm).toBe(false);
      expect(d.smmus.map((s) => s.accel)).toEqual([true, true]);
    },
  },
  'iommu-smmuv3-pci-bus-accel.aarch64-latest.args': {
    planRefused: PXB_WITHOUT_ACPI,
    pxbs: 2,
    rootPorts: 2,
    smmus: 2,
    devices: [vfio, vfio],
    also: (d) => expect(d.board.kvm).toBe(false),
  },
  'iommu-smmuv3-pci-bus-single.aarch64-latest.args': {
    planRefused: PXB_WITHOUT_ACPI,
    pxbs: 2,
    rootPorts: 2,
    smmus: 1,
    devices: virtioSet('rng', 'rng'),
  },
  'iommu-smmuv3-pci-bus.aarch64-latest.args': {
    planRefused: PXB_WITHOUT_ACPI,
    pxbs: 2,
    rootPorts: 2,
    smmus: 2,
    devices: virtioSet('rng', 'rng'),
  },
  'iommu-smmuv3.aarch64-latest.args': {
    pxbs: 0,
    rootPorts: 0,
    smmus: 1,
    devices: [],
    also: (d) => expect(d.smmus[0]!.primaryBus).toBe('pcie.0'),
  },
  // "fd":"@hostdev-hostdev0-fd@": an opened device, host unknown.
  'iommufd-virt-pci-bus-single.aarch64-latest.args': {
    pxbs: 0,
    rootPorts: 0,
    smmus: 0,
    devices: [vfio],
    also: (d) => expect(d.devices[0]).toMatchObject({ host: undefined, iommufd: 'iommufd0', slot: 1 }),
  },
  // "addr":"0x1.0x1" and "0x1.0x2": functions 1 and 2 of slot 1.
  'iommufd-virt.aarch64-latest.args': {
    pxbs: 0,
    rootPorts: 3,
    smmus: 0,
    devices: [vfio, vfio],
    also: (d) => expect(d.rootPorts.map((p) => `${p.slot}.${p.function}`)).toEqual(['1.0', '1.1', '1.2']),
  },
  'pcie-expander-bus-aarch64.aarch64-latest.args': {
    planRefused: PXB_WITHOUT_ACPI,
    pxbs: 1,
    rootPorts: 0,
    smmus: 0,
    devices: [],
  },
  'pcihole64-virt.aarch64-latest.args': { pxbs: 0, rootPorts: 0, smmus: 0, devices: [] },
  'pvpanic-pci-aarch64.aarch64-latest.args': { pxbs: 0, rootPorts: 0, smmus: 0, devices: ['pvpanic-pci'] },
  // {"driver":"virtio-iommu"}: the alias of virtio-iommu-pci, the VM's IOMMU.
  'virtio-iommu-aarch64.aarch64-latest.args': {
    pxbs: 0,
    rootPorts: 0,
    smmus: 0,
    devices: ['virtio-iommu-pci'],
    also: (d) => expect(d.devices[0]).toMatchObject({ id: 'iommu0', slot: 1 }),
  },
};

function check(folder: 'qemu' | 'libvirt', name: string, outcome: Outcome): void {
  const source = readCorpus(folder, name);
  if ('code' in outcome) {
    let error: unknown;
    try {
      parseQemuCmdline(source);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InterchangeError);
    expect((error as InterchangeError).code).toBe(outcome.code);
    expect((error as InterchangeError).message).toContain(outcome.reason);
    return;
  }
  const d = parseQemuCmdline(source);
  expect({
    pxbs: d.pxbs.length,
    rootPorts: d.rootPorts.length,
    bridges: (d.bridges ?? []).map((b) => b.type),
    smmus: d.smmus.length,
    devices: d.devices.map((x) => x.driver),
  }).toEqual({
    pxbs: outcome.pxbs,
    rootPorts: outcome.rootPorts,
    bridges: outcome.bridges ?? [],
    smmus: outcome.smmus,
    devices: outcome.devices,
  });
  outcome.also?.(d);
  expect(importOutcome(d)).toBe(outcome.planRefused ?? 'imports');
}

/** What the import makes of a Draft: 'imports', or the code planning or a command's decision refuses it with. */
function importOutcome(d: Draft): string {
  try {
    replay(planImport('vm', d).commands);
    return 'imports';
  } catch (error) {
    if (error instanceof InterchangeError || error instanceof DomainError) return error.code;
    throw error;
  }
}

describeWithCorpus('the corpus command lines, read as QEMU reads them', () => {
  it('has an expected outcome for every .args file, and a file for every outcome', () => {
    expect(corpusFiles('qemu', '.args')).toEqual(Object.keys(QEMU).sort());
    expect(corpusFiles('libvirt', '.args')).toEqual(Object.keys(LIBVIRT).sort());
  });
  for (const [name, outcome] of Object.entries(QEMU)) it(`qemu/${name}`, () => check('qemu', name, outcome));
  for (const [name, outcome] of Object.entries(LIBVIRT)) it(`libvirt/${name}`, () => check('libvirt', name, outcome));
});
