// For random valid topologies: export -> import into a new VM -> the same buses, SMMUs, devices
// and stream ids, in both formats. Root port numbers the text cannot carry travel as the export's
// busNumbers (the Doorbell-Bus-Numbers header), as a client would pass them back.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { replay } from '../../src/domain/topology/replay';
import type { Command, VmState } from '../../src/domain/topology/types';
import { placementOf } from '../../src/domain/translation/topology-facts';
import { type Draft, type DraftBridge, planImport } from '../../src/interchange/draft';
import { layoutOf } from '../../src/interchange/layout';
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
function topology(g: Gen, format: ImportFormat, withBridges = false): Command[] {
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
    // Devices straight on pcie.0, in distinct slots (00.0 is the host bridge); a pxb-pcie takes
    // bridges only (QEMU do_pci_register_device). Slots 20-31 are left for pci-bridges.
    const slots: number[] = r === 0 ? g(() => fc.uniqueArray(fc.integer({ min: 1, max: 19 }), { maxLength: 3 })) : [];
    for (const slot of slots) device(root, slot, bool() ? 0 : int(0, 7));
    const bridge = (
      id: string,
      busType: 'x3130-upstream' | 'xio3130-downstream' | 'pcie-pci-bridge' | 'pci-bridge',
      bus: string,
      slot: number,
      fn = 0,
    ) => {
      nextBus += 1 + (bool() ? 0 : int(0, 1));
      commands.push({ type: 'AddBus', busId: id, busType, bus, slot, function: fn, secondaryBusNr: nextBus });
    };
    // Root ports, numbered as EDK2 would (with gaps a bus-reserve or busNumbers explains), and
    // below some of them a switch or a PCIe-to-PCI bridge, numbered depth-first.
    for (let p = int(0, 3); p > 0; p -= 1) {
      nextBus += 1 + (bool() ? 0 : int(0, 2));
      const port = `rp${ports++}`;
      commands.push({ type: 'AddBus', busId: port, busType: 'pcie-root-port', bus: root, secondaryBusNr: nextBus });
      const below = withBridges ? int(0, 2) : 0;
      if (below === 1) {
        bridge(`${port}.up`, 'x3130-upstream', port, 0);
        const downs: number[] = g(() => fc.uniqueArray(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 2 }));
        for (const slot of downs.sort()) {
          bridge(`${port}.dn${slot}`, 'xio3130-downstream', `${port}.up`, slot);
          if (bool()) device(`${port}.dn${slot}`, 0, 0);
        }
      } else if (below === 2) {
        bridge(`${port}.ppb`, 'pcie-pci-bridge', port, 0);
        const conventional: number[] = g(() => fc.uniqueArray(fc.integer({ min: 1, max: 31 }), { maxLength: 2 }));
        for (const slot of conventional) device(`${port}.ppb`, slot, 0);
        if (bool()) {
          bridge(`${port}.pb`, 'pci-bridge', `${port}.ppb`, [31, 30, 29].find((n) => !conventional.includes(n))!);
          device(`${port}.pb`, int(1, 31), 0);
        }
      } else {
        const fns: number[] = g(() => fc.uniqueArray(fc.integer({ min: 0, max: 7 }), { maxLength: 2 }));
        for (const fn of fns) device(port, 0, fn);
      }
    }
    if (withBridges && r === 0 && bool()) {
      bridge('pb0', 'pci-bridge', root, int(20, 31));
      device('pb0', int(1, 31), 0);
    }
  }
  return commands;
}

/** What must survive the round trip. */
function shape(state: VmState) {
  return {
    board: { ...state.board, setBy: undefined, hostItsBase: undefined, rmrHonoured: undefined },
    buses: [...state.buses.values()].map((b) => [b.id, b.type, b.number, b.parent, b.slot, b.function]).sort(),
    smmus: [...state.smmus.values()].map((s) => [s.id, s.primaryBus, s.accel.value, s.stage, s.oas]).sort(),
    devices: [...state.devices.values()]
      .map((d) => [d.id, d.driver, d.bus, d.slot, d.function, d.host, d.iommufd, placementOf(state, d).streamId])
      .sort(),
  };
}

const WRITERS = { 'qemu-cmdline': writeQemuCmdline, 'libvirt-xml': writeLibvirtXml };
const PARSERS = { 'qemu-cmdline': parseQemuCmdline, 'libvirt-xml': parseLibvirtXml };

/** Whether a format's parser reads switches and bridges yet (other work fills draft.bridges). */
function readsBridges(format: ImportFormat): boolean {
  const withBridge = replay([
    { type: 'DefineVm', vmId: 'probe' },
    { type: 'AddBus', busId: 'pb', busType: 'pci-bridge', bus: 'pcie.0', slot: 3, secondaryBusNr: 1 },
  ])!;
  try {
    return (PARSERS[format](WRITERS[format](withBridge).text).bridges ?? []).length === 1;
  } catch {
    return false;
  }
}

/**
 * The draft a parser reads from an export, built straight from the layout the writers write
 * (slots, bus-reserve): the numbering half of the round trip, whatever the parsers read yet.
 */
function draftOf(state: VmState): Draft {
  const layout = layoutOf(state, { reserves: true });
  let token = 0;
  const at = () => ({ token: ++token });
  return {
    board: { ...state.board, at: { token: 0 } },
    pxbs: layout.pxbs.map((b) => ({
      id: b.id,
      bus: 'pcie.0',
      slot: layout.slotOf.get(b.id),
      busNr: b.number,
      at: at(),
    })),
    rootPorts: layout.rootPorts.map((b) => ({
      id: b.id,
      bus: b.parent!,
      slot: layout.slotOf.get(b.id),
      busReserve: layout.reserves.get(b.id) ?? 0,
      at: at(),
    })),
    bridges: layout.bridges.map((b) => ({
      id: b.id,
      type: b.type as DraftBridge['type'],
      bus: b.parent!,
      slot: b.slot,
      function: b.function,
      busReserve: 0,
      at: at(),
    })),
    smmus: [...state.smmus.values()].map((m) => ({
      id: m.id,
      primaryBus: m.primaryBus,
      accel: m.accel.value,
      stage: m.stage,
      oas: m.oas,
      at: at(),
    })),
    devices: [...state.devices.values()].map((d) => ({
      id: d.id,
      driver: d.driver,
      bus: d.bus,
      slot: d.slot,
      function: d.function,
      host: d.host ?? undefined,
      iommufd: d.iommufd ?? undefined,
      at: at(),
    })),
    report: { format: 'qemu-cmdline', parts: [], ignored: [], busNumbers: [] },
  };
}

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
        // endOnFailure: a failing run reports at once instead of shrinking for minutes.
        { numRuns: 300, endOnFailure: true },
      );
    });

    it.skipIf(!readsBridges(format))(
      `${format}: with switches and bridges, the same buses, bus numbers, devices and stream ids`,
      () => {
        fc.assert(
          fc.property(fc.gen(), (g) => {
            const original = replay(topology(g, format, true))!;
            const exported = WRITERS[format](original);
            const plan = planImport('vm', PARSERS[format](exported.text), exported.busNumbers);
            expect(shape(replay(plan.commands)!)).toEqual(shape(original));
          }),
          { numRuns: 200 },
        );
      },
    );
  }

  it('the layout an export writes (slots, bus-reserve, busNumbers) numbers switches and bridges back to the same buses (EDK2 PciScanBus)', () => {
    fc.assert(
      fc.property(fc.gen(), (g) => {
        const original = replay(topology(g, 'qemu-cmdline', true))!;
        const plan = planImport('vm', draftOf(original), layoutOf(original, { reserves: true }).busNumbers);
        expect(shape(replay(plan.commands)!)).toEqual(shape(original));
      }),
      { numRuns: 300 },
    );
  });
});
