// Where an export puts what the model does not hold: the slot of each pxb-pcie and root port, and
// a bus-reserve where a root port's stored secondary bus number leaves a gap after the previous
// one, so that EDK2's numbering (bus-numbers.ts) gives back the stored numbers on import. A first
// root port whose number is not bus_nr + 1 cannot come from the firmware rule: its number is
// returned in `busNumbers`, for the import's busNumbers.

import type { Bus, VmState } from '../domain/topology/types.js';
import { FUNCTIONS, PCIE_ROOT, SLOTS } from './draft.js';

export interface Layout {
  pxbs: Bus[];
  rootPorts: Bus[];
  slotOf: Map<string, number>;
  /** bus-reserve per root port (command line only: libvirt has no such setting). */
  reserves: Map<string, number>;
  /** Root ports whose number the firmware rule does not give, with the reserves (or without, for libvirt). */
  busNumbers: Record<string, number>;
}

export function layoutOf(state: VmState, options: { reserves: boolean }): Layout {
  const buses = [...state.buses.values()];
  const pxbs = buses.filter((b) => b.type === 'pxb-pcie').sort((a, b) => a.number - b.number);
  const rootPorts = buses.filter((b) => b.type === 'pcie-root-port').sort((a, b) => a.number - b.number);
  const used = new Map<string, Set<number>>([[PCIE_ROOT, new Set([0])]]);
  const usedOn = (bus: string) => {
    const set = used.get(bus) ?? new Set<number>();
    used.set(bus, set);
    return set;
  };
  for (const d of state.devices.values()) usedOn(d.bus).add(d.slot);
  const slotOf = new Map<string, number>();
  const place = (bus: Bus) => {
    const taken = usedOn(bus.parent ?? PCIE_ROOT);
    let slot = 0;
    while (slot < SLOTS && taken.has(slot)) slot += 1;
    // A full bus cannot hold it; slot 31 keeps the text importable up to the point QEMU refuses too.
    slotOf.set(bus.id, Math.min(slot, SLOTS - 1));
    taken.add(slot);
  };
  for (const pxb of pxbs) place(pxb);
  // Ascending numbers in ascending slots: the order the firmware numbers them in.
  for (const port of rootPorts) place(port);

  const reserves = new Map<string, number>();
  const busNumbers: Record<string, number> = {};
  for (const root of [{ id: PCIE_ROOT, number: 0 }, ...pxbs]) {
    const mine = rootPorts.filter((p) => p.parent === root.id);
    let next = root.number;
    for (const [k, port] of mine.entries()) {
      if (port.number !== next + 1) busNumbers[port.id] = port.number;
      const after = mine[k + 1];
      const reserve = options.reserves && after !== undefined ? Math.max(0, after.number - port.number - 1) : 0;
      if (reserve > 0) reserves.set(port.id, reserve);
      next = Math.max(next, port.number) + reserve;
    }
  }
  return { pxbs, rootPorts, slotOf, reserves, busNumbers };
}

export const devfn = (slot: number, fn: number) => slot * FUNCTIONS + fn;
