// A random valid topology as the commands that build it, for properties over imports: every rule
// of decide holds by construction. Shared by the round trip and the re-import properties.

import fc from 'fast-check';
import type { Command } from '../../src/domain/topology/types';
import type { ImportFormat } from '../../src/interchange/report';

export type Gen = fc.GeneratorValue;
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
export function topology(g: Gen, format: ImportFormat, withBridges = false): Command[] {
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
