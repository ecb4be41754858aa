// Where an export puts what the model does not hold: the slot of each pxb-pcie and root port, and
// a bus-reserve where a root port's stored secondary bus number leaves a gap after it, so that
// EDK2's numbering (bus-numbers.ts) gives back the stored numbers on import. The export runs the
// same depth-first scan as the import over the slots it chose; a number that scan cannot give (a
// first port whose number is not its parent's + 1, a gap after a bridge, which has no bus-reserve
// here) is returned in `busNumbers`, for the import's busNumbers.

import type { Bus, VmState } from '../domain/topology/types.js';
import { childrenByBus } from './bus-numbers.js';
import { FUNCTIONS, PCIE_ROOT, SLOTS } from './draft.js';

export interface Layout {
  pxbs: Bus[];
  rootPorts: Bus[];
  /** Switch ports and PCI bridges, each after the bus it plugs into. */
  bridges: Bus[];
  /** The slot chosen for each pxb-pcie and root port (a bridge has its own). */
  slotOf: Map<string, number>;
  /** bus-reserve per root port (command line only: libvirt has no such setting). */
  reserves: Map<string, number>;
  /** Buses whose number the firmware rule does not give, with the reserves (or without, for libvirt). */
  busNumbers: Record<string, number>;
}

export function layoutOf(state: VmState, options: { reserves: boolean }): Layout {
  const buses = [...state.buses.values()];
  const pxbs = buses.filter((b) => b.type === 'pxb-pcie').sort((a, b) => a.number - b.number);
  const rootPorts = buses.filter((b) => b.type === 'pcie-root-port').sort((a, b) => a.number - b.number);
  const bridges = parentsFirst(buses.filter((b) => b.slot !== undefined));
  const used = new Map<string, Set<number>>([[PCIE_ROOT, new Set([0])]]);
  const usedOn = (bus: string) => {
    const set = used.get(bus) ?? new Set<number>();
    used.set(bus, set);
    return set;
  };
  for (const d of state.devices.values()) usedOn(d.bus).add(d.slot);
  for (const b of bridges) usedOn(b.parent ?? PCIE_ROOT).add(b.slot!);
  const slotOf = new Map<string, number>();
  const place = (bus: Bus, after: number) => {
    const taken = usedOn(bus.parent ?? PCIE_ROOT);
    const free = (from: number) => {
      let slot = from;
      while (slot < SLOTS && taken.has(slot)) slot += 1;
      return slot;
    };
    // After the slot of the bridge numbered just before it, so that firmware meets them in number order.
    let slot = free(after);
    if (slot === SLOTS) slot = free(0);
    // A full bus cannot hold it; slot 31 keeps the text importable up to the point QEMU refuses too.
    slotOf.set(bus.id, Math.min(slot, SLOTS - 1));
    taken.add(slot);
  };
  for (const pxb of pxbs) place(pxb, 0);
  // Root ports in ascending numbers, each after the slot of the bridge before it in number order.
  for (const port of rootPorts) {
    const before = [...rootPorts.filter((p) => slotOf.has(p.id)), ...bridges]
      .filter((b) => b.parent === port.parent && b.number < port.number)
      .sort((a, b) => b.number - a.number)[0];
    place(port, before === undefined ? 0 : (slotOf.get(before.id) ?? before.slot!) + 1);
  }

  const reserves = new Map<string, number>();
  const busNumbers: Record<string, number> = {};
  const withSlots = [...rootPorts, ...bridges].map((b) => ({
    bus: b.parent ?? PCIE_ROOT,
    slot: slotOf.get(b.id) ?? b.slot!,
    function: b.function ?? 0,
    node: b,
  }));
  const below = childrenByBus(withSlots);
  // The import's scan (bus-numbers.ts assignBusNumbers), deciding as it goes where a bus-reserve
  // on the previous root port gives a stored number, and where only busNumbers can.
  const scan = (busId: string, sub: number): number => {
    let previous: Bus | undefined;
    for (const { node } of below.get(busId) ?? []) {
      const fw = sub + 1;
      if (node.number > fw && previous?.type === 'pcie-root-port' && options.reserves) {
        const reserve = node.number - 1 - previous.number;
        reserves.set(previous.id, reserve);
        sub = Math.max(sub, previous.number + reserve);
      }
      if (node.number !== sub + 1) busNumbers[node.id] = node.number;
      sub = scan(node.id, Math.max(sub, node.number));
      previous = node;
    }
    return sub;
  };
  for (const root of [{ id: PCIE_ROOT, number: 0 }, ...pxbs]) scan(root.id, root.number);
  return { pxbs, rootPorts, bridges, slotOf, reserves, busNumbers };
}

/** Bridges ordered so that each comes after the bus it plugs into, by number otherwise. */
function parentsFirst(bridges: Bus[]): Bus[] {
  const ids = new Set(bridges.map((b) => b.id));
  const depth = (bus: Bus): number => {
    let d = 0;
    let parent = bus.parent;
    while (parent !== null && ids.has(parent)) {
      d += 1;
      parent = bridges.find((b) => b.id === parent)!.parent;
    }
    return d;
  };
  return [...bridges].sort((a, b) => depth(a) - depth(b) || a.number - b.number);
}

export const devfn = (slot: number, fn: number) => slot * FUNCTIONS + fn;
