// Facts derived from the projected topology: a device's bus number, stream id and covering SMMU.
// They are computed, not stored, so they can never disagree with the events; each answer carries
// the events it was derived from, for the trail.

import type { Bus, Device, EventRef, Smmu, VmState } from '../topology/types.js';

export function isVfio(driver: string): boolean {
  return driver === 'vfio-pci';
}

/** QEMU's virtio-iommu on PCI (hw/virtio/virtio-iommu-pci.c, TYPE_VIRTIO_IOMMU_PCI). */
export const VIRTIO_IOMMU_DRIVER = 'virtio-iommu-pci';

export function isVirtioIommu(driver: string): boolean {
  return driver === VIRTIO_IOMMU_DRIVER;
}

/** The VM's virtio-iommu, if it has one (decide allows at most one: "virt machine does not support multiple IOMMUs"). */
export function virtioIommuOf(state: Pick<VmState, 'devices'>): Device | undefined {
  for (const device of state.devices.values()) if (isVirtioIommu(device.driver)) return device;
  return undefined;
}

/**
 * Whether the device's root bus bypasses every IOMMU: its host bridge's bypass_iommu
 * (pci_bus_bypass_iommu, hw/pci/pci.c), which pci_device_get_iommu_bus_devfn checks before it
 * hands out an IOMMU's address space.
 */
export function bypassesIommu(state: VmState, busId: string): boolean {
  return rootBusOf(state, busId)?.bypassIommu === true;
}

export function rootBusOf(state: VmState, busId: string): Bus | undefined {
  const bus = state.buses.get(busId);
  return bus === undefined ? undefined : state.buses.get(bus.rootBus);
}

/** The SMMU whose primary bus is the given root bus (at most one, enforced by decide). */
export function smmuOnRootBus(state: VmState, rootBusId: string): Smmu | undefined {
  for (const smmu of state.smmus.values()) if (smmu.primaryBus === rootBusId) return smmu;
  return undefined;
}

export function devicesOnRootBus(state: VmState, rootBusId: string): Device[] {
  return [...state.devices.values()].filter((d) => state.buses.get(d.bus)?.rootBus === rootBusId);
}

/** A bridge whose secondary bus is conventional PCI (the model's PCIe-to-PCI and PCI-to-PCI bridges). */
export function opensConventionalBus(bus: Pick<Bus, 'type'>): boolean {
  return bus.type === 'pcie-pci-bridge' || bus.type === 'pci-bridge';
}

/** A root bus: pcie.0 or a pxb-pcie (its own root complex). */
export function isRootBus(bus: Pick<Bus, 'type'>): boolean {
  return bus.type === 'pcie-root' || bus.type === 'pxb-pcie';
}

/**
 * Why a device's requester id is not its own BDF: the bridge whose conventional secondary bus
 * its transactions cross, and which rule of QEMU's that bridge follows.
 *  - `secondary-bus`: a PCIe-to-PCI bridge (PCIe capability type PCI_EXP_TYPE_PCI_BRIDGE) takes
 *    ownership with its secondary bus number and devfn 00.0 (PCI_REQ_ID_SECONDARY_BUS; PCIe-to-PCI/X
 *    bridge spec 2.3).
 *  - `bridge-bdf`: any other bridge onto a conventional bus (a pci-bridge) uses its own BDF
 *    (PCI_REQ_ID_BDF).
 */
export interface RequesterAlias {
  bridge: Bus;
  rule: 'secondary-bus' | 'bridge-bdf';
  /** The requester id the alias gives. */
  requesterId: bigint;
}

/** `PCI_BUILD_BDF(bus, devfn)`. */
export function bdf(busNumber: number, slot: number, fn: number): bigint {
  return (BigInt(busNumber) << 8n) | (BigInt(slot) << 3n) | BigInt(fn);
}

/**
 * The requester id the IOMMU sees for a device on `busId` (QEMU hw/pci/pci.c: the walk of
 * pci_device_iommu_address_space in 7.2, factored out as pci_device_get_iommu_bus_devfn later, the same rule
 * as pci_req_id_cache_get for the MSI requester id): going up from the device's bus to its root
 * bus, every conventional bus crossed replaces the id (by its PCIe-to-PCI bridge's secondary bus
 * and devfn 0, or by the pci-bridge's own BDF), so the topmost one wins. null: the device's own
 * BDF stands.
 */
export function requesterAliasOf(state: VmState, busId: string): RequesterAlias | null {
  let alias: RequesterAlias | null = null;
  let bus = state.buses.get(busId);
  while (bus !== undefined && !isRootBus(bus) && bus.parent !== null) {
    const parent = state.buses.get(bus.parent);
    if (bus.type === 'pcie-pci-bridge') {
      alias = { bridge: bus, rule: 'secondary-bus', requesterId: bdf(bus.number, 0, 0) };
    } else if (bus.type === 'pci-bridge' && parent !== undefined) {
      alias = { bridge: bus, rule: 'bridge-bdf', requesterId: bdf(parent.number, bus.slot ?? 0, bus.function ?? 0) };
    }
    bus = parent;
  }
  return alias;
}

export interface DevicePlacement {
  bus: Bus;
  rootBus: Bus;
  /**
   * The requester id QEMU's IOMMU and ITS see: `PCI_BUILD_BDF(bus, devfn)` = bus << 8 | slot << 3 |
   * function of the device, or of its alias behind a conventional bus (requesterAlias); also the
   * KVM devid and the virtio-iommu endpoint id.
   */
  streamId: bigint;
  /** The device's own BDF (equal to streamId unless an alias applies). */
  ownId: bigint;
  /** The bridge that gives the device its requester id, when not the device itself. */
  requesterAlias: RequesterAlias | null;
  /** The SMMU that translates the device (none when its root bus bypasses the IOMMU). */
  smmu: Smmu | undefined;
  /** The VM's virtio-iommu, when it has one, whether or not it translates this device. */
  virtioIommu: Device | undefined;
  /** Why no IOMMU of the VM translates the device: its root bus bypasses it, or it is the virtio-iommu itself. */
  untranslated: 'bus-bypass' | 'self' | null;
  /** The events the placement rests on: the device, its bus chain and the IOMMU. */
  events: EventRef[];
}

/** The virtio-iommu translates the device (every device of a non-bypassing root bus but itself). */
export function translatedByVirtioIommu(placement: DevicePlacement): boolean {
  return placement.virtioIommu !== undefined && placement.untranslated === null;
}

export function placementOf(
  state: VmState,
  device: Pick<Device, 'id' | 'bus' | 'slot' | 'function' | 'attachedBy'>,
): DevicePlacement {
  const bus = state.buses.get(device.bus);
  const rootBus = bus && state.buses.get(bus.rootBus);
  if (bus === undefined || rootBus === undefined) {
    throw new Error(`projection invariant broken: device ${device.id} sits on unknown bus ${device.bus}`);
  }
  // An SMMU on a bypassing root bus translates none of its devices: only the machine SMMU can sit
  // there (virt_machine_device_plug_cb refuses -device arm-smmuv3 on one), and
  // pci_device_get_iommu_bus_devfn gives its devices system memory.
  const bypass = rootBus.bypassIommu;
  const smmu = bypass ? undefined : smmuOnRootBus(state, rootBus.id);
  const virtioIommu = virtioIommuOf(state);
  const untranslated =
    virtioIommu?.id === device.id
      ? 'self'
      : bypass && (virtioIommu || smmuOnRootBus(state, rootBus.id))
        ? 'bus-bypass'
        : null;
  const ownId = bdf(bus.number, device.slot, device.function);
  const requesterAlias = requesterAliasOf(state, bus.id);
  const streamId = requesterAlias?.requesterId ?? ownId;
  // An alias rests on its bridge and, for a bridge's own BDF, on the bus it sits on.
  const aliasBus = requesterAlias?.bridge.parent == null ? undefined : state.buses.get(requesterAlias.bridge.parent);
  const aliasRefs = requesterAlias === null ? [] : [requesterAlias.bridge.setBy, ...(aliasBus ? [aliasBus.setBy] : [])];
  const events = uniqueRefs([
    device.attachedBy,
    bus.setBy,
    rootBus.setBy,
    ...aliasRefs,
    ...(smmu ? [smmu.addedBy] : []),
    ...(virtioIommu ? [virtioIommu.attachedBy] : []),
  ]);
  return { bus, rootBus, streamId, ownId, requesterAlias, smmu, virtioIommu, untranslated, events };
}

/** Event references in position order without repeats. */
export function uniqueRefs(refs: readonly EventRef[]): EventRef[] {
  const byPosition = new Map<number, EventRef>();
  for (const ref of refs) byPosition.set(ref.position, ref);
  return [...byPosition.values()].sort((a, b) => a.position - b.position);
}
