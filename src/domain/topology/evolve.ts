// evolve(state, event) -> state: the projection of one VM's events into its translation state.
// Pure and immutable: the previous state is never changed, so a state can be kept per version.
// Every fact remembers the event (global position and type) that set it.

import { RangeIndex } from '../translation/range-index';
import { DEFAULT_GUEST_STATE, DEFAULT_STE, PCIE_ROOT_BUS } from './defaults';
import type { Device, EventRef, Mapping, RecordedEvent, Smmu, VmState } from './types';

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
  if (value === undefined) throw new Error(`cannot fold event ${event.position} (${event.type}): unknown ${what} ${key}`);
  return value;
}

export function evolve(state: VmState | undefined, event: RecordedEvent): VmState {
  const ref: EventRef = { position: event.position, type: event.type };

  if (event.type === 'VmDefined') {
    if (state !== undefined) throw new Error(`cannot fold event ${event.position}: VM ${state.id} is already defined`);
    const d = event.data;
    return {
      id: d.vmId,
      version: event.streamVersion,
      position: event.position,
      board: { ramSize: d.ramSize, gicVersion: d.gicVersion, its: d.its, kvm: d.kvm, hostItsBase: d.hostItsBase, setBy: ref },
      buses: new Map([[PCIE_ROOT_BUS, { id: PCIE_ROOT_BUS, type: 'pcie-root', number: 0, parent: null, rootBus: PCIE_ROOT_BUS, setBy: ref }]]),
      smmus: new Map(),
      devices: new Map(),
    };
  }
  if (state === undefined) throw new Error(`cannot fold event ${event.position} (${event.type}) before VmDefined`);

  const next: VmState = { ...state, version: event.streamVersion, position: event.position };
  const updateSmmu = (id: string, change: (smmu: Smmu) => Smmu): VmState => ({
    ...next,
    smmus: withEntry(state.smmus, id, change(mustGet(state.smmus, id, 'SMMU', event))),
  });
  const updateDevice = (id: string, change: (device: Device) => Device): VmState => ({
    ...next,
    devices: withEntry(state.devices, id, change(mustGet(state.devices, id, 'device', event))),
  });

  switch (event.type) {
    case 'BusAdded': {
      const d = event.data;
      const parent = mustGet(state.buses, d.bus, 'bus', event);
      const rootBus = d.busType === 'pxb-pcie' ? d.busId : parent.rootBus;
      return {
        ...next,
        buses: withEntry(state.buses, d.busId, { id: d.busId, type: d.busType, number: d.busNumber, parent: d.bus, rootBus, setBy: ref }),
      };
    }
    case 'SmmuAdded': {
      const d = event.data;
      const guest = {
        enabled: { value: DEFAULT_GUEST_STATE.enabled, setBy: ref },
        gbpaAbort: { value: DEFAULT_GUEST_STATE.gbpaAbort, setBy: ref },
        eventqEnabled: { value: DEFAULT_GUEST_STATE.eventqEnabled, setBy: ref },
        streamTableLog2Size: { value: DEFAULT_GUEST_STATE.streamTableLog2Size, setBy: ref },
      };
      const smmu: Smmu = { id: d.smmuId, primaryBus: d.primaryBus, stage: d.stage, oas: d.oas, accel: { value: d.accel, setBy: ref }, guest, addedBy: ref };
      return { ...next, smmus: withEntry(state.smmus, d.smmuId, smmu) };
    }
    case 'SmmuAccelModeChanged':
      return updateSmmu(event.data.smmuId, (smmu) => ({ ...smmu, accel: { value: event.data.enabled, setBy: ref } }));
    case 'SmmuGuestStateChanged': {
      const { smmuId, ...changes } = event.data;
      return updateSmmu(smmuId, (smmu) => {
        const guest = { ...smmu.guest };
        if (changes.enabled !== undefined) guest.enabled = { value: changes.enabled, setBy: ref };
        if (changes.gbpaAbort !== undefined) guest.gbpaAbort = { value: changes.gbpaAbort, setBy: ref };
        if (changes.eventqEnabled !== undefined) guest.eventqEnabled = { value: changes.eventqEnabled, setBy: ref };
        if (changes.streamTableLog2Size !== undefined) guest.streamTableLog2Size = { value: changes.streamTableLog2Size, setBy: ref };
        return { ...smmu, guest };
      });
    }
    case 'DeviceAttached': {
      const d = event.data;
      const device: Device = {
        id: d.deviceId,
        driver: d.driver,
        bus: d.bus,
        slot: d.slot,
        function: d.function,
        host: d.host,
        iommufd: d.iommufd,
        attachedBy: ref,
        ste: { ...DEFAULT_STE, setBy: ref },
        mappings: { 1: RangeIndex.empty<Mapping>(), 2: RangeIndex.empty<Mapping>() },
        vectors: new Map(),
      };
      return { ...next, devices: withEntry(state.devices, d.deviceId, device) };
    }
    case 'DeviceDetached':
      mustGet(state.devices, event.data.deviceId, 'device', event);
      return { ...next, devices: withoutEntry(state.devices, event.data.deviceId) };
    case 'SteConfigured': {
      const { deviceId, config, cd, s2 } = event.data;
      return updateDevice(deviceId, (device) => ({ ...device, ste: { config, cd, s2, setBy: ref } }));
    }
    case 'IovaMapped': {
      const { deviceId, ...m } = event.data;
      return updateDevice(deviceId, (device) => ({
        ...device,
        mappings: { ...device.mappings, [m.stage]: device.mappings[m.stage].insert(m.iova, m.size, { ...m, setBy: ref }) },
      }));
    }
    case 'IovaUnmapped': {
      const { deviceId, stage, iova } = event.data;
      return updateDevice(deviceId, (device) => ({
        ...device,
        mappings: { ...device.mappings, [stage]: device.mappings[stage].remove(iova) },
      }));
    }
    case 'MsiVectorProgrammed': {
      const { deviceId, vector, address, data } = event.data;
      return updateDevice(deviceId, (device) => {
        const vectors = new Map(device.vectors);
        vectors.set(vector, { vector, address, data, setBy: ref });
        return { ...device, vectors };
      });
    }
  }
}

/** Folds a VM's events in order; undefined when there are none. */
export function fold(events: Iterable<RecordedEvent>, from?: VmState): VmState | undefined {
  let state = from;
  for (const event of events) state = evolve(state, event);
  return state;
}
