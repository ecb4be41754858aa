// Where each part of a VM goes in its topology picture. The PCIe tree of a virt VM is at most
// three levels under each root bus (root bus, root port, device; the domain has no switches), so
// a layered layout by hand is exact and a layout engine would add nothing but weight: each root
// bus is a group as wide as its leaves, its SMMU a band across exactly the buses it covers.

import type { BusView, DeviceView, SmmuView, VmView } from './topology-view.js';

export const SLOT_WIDTH = 210;
export const SLOT_GAP = 14;
export const GROUP_GAP = 36;
export const MARGIN = 16;

export interface PortNode {
  readonly port: BusView;
  readonly x: number;
  readonly devices: readonly { readonly device: DeviceView; readonly x: number }[];
}

export interface RootGroup {
  readonly bus: BusView;
  readonly smmu: SmmuView | undefined;
  /** Every bus whose root bus is this one: what its SMMU covers. */
  readonly covered: readonly BusView[];
  readonly x: number;
  readonly width: number;
  /** Devices straight on the root bus. */
  readonly devices: readonly { readonly device: DeviceView; readonly x: number }[];
  readonly ports: readonly PortNode[];
}

export interface TopologyLayout {
  readonly groups: readonly RootGroup[];
  readonly width: number;
  /** True when some group has devices under root ports (a third level to draw). */
  readonly hasPortLevel: boolean;
}

const ROOT_COMPLEX: BusView = { id: 'pcie.0', type: 'pcie-root', busNumber: 0, bus: null, rootBus: 'pcie.0' };

const byDeviceAddress = (a: DeviceView, b: DeviceView) =>
  a.slot - b.slot || a.function - b.function || a.id.localeCompare(b.id);

export function topologyLayout(vm: VmView): TopologyLayout {
  const isRoot = (b: BusView) => b.type === 'pcie-root' || b.type === 'pxb-pcie' || b.rootBus === b.id;
  const listed = vm.buses.filter(isRoot);
  // Older representations did not list pcie.0; it is always there.
  const roots = (listed.some((b) => b.id === ROOT_COMPLEX.id) ? listed : [ROOT_COMPLEX, ...listed]).sort((a, b) =>
    a.id === ROOT_COMPLEX.id ? -1 : b.id === ROOT_COMPLEX.id ? 1 : a.busNumber - b.busNumber,
  );
  const rootIds = new Set(roots.map((r) => r.id));

  let x = MARGIN;
  const groups = roots.map((root): RootGroup => {
    const ports = vm.buses
      .filter((b) => !rootIds.has(b.id) && b.rootBus === root.id)
      .sort((a, b) => a.busNumber - b.busNumber);
    const portIds = new Set(ports.map((p) => p.id));
    // A device on a bus the picture does not know (none today) still shows, on its root bus.
    const direct = vm.devices.filter((d) => d.rootBus === root.id && !portIds.has(d.bus)).sort(byDeviceAddress);
    const start = x;
    let cursor = x;
    const place = () => {
      const at = cursor;
      cursor += SLOT_WIDTH + SLOT_GAP;
      return at;
    };
    const devices = direct.map((device) => ({ device, x: place() }));
    const portNodes = ports.map((port): PortNode => {
      const below = vm.devices.filter((d) => d.bus === port.id).sort(byDeviceAddress);
      if (below.length === 0) return { port, x: place(), devices: [] };
      const placed = below.map((device) => ({ device, x: place() }));
      // The port sits over its devices.
      const centre = (placed[0]!.x + placed.at(-1)!.x) / 2;
      return { port, x: centre, devices: placed };
    });
    const width = Math.max(SLOT_WIDTH, cursor - SLOT_GAP - start);
    x = start + width + GROUP_GAP;
    return {
      bus: root,
      smmu: vm.smmus.find((s) => s.primaryBus === root.id),
      covered: [root, ...ports],
      x: start,
      width,
      devices,
      ports: portNodes,
    };
  });
  return {
    groups,
    width: x - GROUP_GAP + MARGIN,
    hasPortLevel: groups.some((g) => g.ports.some((p) => p.devices.length > 0)),
  };
}
