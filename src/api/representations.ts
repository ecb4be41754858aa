// How the projected state is shown to clients. bigint values stay bigint here; the response
// writer turns them into canonical hex (bigintsToHex), the one conversion at the edge.

import { msiControllerOf, msiGpaOf, RAM_BASE } from '../domain/virt-board.js';
import { virtioIommuReservedRegions } from '../domain/resolve/virtio-iommu.js';
import {
  opensConventionalBus,
  placementOf,
  translatedByVirtioIommu,
  virtioIommuOf,
} from '../domain/translation/topology-facts.js';
import type { Bus, Device, Mapping, MsiVector, Smmu, VmState } from '../domain/topology/types.js';
import { pictureUrls, resourcePaths, vmPath } from '../app/links.js';
import { hex } from '../domain/address.js';
import { CAPABILITY_RULES, capabilitiesOf, QEMU_CAPABILITIES } from '../domain/qemu-build/capabilities.js';
import type { QemuBuildClassification } from '../domain/qemu-build/classify.js';
import { implicationsOf } from '../domain/guest/implied.js';
import { GUEST_PROFILES } from '../domain/guest/profiles.js';
import { qemuBuildOf } from '../domain/topology/decide.js';

// Every resource carries `url` (absolute, readable with GET) and `display` (a short label), so
// that `?brief=true` lists and clients that only show names need nothing else (contract v1.1).
// `base` is the base of absolute links (api/links.ts).

export function busResource(base: string, vm: string, bus: Bus) {
  return {
    id: bus.id,
    url: `${base}${resourcePaths.bus(vm, bus.id)}`,
    display: `${bus.id} (${bus.type}, bus ${bus.number})`,
    type: bus.type,
    busNumber: bus.number,
    bus: bus.parent,
    rootBus: bus.rootBus,
    bypassIommu: bus.bypassIommu,
    ...(bus.slot === undefined ? {} : { slot: bus.slot, function: bus.function ?? 0 }),
    ...(opensConventionalBus(bus) ? { conventional: true } : {}),
  };
}

export function smmuResource(base: string, vm: string, smmu: Smmu) {
  return {
    id: smmu.id,
    url: `${base}${resourcePaths.smmu(vm, smmu.id)}`,
    display: `${smmu.id} (on ${smmu.primaryBus}${smmu.accel.value ? ', accel' : ''})`,
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

export function mappingResource(base: string, vm: string, deviceId: string, m: Mapping) {
  const id = `${m.stage}/${hex(m.iova)}`;
  return {
    id,
    url: `${base}${resourcePaths.mapping(vm, deviceId, id)}`,
    display: `stage ${m.stage} ${hex(m.iova)} -> ${hex(m.output)} (${hex(m.size)} bytes, ${m.perm})`,
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

export function vectorResource(base: string, vm: string, deviceId: string, v: MsiVector) {
  return {
    id: v.vector,
    url: `${base}${resourcePaths.vector(vm, deviceId, v.vector)}`,
    display: `${deviceId} vector ${v.vector}: ${hex(v.address)} data ${hex(v.data)}`,
    device: deviceId,
    vector: v.vector,
    address: v.address,
    data: v.data,
    setBy: v.setBy.position,
  };
}

export function deviceResource(base: string, state: VmState, device: Device) {
  const placement = placementOf(state, device);
  return {
    id: device.id,
    url: `${base}${resourcePaths.device(state.id, device.id)}`,
    display: `${device.id} (${device.driver}, stream id ${hex(BigInt(placement.streamId))})`,
    driver: device.driver,
    bus: device.bus,
    slot: device.slot,
    function: device.function,
    host: device.host,
    hostFd: device.hostFd,
    iommufd: device.iommufd,
    rootBus: placement.rootBus.id,
    busNumber: placement.bus.number,
    streamId: placement.streamId,
    devid: placement.streamId,
    ...(placement.requesterAlias === null
      ? {}
      : {
          requesterId: {
            id: placement.requesterAlias.requesterId,
            ownId: placement.ownId,
            bridge: placement.requesterAlias.bridge.id,
            rule: placement.requesterAlias.rule,
          },
        }),
    smmu: placement.smmu?.id ?? null,
    virtioIommu: translatedByVirtioIommu(placement) ? placement.virtioIommu!.id : null,
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

/**
 * The VM's virtio-iommu: where it sits, the reserved regions virt gives it, which devices it
 * translates and which root buses bypass it; null without one.
 */
export function virtioIommuResource(state: VmState) {
  const viommu = virtioIommuOf(state);
  if (viommu === undefined) return null;
  const placement = placementOf(state, viommu);
  return {
    device: viommu.id,
    bus: viommu.bus,
    streamId: placement.streamId,
    reservedRegions: virtioIommuReservedRegions(msiControllerOf(state.board)),
    covers: [...state.devices.values()]
      .filter((d) => translatedByVirtioIommu(placementOf(state, d)))
      .map((d) => d.id)
      .sort(),
    bypassedBuses: [...state.buses.values()].filter((b) => b.bypassIommu).map((b) => b.id),
    setBy: viommu.attachedBy.position,
  };
}

/** What §10 makes of a declared build (POST /v1/qemu-builds/classify, a VM's qemu). */
export function classificationResource(c: QemuBuildClassification) {
  const capabilities = capabilitiesOf(c);
  return {
    version: c.version,
    package: c.package,
    smmuProperties: c.smmuProperties,
    behaviour: c.behaviour,
    rule: c.rule,
    basis: c.basis,
    sources: c.sources,
    conflicts: c.conflicts,
    capabilities: QEMU_CAPABILITIES.map((name) => ({ ...capabilities[name], since: CAPABILITY_RULES[name].since })),
  };
}

/** The declared guest profile and what it implies for each device (null while none is declared). */
function guestResource(state: VmState) {
  if (state.guest === null) return null;
  const { declared, setBy } = state.guest;
  return {
    profile: declared.profile,
    profileVersion: GUEST_PROFILES[declared.profile].version,
    pageSize: declared.pageSize,
    vectors: declared.vectors,
    setBy: setBy.position,
    devices: implicationsOf(state).map((implied) => ({
      device: implied.device,
      applies: implied.applies,
      iommu: implied.iommu,
      ste: implied.ste?.config ?? null,
      vectors: implied.vectors.length,
      msiAddress: implied.vectors[0]?.address ?? null,
      notes: implied.notes.map((n) => `${n.rule}: ${n.text}`),
    })),
  };
}

/**
 * The VM as projected. `baseUrl` gives the absolute link to its topology picture (as of the
 * version asked for, when one was).
 */
export function vmResource(state: VmState, base: string, asOf?: number) {
  const controller = msiControllerOf(state.board);
  return {
    id: state.id,
    url: `${base}${vmPath(state.id)}`,
    display: state.decommissioned === null ? state.id : `${state.id} (decommissioned)`,
    status: state.decommissioned === null ? ('active' as const) : ('decommissioned' as const),
    decommissionedBy: state.decommissioned?.position ?? null,
    version: state.version,
    picture: pictureUrls.topology(base, state.id, asOf),
    qemu: { ...classificationResource(qemuBuildOf(state)), setBy: state.qemu?.setBy.position ?? null },
    guest: guestResource(state),
    ramBase: RAM_BASE,
    ramSize: state.board.ramSize,
    gicVersion: state.board.gicVersion,
    its: state.board.its,
    kvm: state.board.kvm,
    hostItsBase: state.board.hostItsBase,
    rmrHonoured: state.board.rmrHonoured,
    defaultBusBypassIommu: state.board.defaultBusBypassIommu,
    virtioIommu: virtioIommuResource(state),
    msiController: controller,
    msiGpa: msiGpaOf(controller),
    buses: [...state.buses.values()].map((b) => busResource(base, state.id, b)),
    smmus: [...state.smmus.values()].map((s) => smmuResource(base, state.id, s)),
    devices: [...state.devices.values()].map((d) => deviceResource(base, state, d)),
  };
}

export { eventBody, eventDisplay, eventJson, eventResource, eventUrl } from '../app/event-json.js';
