// Facts derived from the projected topology: a device's bus number, stream id and covering SMMU.
// They are computed, not stored, so they can never disagree with the events; each answer carries
// the events it was derived from, for the trail.

import type { Bus, Device, EventRef, Smmu, VmState } from '../topology/types.js';

export function isVfio(driver: string): boolean {
  return driver === 'vfio-pci';
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

export interface DevicePlacement {
  bus: Bus;
  rootBus: Bus;
  /** `PCI_BUILD_BDF(bus, devfn)` = bus << 8 | slot << 3 | function; also the KVM devid. */
  streamId: bigint;
  smmu: Smmu | undefined;
  /** The events the placement rests on: the device, its bus chain and the SMMU. */
  events: EventRef[];
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
  const smmu = smmuOnRootBus(state, rootBus.id);
  const streamId = (BigInt(bus.number) << 8n) | (BigInt(device.slot) << 3n) | BigInt(device.function);
  const events = uniqueRefs([device.attachedBy, bus.setBy, rootBus.setBy, ...(smmu ? [smmu.addedBy] : [])]);
  return { bus, rootBus, streamId, smmu, events };
}

/** Event references in position order without repeats. */
export function uniqueRefs(refs: readonly EventRef[]): EventRef[] {
  const byPosition = new Map<number, EventRef>();
  for (const ref of refs) byPosition.set(ref.position, ref);
  return [...byPosition.values()].sort((a, b) => a.position - b.position);
}
