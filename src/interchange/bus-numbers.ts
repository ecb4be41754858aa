// Secondary bus numbers as EDK2 (ArmVirtQemu) gives them (domain reference §9 "Bus numbers" and
// qemu-fidelity-and-import.md B3), read from tianocore/edk2 edk2-stable202211 (the firmware of
// Debian 12's qemu-efi-aarch64 2022.11):
//  - OvmfPkg/Library/PciHostBridgeUtilityLib PciHostBridgeUtilityGetRootBridgesBusScan: root buses
//    own ranges in ascending bus_nr; a pxb-pcie with no device on it is not found.
//  - MdeModulePkg/Bus/Pci/PciBusDxe/PciLib.c PciScanBus: each bus is scanned device 0-31, function
//    0-7; every PCI bridge found (root port, switch port, PCIe-to-PCI or PCI-to-PCI bridge) takes
//    SecondBus = ++SubBusNumber (PciAllocateBusNumber), and the scan recurses below it before the
//    next function, depth-first; the bridge's subordinate bus is the largest number below it.
//  - After the subtree, a hot-plug bridge with QEMU's bus reservation (bus-reserve=R, read by
//    OvmfPkg/PciHotPlugInitDxe GetResourcePadding) keeps MAX(SecondBus + R, SubBusNumber).
// Numbers the client gives win.

import { InterchangeError, type BusNumberNote, type SourceRef } from './report.js';

export interface RootBusInput {
  id: string;
  /** 0 for pcie.0, bus_nr for a pxb-pcie. */
  busNr: number;
  /** Firmware finds a pxb only when a device sits on it (vendor ID probe); pcie.0 always. */
  populated: boolean;
}

/** A PCI bridge for the firmware: a root port, a switch port, a PCIe-to-PCI or PCI-to-PCI bridge. */
export interface BridgeInput {
  id: string;
  /** QEMU driver name, for the report. */
  type: string;
  bus: string;
  slot: number;
  function: number;
  busReserve: number;
  at: SourceRef;
}

export const MAX_BUS_NUMBER = 255;

export function assignBusNumbers(
  roots: readonly RootBusInput[],
  bridges: readonly BridgeInput[],
  given: Readonly<Record<string, number>>,
): { numbers: Map<string, number>; notes: BusNumberNote[] } {
  for (const id of Object.keys(given)) {
    if (!bridges.some((p) => p.id === id)) {
      throw new InterchangeError(
        'IMPORT_SOURCE_MALFORMED',
        `busNumbers: ${id} is not a pcie-root-port of the source (only root ports, switch ports and bridges take a secondary bus number)`,
        null,
        `/busNumbers/${id.replaceAll('~', '~0').replaceAll('/', '~1')}`,
      );
    }
  }
  const numbers = new Map<string, number>();
  const notes: BusNumberNote[] = [];
  const ordered = [...roots].sort((a, b) => a.busNr - b.busNr);
  const found = ordered.filter((r) => r.populated || r.busNr === 0);
  const below = childrenByBus(bridges);
  for (const root of ordered) {
    if (root.busNr !== 0) {
      notes.push({ bus: root.id, busNumber: root.busNr, rule: 'bus_nr', detail: `pxb-pcie bus_nr=${root.busNr}` });
    }
    const nextRoot = found.find((r) => r.busNr > root.busNr);
    const last = nextRoot === undefined ? MAX_BUS_NUMBER : nextRoot.busNr - 1;
    const hasBridges = bridges.some((b) => b.bus !== root.id && numbersRootOf(b, bridges) === root.id);

    /** PciScanBus of one bus: returns SubBusNumber after it. */
    const scan = (busId: string, busNumber: number, sub: number, depth: number): number => {
      for (const [k, bridge] of (below.get(busId) ?? []).entries()) {
        const stated = given[bridge.id];
        let number: number;
        if (stated !== undefined) {
          number = stated;
          notes.push({ bus: bridge.id, busNumber: number, rule: 'busNumbers', detail: 'given in busNumbers' });
        } else {
          number = sub + 1;
          if (number > last) {
            throw new InterchangeError(
              'IMPORT_BUS_NUMBERS_EXHAUSTED',
              `${bridge.id}: firmware would number its secondary bus ${number}, past ${last}, the last number of ${root.id}'s range${nextRoot === undefined ? '' : ` (${nextRoot.id} starts at ${nextRoot.busNr})`}: EDK2 fails with EFI_OUT_OF_RESOURCES`,
              bridge.at,
            );
          }
          notes.push({
            bus: bridge.id,
            busNumber: number,
            rule: 'firmware',
            detail:
              depth === 0 && bridge.type === 'pcie-root-port'
                ? rootPortDetail(root, k, bridge, number, hasBridges)
                : `EDK2 PciScanBus, depth-first in (slot, function) order: ${bridge.type} ${bridge.id} at ${hex2(busNumber)}:${hex2(bridge.slot)}.${bridge.function} gets the next free number after ${sub} = ${number}`,
          });
        }
        numbers.set(bridge.id, number);
        sub = scan(bridge.id, number, Math.max(sub, number), depth + 1);
        if (bridge.busReserve > 0) sub = Math.max(sub, number + bridge.busReserve);
      }
      return sub;
    };
    scan(root.id, root.busNr, root.busNr, 0);
  }
  return { numbers, notes };
}

/** The bridges on each bus, in the order PciScanBus meets them: (slot, function). */
export function childrenByBus<T extends { bus: string; slot: number; function: number }>(
  bridges: readonly T[],
): Map<string, T[]> {
  const below = new Map<string, T[]>();
  for (const bridge of bridges) below.set(bridge.bus, [...(below.get(bridge.bus) ?? []), bridge]);
  for (const list of below.values()) list.sort((a, b) => a.slot - b.slot || a.function - b.function);
  return below;
}

/** The bus at the top of a bridge's chain (its root bus when the chain is complete). */
function numbersRootOf(bridge: BridgeInput, bridges: readonly BridgeInput[]): string {
  let bus = bridge.bus;
  for (let hops = 0; hops < bridges.length; hops += 1) {
    const parent = bridges.find((b) => b.id === bus);
    if (parent === undefined) return bus;
    bus = parent.bus;
  }
  return bus;
}

/** The words of §9's rule for a root port on a root bus: the k-th port gets bus_nr + k, shifted. */
function rootPortDetail(root: RootBusInput, k: number, port: BridgeInput, number: number, hasBridges: boolean): string {
  const reserved = number - root.busNr - (k + 1);
  const why = hasBridges ? 'kept by bus-reserve and by the buses below earlier ports' : 'kept by bus-reserve';
  return `EDK2: root port ${k + 1} of ${root.id} in (slot, function) order (${hex2(port.slot)}.${port.function}) gets ${root.busNr} + ${k + 1}${reserved > 0 ? ` + ${reserved} ${why}` : ''} = ${number}`;
}

const hex2 = (n: number) => n.toString(16).padStart(2, '0');
