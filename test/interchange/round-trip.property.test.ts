// For random valid topologies: export -> import into a new VM -> the same buses, SMMUs, devices
// and stream ids, in both formats. Root port numbers the text cannot carry travel as the export's
// busNumbers (the Doorbell-Bus-Numbers header), as a client would pass them back.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { replay } from '../../src/domain/topology/replay';
import type { Command, VmState } from '../../src/domain/topology/types';
import { placementOf } from '../../src/domain/translation/topology-facts';
import { planImport } from '../../src/interchange/draft';
import { parseLibvirtXml } from '../../src/interchange/libvirt-xml/parse';
import { writeLibvirtXml } from '../../src/interchange/libvirt-xml/write';
import { parseQemuCmdline } from '../../src/interchange/qemu-cmdline/parse';
import { writeQemuCmdline } from '../../src/interchange/qemu-cmdline/write';
import type { ImportFormat } from '../../src/interchange/report';

type Gen = fc.GeneratorValue;
/** Emulated drivers that both formats can write (libvirt has an element for each). */
const EMULATED = [
  'virtio-net-pci',
  'e1000e',
  'virtio-blk-pci',
  'qemu-xhci',
  'virtio-scsi-pci',
  'virtio-balloon-pci',
  'virtio-rng-pci',
  'virtio-gpu-pci',
  'virtio-serial-pci',
];

/** A valid topology as the commands that build it: every rule of decide holds by construction. */
function topology(g: Gen, format: ImportFormat): Command[] {
  const libvirt = format === 'libvirt-xml';
  const int = (min: number, max: number) => g(fc.integer, { min, max });
  const bool = () => g(fc.boolean);
  const gicVersion = bool() ? 3 : 2;
  const kvm = bool();
  const its = gicVersion === 3 && (libvirt || bool());
  // libvirt runs whole MiB of RAM (qemuDomainAlignMemorySizes rounds <memory> up), so only those
  // survive its round trip; a command line keeps any multiple of 4 KiB.
  const ramSize = libvirt ? BigInt(int(1, 1 << 12)) << 20n : BigInt(int(1, 1 << 20)) * 4096n;
  const commands: Command[] = [{ type: 'DefineVm', vmId: 'vm', gicVersion, its, kvm, ramSize }];
  const iommufds = libvirt ? ['iommufd0'] : ['iommufd0', 'fd1'];
  let nextBus = 0;
  let devices = 0;
  let ports = 0;
  const roots = int(0, 3);
  for (let r = 0; r <= roots; r += 1) {
    const root = r === 0 ? 'pcie.0' : `pcie.${r}`;
    if (r > 0) {
      nextBus += int(1, 4);
      commands.push({ type: 'AddBus', busId: root, busType: 'pxb-pcie', busNr: nextBus });
    }
    // The SMMU of this root bus, if any, decides which devices may sit on it (R8, R12, R13).
    const smmu = int(0, 2); // 0 none, 1 emulated, 2 accel
    const accel = smmu === 2 && kvm;
    if (smmu > 0) {
      const stage = accel || libvirt ? '1' : g(fc.constantFrom, '1', '2', 'nested');
      const oas = accel && bool() ? 48 : 44;
      commands.push({ type: 'AddSmmu', smmuId: `smmuv3.${r}`, primaryBus: root, accel, stage, oas });
    }
    const device = (bus: string, slot: number, fn: number) => {
      const vfio = smmu === 0 ? bool() : accel;
      const id = `d${devices++}`;
      if (vfio) {
        const host = `00${int(0, 0x1f).toString(16).padStart(2, '0')}:${int(0, 0xff).toString(16).padStart(2, '0')}:${int(0, 0x1f).toString(16).padStart(2, '0')}.${int(0, 7)}`;
        const iommufd = accel || bool() ? g(fc.constantFrom, ...iommufds) : undefined;
        commands.push({
          type: 'AttachDevice',
          deviceId: id,
          driver: 'vfio-pci',
          bus,
          slot,
          function: fn,
          host,
          iommufd,
        });
      } else {
        const driver = g(fc.constantFrom, ...EMULATED);
        commands.push({ type: 'AttachDevice', deviceId: id, driver, bus, slot, function: fn });
      }
    };
    // Devices straight on the root bus, in distinct slots (pcie.0 00.0 is the host bridge).
    const slots: number[] = g(() => fc.uniqueArray(fc.integer({ min: r === 0 ? 1 : 0, max: 31 }), { maxLength: 3 }));
    for (const slot of slots) device(root, slot, bool() ? 0 : int(0, 7));
    // Root ports, numbered as EDK2 would (with gaps a bus-reserve or busNumbers explains).
    for (let p = int(0, 3); p > 0; p -= 1) {
      nextBus += 1 + (bool() ? 0 : int(0, 2));
      const port = `rp${ports++}`;
      commands.push({ type: 'AddBus', busId: port, busType: 'pcie-root-port', bus: root, secondaryBusNr: nextBus });
      const fns: number[] = g(() => fc.uniqueArray(fc.integer({ min: 0, max: 7 }), { maxLength: 2 }));
      for (const fn of fns) device(port, 0, fn);
    }
  }
  return commands;
}

/** What must survive the round trip. */
function shape(state: VmState) {
  return {
    board: { ...state.board, setBy: undefined, hostItsBase: undefined, rmrHonoured: undefined },
    buses: [...state.buses.values()].map((b) => [b.id, b.type, b.number, b.parent]).sort(),
    smmus: [...state.smmus.values()].map((s) => [s.id, s.primaryBus, s.accel.value, s.stage, s.oas]).sort(),
    devices: [...state.devices.values()]
      .map((d) => [d.id, d.driver, d.bus, d.slot, d.function, d.host, d.iommufd, placementOf(state, d).streamId])
      .sort(),
  };
}

const WRITERS = { 'qemu-cmdline': writeQemuCmdline, 'libvirt-xml': writeLibvirtXml };
const PARSERS = { 'qemu-cmdline': parseQemuCmdline, 'libvirt-xml': parseLibvirtXml };

describe('export -> import round trip', () => {
  for (const format of ['qemu-cmdline', 'libvirt-xml'] as const) {
    it(`${format}: a random valid topology imports back to the same buses, SMMUs, devices and stream ids`, () => {
      fc.assert(
        fc.property(fc.gen(), (g) => {
          const original = replay(topology(g, format))!;
          const exported = WRITERS[format](original);
          const plan = planImport('vm', PARSERS[format](exported.text), exported.busNumbers);
          const imported = replay(plan.commands)!;
          expect(shape(imported)).toEqual(shape(original));
        }),
        { numRuns: 300 },
      );
    });
  }
});
