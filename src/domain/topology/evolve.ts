// evolve(state, event) -> state: the projection of one VM's events into its translation state.
// Pure and immutable: the previous state is never changed, so a state can be kept per version.
// Every fact remembers the event (global position and type) that set it.

import { classifyQemuBuild } from '../qemu-build/classify.js';
import { parseQemuDeclaration, type QemuDeclarationJson } from '../qemu-build/declaration.js';
import { RangeIndex } from '../translation/range-index.js';
import { placementOf } from '../translation/topology-facts.js';
import { DEFAULT_GUEST_STATE, DEFAULT_STE, PCIE_ROOT_BUS } from './defaults.js';
import { gbpaAttachment, initialHwpt, installSte } from './hwpt.js';
import type { Device, EventRef, Mapping, RecordedEvent, Smmu, SmmuGuestState, Stage, Ste, VmState } from './types.js';

function withEntry<V>(map: ReadonlyMap<string, V>, key: string, value: V): ReadonlyMap<string, V> {
  const next = new Map(map);
  next.set(key, value);
  return next;
}

function withoutEntry<V>(map: ReadonlyMap<string, V>, key: string): ReadonlyMap<string, V> {
  const next = new Map(map);
  next.delete(key);
  return next;
}

function mustGet<V>(map: ReadonlyMap<string, V>, key: string, what: string, event: RecordedEvent): V {
  const value = map.get(key);
  if (value === undefined)
    throw new Error(`cannot fold event ${event.position} (${event.type}): unknown ${what} ${key}`);
  return value;
}

export function evolve(state: VmState | undefined, event: RecordedEvent): VmState {
  const ref: EventRef = { position: event.position, type: event.type };

  if (event.type === 'VmDefined') {
    if (state !== undefined) throw new Error(`cannot fold event ${event.position}: VM ${state.id} is already defined`);
    return definedVm(event, ref);
  }
  if (state === undefined) throw new Error(`cannot fold event ${event.position} (${event.type}) before VmDefined`);

  switch (event.type) {
    case 'BusAdded': {
      const d = event.data;
      const parent = mustGet(state.buses, d.bus, 'bus', event);
      const rootBus = d.busType === 'pxb-pcie' ? d.busId : parent.rootBus;
      const bypassIommu = d.busType === 'pxb-pcie' && d.bypassIommu === true;
      const place = d.slot === undefined ? {} : { slot: d.slot, function: d.function ?? 0 };
      const bus = {
        id: d.busId,
        type: d.busType,
        number: d.busNumber,
        parent: d.bus,
        rootBus,
        bypassIommu,
        ...place,
        setBy: ref,
      };
      return advance(state, event, withEntry(state.buses, d.busId, bus), state.smmus, state.devices);
    }
    case 'SmmuAdded': {
      const d = event.data;
      const guest = Object.fromEntries(
        Object.entries(DEFAULT_GUEST_STATE).map(([key, value]) => [key, { value, setBy: ref }]),
      ) as Smmu['guest'];
      // The SMMU's RMR handling starts as the VM's, and so rests on the event that set that.
      guest.rmrHonoured = { value: state.board.rmrHonoured, setBy: state.board.setBy };
      const smmu: Smmu = {
        id: d.smmuId,
        primaryBus: d.primaryBus,
        stage: d.stage,
        oas: d.oas,
        accel: { value: d.accel, setBy: ref },
        guest,
        addedBy: ref,
      };
      return withSmmu(state, event, smmu);
    }
    case 'SmmuAccelModeChanged': {
      const smmu = mustGet(state.smmus, event.data.smmuId, 'SMMU', event);
      return withSmmu(state, event, { ...smmu, accel: { value: event.data.enabled, setBy: ref } });
    }
    case 'SmmuGuestStateChanged':
      return withGuestState(state, event, ref);
    case 'DeviceAttached': {
      const d = event.data;
      const ste: Ste = DEFAULT_STE;
      const attached = { id: d.deviceId, bus: d.bus, slot: d.slot, function: d.function, attachedBy: ref };
      const placement = placementOf(state, attached);
      const device: Device = {
        ...initialHwpt(ste, placement.smmu, placement.streamId, ref),
        id: d.deviceId,
        driver: d.driver,
        bus: d.bus,
        slot: d.slot,
        function: d.function,
        host: d.host,
        hostFd: d.hostFd === true,
        iommufd: d.iommufd,
        attachedBy: ref,
        ste: { ...ste, setBy: ref },
        mappings: { 1: RangeIndex.empty<Mapping>(), 2: RangeIndex.empty<Mapping>() },
        vectors: new Map(),
      };
      return withDevice(state, event, device);
    }
    case 'BusRemoved':
      mustGet(state.buses, event.data.busId, 'bus', event);
      return advance(state, event, withoutEntry(state.buses, event.data.busId), state.smmus, state.devices);
    case 'SmmuRemoved':
      mustGet(state.smmus, event.data.smmuId, 'SMMU', event);
      return advance(state, event, state.buses, withoutEntry(state.smmus, event.data.smmuId), state.devices);
    case 'BoardChanged': {
      const board = { ...state.board, ...event.data, setBy: ref };
      const next = { ...advance(state, event, state.buses, state.smmus, state.devices), board };
      if (event.data.defaultBusBypassIommu === undefined) return next;
      // pcie.0's host bridge bypasses as the board says (decide allows it only while nothing sits on it).
      const root = mustGet(state.buses, PCIE_ROOT_BUS, 'bus', event);
      const buses = withEntry(state.buses, PCIE_ROOT_BUS, { ...root, bypassIommu: board.defaultBusBypassIommu });
      return { ...next, buses };
    }
    case 'DeviceDetached':
      mustGet(state.devices, event.data.deviceId, 'device', event);
      return advance(state, event, state.buses, state.smmus, withoutEntry(state.devices, event.data.deviceId));
    case 'SteConfigured': {
      const { deviceId, config, cd, s2, cdAddress, ttb0, ttb1 } = event.data;
      const device = mustGet(state.devices, deviceId, 'device', event);
      // Events stored before §9 have no T1SZ (it was T0SZ) and no descriptor addresses.
      const ste: Ste = {
        config,
        cd: cd && { ...cd, t1sz: cd.t1sz ?? cd.t0sz },
        s2,
        cdAddress: cdAddress ?? null,
        ttb0: ttb0 ?? null,
        ttb1: ttb1 ?? null,
      };
      const placement = placementOf(state, device);
      return withDevice(state, event, {
        ...device,
        ...installSte(device, ste, placement.smmu, placement.streamId, ref),
        ste: { ...ste, setBy: ref },
      });
    }
    case 'IovaMapped': {
      // The hot path of a rebuild (most events of a busy VM): no closures, no rest copies.
      const d = event.data;
      const device = mustGet(state.devices, d.deviceId, 'device', event);
      const mapping: Mapping = {
        stage: d.stage,
        iova: d.iova,
        output: d.output,
        size: d.size,
        perm: d.perm,
        accessFlag: d.accessFlag,
        setBy: ref,
      };
      return withDevice(
        state,
        event,
        withMappings(device, d.stage, device.mappings[d.stage].insert(d.iova, d.size, mapping)),
      );
    }
    case 'IovaUnmapped': {
      const { deviceId, stage, iova } = event.data;
      const device = mustGet(state.devices, deviceId, 'device', event);
      return withDevice(state, event, withMappings(device, stage, device.mappings[stage].remove(iova)));
    }
    case 'QemuBuildDeclared':
      return {
        ...advance(state, event, state.buses, state.smmus, state.devices),
        qemu: { declared: event.data.qemu, classification: classificationOf(event.data.qemu), setBy: ref },
      };
    case 'GuestProfileDeclared':
      return {
        ...advance(state, event, state.buses, state.smmus, state.devices),
        guest: { declared: event.data.guest, setBy: ref },
      };
    case 'VmDecommissioned':
      return { ...advance(state, event, state.buses, state.smmus, state.devices), decommissioned: ref };
    case 'MsiVectorProgrammed': {
      const { deviceId, vector, address, data } = event.data;
      const device = mustGet(state.devices, deviceId, 'device', event);
      const vectors = new Map(device.vectors);
      vectors.set(vector, { vector, address, data, setBy: ref });
      return withDevice(state, event, { ...device, vectors });
    }
  }
}

/** The state after an event: the same VM with new collections where the event changed them. */
function advance(
  state: VmState,
  event: RecordedEvent,
  buses: VmState['buses'],
  smmus: VmState['smmus'],
  devices: VmState['devices'],
): VmState {
  return {
    id: state.id,
    version: event.streamVersion,
    position: event.position,
    board: state.board,
    qemu: state.qemu,
    guest: state.guest,
    decommissioned: state.decommissioned,
    buses,
    smmus,
    devices,
  };
}

function withSmmu(state: VmState, event: RecordedEvent, smmu: Smmu): VmState {
  return advance(state, event, state.buses, withEntry(state.smmus, smmu.id, smmu), state.devices);
}

function withDevice(state: VmState, event: RecordedEvent, device: Device): VmState {
  return advance(state, event, state.buses, state.smmus, withEntry(state.devices, device.id, device));
}

function withMappings(device: Device, stage: Stage, index: RangeIndex<Mapping>): Device {
  return {
    ...device,
    mappings: stage === 1 ? { 1: index, 2: device.mappings[2] } : { 1: device.mappings[1], 2: index },
  };
}

/**
 * What §10 makes of a stored declaration, with today's rules. A declaration the parser no longer
 * accepts (it only ever grows stricter about new input) counts as nothing declared (Q8).
 */
function classificationOf(declared: QemuDeclarationJson) {
  try {
    return classifyQemuBuild(parseQemuDeclaration(declared));
  } catch {
    return classifyQemuBuild();
  }
}

/** Folds a VM's events in order; undefined when there are none. */
export function fold(events: Iterable<RecordedEvent>, from?: VmState): VmState | undefined {
  let state = from;
  for (const event of events) state = evolve(state, event);
  return state;
}

/** VmDefined: the board, and pcie.0 (always there). */
function definedVm(event: Extract<RecordedEvent, { type: 'VmDefined' }>, ref: EventRef): VmState {
  const d = event.data;
  return {
    id: d.vmId,
    version: event.streamVersion,
    position: event.position,
    board: {
      ramSize: d.ramSize,
      gicVersion: d.gicVersion,
      its: d.its,
      kvm: d.kvm,
      hostItsBase: d.hostItsBase,
      rmrHonoured: d.rmrHonoured ?? true,
      defaultBusBypassIommu: d.defaultBusBypassIommu ?? false,
      setBy: ref,
    },
    qemu: null,
    guest: null,
    decommissioned: null,
    buses: new Map([
      [
        PCIE_ROOT_BUS,
        {
          id: PCIE_ROOT_BUS,
          type: 'pcie-root',
          number: 0,
          parent: null,
          rootBus: PCIE_ROOT_BUS,
          bypassIommu: d.defaultBusBypassIommu ?? false,
          setBy: ref,
        },
      ],
    ]),
    smmus: new Map(),
    devices: new Map(),
  };
}

/**
 * SmmuGuestStateChanged: each field given is now set by this event. A GBPA write also attaches
 * the GBPA HWPT to every device of the SMMU, whatever SMMUEN (smmuv3_accel_attach_gbpa_hwpt from
 * smmu_writel A_GBPA; §9.9).
 */
function withGuestState(
  state: VmState,
  event: Extract<RecordedEvent, { type: 'SmmuGuestStateChanged' }>,
  ref: EventRef,
): VmState {
  const { smmuId, ...changes } = event.data;
  const smmu = mustGet(state.smmus, smmuId, 'SMMU', event);
  const guest = { ...smmu.guest };
  for (const [key, value] of Object.entries(changes) as [
    keyof SmmuGuestState,
    SmmuGuestState[keyof SmmuGuestState],
  ][]) {
    if (value !== undefined) Object.assign(guest, { [key]: { value, setBy: ref } });
  }
  const next = withSmmu(state, event, { ...smmu, guest });
  if (changes.gbpaAbort === undefined) return next;
  const updated = next.smmus.get(smmuId)!;
  let devices = next.devices;
  for (const device of next.devices.values()) {
    if (placementOf(next, device).smmu?.id !== smmuId) continue;
    devices = withEntry(devices, device.id, {
      ...device,
      hwpt: { value: gbpaAttachment(updated), setBy: ref },
      refusedInstall: null,
    });
  }
  return advance(next, event, next.buses, next.smmus, devices);
}
