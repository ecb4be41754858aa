// How the projected state is shown to clients. bigint values stay bigint here; the response
// writer turns them into canonical hex (bigintsToHex), the one conversion at the edge.

import { msiControllerOf, msiGpaOf, RAM_BASE } from '../domain/virt-board.js';
import { placementOf } from '../domain/translation/topology-facts.js';
import type { Bus, Device, Mapping, MsiVector, Smmu, VmState } from '../domain/topology/types.js';
import type { StoredEvent } from '../db/event-store.js';
import { pictureUrls } from '../app/links.js';
import type { QemuBuildClassification } from '../domain/qemu-build/classify.js';
import { qemuBuildOf } from '../domain/topology/decide.js';

export function busResource(bus: Bus) {
  return { id: bus.id, type: bus.type, busNumber: bus.number, bus: bus.parent, rootBus: bus.rootBus };
}

export function smmuResource(smmu: Smmu) {
  return {
    id: smmu.id,
    primaryBus: smmu.primaryBus,
    accel: smmu.accel.value,
    stage: smmu.stage,
    oas: smmu.oas,
    guestState: {
      enabled: smmu.guest.enabled.value,
      gbpaAbort: smmu.guest.gbpaAbort.value,
      eventqEnabled: smmu.guest.eventqEnabled.value,
      streamTableLog2Size: smmu.guest.streamTableLog2Size.value,
      streamTableFormat: smmu.guest.streamTableFormat.value,
      split: smmu.guest.split.value,
      l1Span: smmu.guest.l1Span.value,
      rmrHonoured: smmu.guest.rmrHonoured.value,
    },
  };
}

export function mappingResource(deviceId: string, m: Mapping) {
  return {
    device: deviceId,
    stage: m.stage,
    iova: m.iova,
    output: m.output,
    size: m.size,
    perm: m.perm,
    accessFlag: m.accessFlag,
    setBy: m.setBy.position,
  };
}

export function vectorResource(deviceId: string, v: MsiVector) {
  return { device: deviceId, vector: v.vector, address: v.address, data: v.data, setBy: v.setBy.position };
}

export function deviceResource(state: VmState, device: Device) {
  const placement = placementOf(state, device);
  return {
    id: device.id,
    driver: device.driver,
    bus: device.bus,
    slot: device.slot,
    function: device.function,
    host: device.host,
    iommufd: device.iommufd,
    rootBus: placement.rootBus.id,
    busNumber: placement.bus.number,
    streamId: placement.streamId,
    devid: placement.streamId,
    smmu: placement.smmu?.id ?? null,
    ste:
      placement.smmu === undefined
        ? null
        : {
            config: device.ste.config,
            cd: device.ste.cd,
            s2: device.ste.s2,
            cdAddress: device.ste.cdAddress,
            ttb0: device.ste.ttb0,
            ttb1: device.ste.ttb1,
          },
    mappingCount: { stage1: device.mappings[1].count, stage2: device.mappings[2].count },
    vectors: [...device.vectors.values()]
      .sort((a, b) => a.vector - b.vector)
      .map((v) => ({ vector: v.vector, address: v.address, data: v.data })),
  };
}

/** What §10 makes of a declared build (POST /v1/qemu-builds/classify, a VM's qemu). */
export function classificationResource(c: QemuBuildClassification) {
  return {
    version: c.version,
    package: c.package,
    smmuProperties: c.smmuProperties,
    behaviour: c.behaviour,
    rule: c.rule,
    basis: c.basis,
    sources: c.sources,
    conflicts: c.conflicts,
  };
}

/**
 * The VM as projected. `baseUrl` gives the absolute link to its topology picture (as of the
 * version asked for, when one was).
 */
export function vmResource(state: VmState, baseUrl: string, asOf?: number) {
  const controller = msiControllerOf(state.board);
  return {
    id: state.id,
    version: state.version,
    picture: pictureUrls.topology(baseUrl, state.id, asOf),
    qemu: { ...classificationResource(qemuBuildOf(state)), setBy: state.qemu?.setBy.position ?? null },
    ramBase: RAM_BASE,
    ramSize: state.board.ramSize,
    gicVersion: state.board.gicVersion,
    its: state.board.its,
    kvm: state.board.kvm,
    hostItsBase: state.board.hostItsBase,
    rmrHonoured: state.board.rmrHonoured,
    msiController: controller,
    msiGpa: msiGpaOf(controller),
    buses: [...state.buses.values()].map(busResource),
    smmus: [...state.smmus.values()].map(smmuResource),
    devices: [...state.devices.values()].map((d) => deviceResource(state, d)),
  };
}

export function eventResource(event: StoredEvent) {
  return {
    position: event.position,
    streamId: event.streamId,
    streamVersion: event.streamVersion,
    eventId: event.eventId,
    type: event.type,
    schemaVersion: event.schemaVersion,
    data: event.data,
    metadata: event.metadata,
  };
}
