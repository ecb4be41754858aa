// resolve(state, request, semantics): where one MSI of one device lands, why, and what the other
// QEMU behaviours would have done. Pure: the state (as of some version) in, a resolution out.

import { hex, inRange } from '../address.js';
import { DomainError } from '../errors.js';
import { assumedFrom, withGuestProfile } from '../guest/implied.js';
import { chooseSemantics, fallbackMessage } from '../qemu-build/semantics.js';
import { getDevice, qemuBuildOf } from '../topology/decide.js';
import type { Device, EventRef, VmState } from '../topology/types.js';
import {
  isVfio,
  placementOf,
  translatedByVirtioIommu,
  virtioIommuOf,
  type DevicePlacement,
  type RequesterAlias,
} from '../translation/topology-facts.js';
import { msiControllerOf, msiGpaOf, systemMemoryMap } from '../virt-board.js';
import { checkDoorbell } from './doorbell.js';
import { hardwarePathOf, hostDomainPathOf, virtioIommuHostPathOf } from './hardware-path.js';
import { translateThroughSmmu, type SmmuTarget, type Translation } from './smmu-translate.js';
import { DiscardedTrail, Trail } from './trail.js';
import { translateThroughVirtioIommu, type VirtioIommuFault } from './virtio-iommu.js';
import {
  SEMANTICS,
  type AddressSpaceKind,
  type Diagnostic,
  type DoorbellCheck,
  type Fault,
  type ModelVersion,
  type MsiRequest,
  type Resolution,
  type Route,
  type RouteComparison,
  type Semantics,
} from './types.js';

/**
 * The model that produces resolutions. A stored record keeps the version it was made with, so it
 * stays readable after the model changes; records stored before this field existed are version 1.
 * Version 2 applies the corrections of domain reference §9 (checked against QEMU 11.0); version 3
 * adds §10: without a semantics in the request, the VM's declared QEMU build picks it, and the
 * record says which build that was (semanticsSource, qemu).
 */
export const MODEL: ModelVersion = {
  version: 4,
  reference:
    'doorbell domain reference §0-§10 (§9: corrections of 2026-11-24, checked against QEMU 11.0; §10: QEMU builds, 2026-11-30); virtio-iommu and bypass_iommu (docs/domain/virtio-iommu.md, 2026-12-07)',
};

interface Msi {
  state: VmState;
  device: Device;
  placement: DevicePlacement;
  address: bigint;
  data: bigint;
}

/** The route one semantics builds, with what the fixup found on the way. */
interface Routed {
  addressSpace: AddressSpaceKind;
  route: Route;
  fault: Fault | null;
  virtioIommuFault: VirtioIommuFault | null;
  doorbell: DoorbellCheck | null;
  diagnostics: Diagnostic[];
}

/**
 * Resolves under the semantics asked for; without one, under the VM's declared build (§10): its
 * behaviour when upstream or address-space, else upstream with a QEMU_BUILD_UNKNOWN diagnostic.
 */
export function resolve(recorded: VmState, request: MsiRequest, requested?: Semantics): Resolution {
  requireOneKindOfIommu(recorded);
  // The guest profile (issue 19) fills in what the VM has no record of; the trail says so.
  const state = withGuestProfile(recorded);
  const build = qemuBuildOf(state);
  const { semantics, source } = chooseSemantics(build, requested);
  const device = getDevice(state, request.deviceId, '/device');
  const trail = new Trail(state.guest === null ? undefined : (step) => assumedFrom(state, step));
  let address: bigint;
  let data: bigint;
  if (request.vector !== undefined) {
    const vector = device.vectors.get(request.vector);
    if (vector === undefined)
      throw new DomainError(
        'VECTOR_NOT_FOUND',
        `vector: device ${device.id} has no programmed MSI-X vector ${request.vector}`,
        '/vector',
      );
    ({ address, data } = vector);
    trail.add({
      action: `the guest wrote MSI-X entry ${request.vector}: address (a gIOVA behind an SMMU) and data (EventID)`,
      source: 'vfio-pci MSI-X table trap -> kvm_irqchip_add/update_msi_route',
      input: { vector: request.vector },
      output: { address, data },
      events: [vector.setBy],
    });
  } else {
    if (request.address === undefined || request.data === undefined)
      throw new DomainError(
        'FIELD_REQUIRED',
        'give either vector, or address and data',
        request.address === undefined ? '/address' : '/data',
      );
    ({ address, data } = request);
    trail.add({
      action: 'the MSI to resolve, as given (address and data)',
      input: {},
      output: { address, data },
      events: [],
    });
  }

  const placement = placementOf(state, device);
  const viommu = placement.virtioIommu;
  const alias = placement.requesterAlias;
  const aliasNote = alias === null ? '' : `; ${aliasText(alias, placement.ownId)}`;
  const aliasSource =
    alias === null
      ? ''
      : '; the alias: pci_device_iommu_address_space (pci_device_get_iommu_bus_devfn), pci_req_id_cache_get';
  trail.add({
    action:
      viommu === undefined
        ? `place the device: stream id = KVM devid = bus << 8 | slot << 3 | function; the SMMU whose primary bus is its root bus covers it${placement.untranslated === 'bus-bypass' ? `, unless the root bus bypasses the IOMMU (${placement.rootBus.id} has bypass_iommu=on)` : ''}${aliasNote}`
        : `place the device: requester id = KVM devid = virtio-iommu endpoint id = bus << 8 | slot << 3 | function; the virtio-iommu ${viommu.id} translates every device of a root bus that does not bypass it, except itself${placement.untranslated === 'bus-bypass' ? `, and ${placement.rootBus.id} has bypass_iommu=on` : placement.untranslated === 'self' ? `, and ${device.id} is ${viommu.id}` : ''}${aliasNote}`,
    source:
      viommu === undefined
        ? `smmu_get_sid, pci_requester_id${aliasSource}`
        : `pci_device_get_iommu_bus_devfn, pci_bus_bypass_iommu (hw/pci/pci.c); virtio_iommu_get_bdf; pci_requester_id${aliasSource}`,
    input: { bus: placement.bus.id, busNumber: placement.bus.number, slot: device.slot, function: device.function },
    output: {
      streamId: placement.streamId,
      ...(alias === null
        ? {}
        : { ownId: placement.ownId, requesterAlias: { bridge: alias.bridge.id, rule: alias.rule } }),
      rootBus: placement.rootBus.id,
      smmu: placement.smmu?.id ?? null,
      accel: placement.smmu?.accel.value ?? null,
      ...(viommu === undefined
        ? {}
        : { virtioIommu: viommu.id, translatedByVirtioIommu: translatedByVirtioIommu(placement) }),
      ...(placement.untranslated === null ? {} : { untranslated: placement.untranslated }),
    },
    events: [...placement.events, ...(placement.smmu ? [placement.smmu.accel.setBy] : [])],
  });

  const msi: Msi = { state, device, placement, address, data };
  const routed = routeUnder(semantics, msi, trail);
  const comparison = compareSemantics(msi, semantics, routed.route);
  const diagnostics: Diagnostic[] = [];
  // Only an accel SMMU tells the semantics apart: elsewhere the fallback is a note, not a doubt.
  const accel = placement.smmu?.accel.value === true;
  if (source === 'default')
    diagnostics.push({
      code: 'QEMU_BUILD_UNKNOWN',
      severity: accel && build.behaviour === 'unknown' ? 'warning' : 'info',
      message: fallbackMessage(build, accel),
    });
  diagnostics.push(...routed.diagnostics);

  const smmu = placement.smmu;
  const behindVirtioIommu = translatedByVirtioIommu(placement) && isVfio(device.driver);
  const hardwarePath = smmu?.accel.value
    ? hardwarePathOf(target(msi), state.board)
    : behindVirtioIommu
      ? virtioIommuHostPathOf(device, viommu!, state.board)
      : smmu === undefined && isVfio(device.driver)
        ? hostDomainPathOf(device, state.board)
        : null;
  if (hardwarePath !== null) {
    const rule = behindVirtioIommu
      ? 'VI7'
      : smmu === undefined
        ? 'R1'
        : hardwarePath.delivered === false
          ? 'R11'
          : device.hwpt.value.hwpt === 'bypass'
            ? 'R10'
            : 'R9';
    trail.add({
      action: behindVirtioIommu
        ? `the hardware path (not nested): the device writes the host sw_msi window of the VFIO domain that shadows ${viommu!.id}'s mappings, not the guest's address`
        : 'the hardware path: the device writes the host sw_msi window, not the gIOVA',
      rule,
      source: behindVirtioIommu
        ? 'virtio_iommu_notify_map -> VFIO MAP; vfio_iommu_type1 iommu_get_msi_cookie / iommufd_sw_msi (host sw_msi 0x8000000)'
        : smmu === undefined
          ? 'vfio-pci, host VFIO domain (sw_msi)'
          : 'iommufd_sw_msi, IORT RMR (06c0c8fde786)',
      input: { deviceWrites: hardwarePath.deviceWrites },
      output: { delivered: hardwarePath.delivered },
      events: hardwarePath.steps.flatMap((s) => s.events),
    });
    if (hardwarePath.delivered === false)
      diagnostics.push({
        code: 'HW_PATH_BLOCKED',
        severity: 'error',
        message: `route ${routed.route.installed ? 'present' : 'absent'}, hardware path blocked: ${hardwarePath.reason}`,
      });
  }
  const before = `pre-fix (KVM routes through get_address_space(): the accel patches without the MSI fix, which no QEMU release shipped) builds ${describeRoute(comparison['pre-fix'])}; upstream (get_msi_direct_gpa, QEMU 11.0.0 and later) builds ${describeRoute(comparison.upstream)}`;
  if (comparison.misroutedBeforeFix)
    diagnostics.push({
      code: 'MISROUTED_BEFORE_FIX',
      severity: semantics === 'pre-fix' ? 'error' : 'warning',
      message: before,
    });
  if (comparison.missingBeforeFix)
    diagnostics.push({
      code: 'MISSING_BEFORE_FIX',
      severity: semantics === 'pre-fix' ? 'error' : 'warning',
      message: before,
    });

  return {
    model: MODEL,
    device: device.id,
    ...(request.vector !== undefined ? { vector: request.vector } : {}),
    asOfVersion: state.version,
    semantics,
    semanticsSource: source,
    qemu: {
      version: build.version,
      package: build.package,
      behaviour: build.behaviour,
      rule: build.rule,
      declaredBy: state.qemu?.setBy ?? null,
    },
    input: { address, data },
    streamId: placement.streamId,
    devid: placement.streamId,
    addressSpace: routed.addressSpace,
    route: routed.route,
    fault: routed.fault,
    ...(viommu === undefined ? {} : { virtioIommu: viommu.id, virtioIommuFault: routed.virtioIommuFault }),
    doorbell: routed.doorbell,
    hardwarePath,
    diagnostics,
    comparison,
    trail: trail.toArray(),
  };
}

/**
 * A VM whose history holds both an SMMU and a virtio-iommu (events stored before this model
 * refused the mix) describes a machine QEMU does not build: no answer rather than a wrong one.
 */
function requireOneKindOfIommu(state: VmState): void {
  const viommu = virtioIommuOf(state);
  const smmu = [...state.smmus.values()][0];
  if (viommu !== undefined && smmu !== undefined)
    throw new DomainError(
      'IOMMU_CONFLICT',
      `VM ${state.id} has both the SMMUv3 ${smmu.id} and the virtio-iommu ${viommu.id} (recorded before doorbell refused the mix): QEMU's virt machine has one IOMMU ("virt machine does not support multiple IOMMUs"), so no route is modelled`,
    );
}

function target(msi: Msi): SmmuTarget {
  return {
    device: msi.device,
    smmu: msi.placement.smmu!,
    streamId: msi.placement.streamId,
    placementEvents: msi.placement.events,
  };
}

function compareSemantics(msi: Msi, asked: Semantics, askedRoute: Route): RouteComparison {
  // Only accel SMMUs implement get_msi_direct_gpa / get_msi_address_space; for every other device
  // the three QEMU versions run the same fallback, so the route is the same.
  const sameForAll = msi.placement.smmu?.accel.value !== true;
  const routeFor = (s: Semantics) =>
    s === asked || sameForAll ? askedRoute : routeUnder(s, msi, new DiscardedTrail()).route;
  const routes = Object.fromEntries(SEMANTICS.map((s) => [s, routeFor(s)])) as Record<Semantics, Route>;
  const [before, after] = [routes['pre-fix'], routes.upstream];
  // §9.10: "misrouted" is a route to another place; no route at all where upstream has one is "missing".
  return {
    ...routes,
    misroutedBeforeFix: before.installed && after.installed && !sameRoute(before, after),
    missingBeforeFix: !before.installed && after.installed,
  };
}

function sameRoute(a: Route & { installed: true }, b: Route & { installed: true }): boolean {
  return a.address === b.address && a.data === b.data && a.devid === b.devid;
}

/** A walk fault names its stage and CLASS; a configuration fault has neither (§9.10). */
function whereFaulted(fault: Fault): string {
  return fault.stage === null ? ' (configuration)' : ` at stage ${fault.stage}, CLASS=${fault.class}`;
}

function describeRoute(route: Route): string {
  return route.installed
    ? `the route {${hex(route.address)}, ${hex(route.data)}, devid ${hex(route.devid)}}`
    : `no route (${route.reason})`;
}

// ---- one semantics ------------------------------------------------------------------------

/** The address space the MSI route is computed through (decision table, column "AS returned"). */
function addressSpaceOf(semantics: Semantics, msi: Msi): AddressSpaceKind {
  const smmu = msi.placement.smmu;
  // Every endpoint of the virtio-iommu's buses gets its IOMMU address space, its own included
  // (virtio_iommu_find_add_as; checked with info mtree on QEMU 7.2).
  if (translatedByVirtioIommu(msi.placement) || msi.placement.untranslated === 'self') return 'virtio-iommu';
  if (smmu === undefined) return 'system';
  if (!smmu.accel.value) return 'smmu-iommu';
  if (semantics === 'upstream') return 'direct-gpa';
  // v4's smmuv3_accel_find_msi_as(): the vSMMU's IOMMU AS while the device has an s1_hwpt, else the
  // real &address_space_memory, not the alias (reference §9.1).
  if (semantics === 'address-space') return msi.device.stage1Hwpt.value ? 'smmu-iommu' : 'system';
  return 'sysmem-alias';
}

const ADDRESS_SPACE_STEPS: Record<AddressSpaceKind, { rule: string; action: string; source: string }> = {
  system: {
    rule: 'R1',
    action:
      'no vIOMMU covers the device: system memory, the fixup returns at once and the guest address is the doorbell',
    source: 'pci_device_iommu_address_space -> &address_space_memory; kvm_arch_fixup_msi_route early return',
  },
  'smmu-iommu': {
    rule: 'R2',
    action: "translate through the vSMMU's IOMMU address space (the guest's stage 1 / stage 2)",
    source: 'smmu_find_add_as -> address_space_translate -> smmuv3_translate',
  },
  'direct-gpa': {
    rule: 'R9',
    action: 'upstream (QEMU 11.0.0 and later): take the vITS doorbell (msi-gpa) directly and ignore the gIOVA',
    source: 'pci_device_iommu_msi_direct_gpa -> smmuv3_accel_get_msi_gpa (5c921b29c989, 3558c85392a4, 5ec2700dcbf7)',
  },
  'virtio-iommu': {
    rule: 'VI1',
    action:
      "the device's address space is the virtio-iommu's, never &address_space_memory, so kvm_arch_fixup_msi_route translates the guest address through it (is_write=true); virtio_iommu_ops has no get_msi_direct_gpa, so every QEMU behaviour routes the same",
    source:
      'pci_device_iommu_address_space -> virtio_iommu_find_add_as (hw/virtio/virtio-iommu.c); kvm_arch_fixup_msi_route (target/arm/kvm.c) address_space_translate + memory_region_find',
  },
  'sysmem-alias': {
    rule: 'R9',
    action:
      'pre-fix (accel without the MSI fix, never released): translate the gIOVA through the system-memory alias as if it were a gPA',
    source: 'smmuv3_accel_find_add_as -> shared_as_sysmem; address_space_translate + memory_region_find',
  },
};

function routeUnder(semantics: Semantics, msi: Msi, trail: Trail): Routed {
  const { state, placement, address, data } = msi;
  const smmu = placement.smmu;
  const board = state.board;
  const addressSpace = addressSpaceOf(semantics, msi);
  const controller = msiControllerOf(board);
  const boardEvents: EventRef[] = [board.setBy];

  if (controller !== 'its') {
    const gsiDirect = controller === 'gicv2m';
    const reason = gsiDirect
      ? 'GICv2m: KVM maps MSI data straight to a GSI (kvm_gsi_direct_mapping), so kvm_arch_fixup_msi_route is never called and the address is not translated'
      : 'GICv3 without an ITS: the board has no MSI controller, so there is no MSI doorbell to translate to';
    trail.add({
      action: gsiDirect ? 'GICv2m: GSI direct mapping, no MSI translation' : 'no ITS: no MSI translation',
      rule: 'R17',
      source: gsiDirect ? 'hw/intc/arm_gicv2m.c; kvm_irqchip_add_msi_route' : 'virt.c',
      input: { address, data },
      output: { route: null },
      events: boardEvents,
    });
    const diagnostic: Diagnostic = { code: 'NO_MSI_TRANSLATION', severity: 'info', message: reason };
    return {
      addressSpace,
      route: { installed: false, cause: gsiDirect ? 'gsi-direct' : 'no-msi-controller', reason },
      fault: null,
      virtioIommuFault: null,
      doorbell: null,
      diagnostics: [diagnostic],
    };
  }

  const step = bypassedStep(msi) ?? ADDRESS_SPACE_STEPS[addressSpace];
  const accelEvents = smmu ? [smmu.accel.setBy] : [];
  const v4 = semantics === 'address-space' && smmu?.accel.value === true;
  trail.add({
    action: v4
      ? `address-space, get_msi_address_space (series v3-v5, as NVIDIA's 1:10.1.0+nvidia1-unstable ships it): ${
          addressSpace === 'smmu-iommu'
            ? "the device has a stage-1 HWPT (its last installed STE had stage 1 on), so the vSMMU's IOMMU address space: QEMU walks the guest's stage 1 (through the GBPA branch if SMMUEN=0 now)"
            : 'the device has no stage-1 HWPT, so the real system memory: kvm_arch_fixup_msi_route returns at once and the route carries the guest address as it is'
        }`
      : step.action,
    // R1 is "no vIOMMU"; v4's real system memory is still the accel case R9.
    rule: v4 ? 'R9' : step.rule,
    source: v4
      ? '[PATCH v4 11/27, 12/27] get_msi_address_space -> smmuv3_accel_find_msi_as (series v3-v5; not merged upstream)'
      : step.source,
    input: { semantics },
    output: { addressSpace },
    events: [...placement.events, ...accelEvents, ...(v4 ? [msi.device.stage1Hwpt.setBy] : [])],
  });

  const translation = translate(addressSpace, msi, trail);
  if (translation.kind !== 'translated') {
    const fault = translation.kind === 'fault' ? translation.fault : null;
    const vfault = translation.kind === 'virtio-iommu-fault' ? translation.fault : null;
    const reason =
      translation.kind === 'fault'
        ? `${fault!.type} (${hex(fault!.code)})${whereFaulted(fault!)}: ${fault!.reason}; the fixup returns 1 and kvm_irqchip_add_msi_route fails with -EINVAL`
        : translation.kind === 'virtio-iommu-fault'
          ? `virtio-iommu fault ${vfault!.reason} (${vfault!.flags.join('|')}) for endpoint ${hex(vfault!.endpoint)}: ${vfault!.message}; the fixup returns 1 and kvm_irqchip_add_msi_route fails with -EINVAL`
          : translation.kind === 'aborted'
            ? `${translation.reason}; the translation has no permission, the fixup returns 1 and no route is added`
            : translation.reason;
    const diagnostics: Diagnostic[] = [];
    if (fault)
      diagnostics.push({
        code: 'SMMU_FAULT',
        severity: 'error',
        message: `${fault.type} (${hex(fault.code)})${whereFaulted(fault)}, input ${hex(fault.inputAddress)}, ${fault.recorded ? 'recorded in the guest EVENTQ' : 'not recorded (the guest sees no event)'}: ${fault.reason}`,
      });
    if (vfault)
      diagnostics.push({
        code: 'VIRTIO_IOMMU_FAULT',
        severity: 'error',
        message: `VIRTIO_IOMMU_FAULT_${vfault.reason} (${vfault.flags.join('|')}), endpoint ${hex(vfault.endpoint)}, address ${hex(vfault.address)}, queued on the event virtqueue: ${vfault.message}`,
      });
    diagnostics.push({ code: 'INTERRUPTS_LOST', severity: 'error', message: `no KVM route: ${fallbackOf(msi)}` });
    trail.add({
      action: 'no KVM MSI route',
      source: 'kvm_arch_fixup_msi_route returns 1',
      input: { address },
      output: { installed: false },
      events: placement.events,
    });
    return {
      addressSpace,
      route: {
        installed: false,
        cause: vfault ? 'fault' : (translation.kind as 'fault' | 'aborted' | 'unassigned'),
        reason,
      },
      fault,
      virtioIommuFault: vfault,
      doorbell: null,
      diagnostics,
    };
  }

  const gpa = translation.gpa;
  const verdict = checkDoorbell(gpa);
  trail.add({
    action: 'check the doorbell against the vITS frames',
    source: 'vgic_msi_to_its (KVM_MMIO_BUS lookup)',
    input: { gpa },
    output: { ...verdict.doorbell, injects: verdict.injects },
    events: boardEvents,
  });
  if (!board.kvm) {
    const reason =
      'no KVM in-kernel irqchip: QEMU delivers the MSI itself through the bus-master address space (pci_msi_trigger); no KVM route';
    trail.add({
      action: 'no KVM route (no in-kernel irqchip)',
      input: { gpa },
      output: { installed: false },
      events: boardEvents,
    });
    return {
      addressSpace,
      route: { installed: false, cause: 'no-kvm-irqchip', reason },
      fault: null,
      virtioIommuFault: null,
      doorbell: verdict.doorbell,
      diagnostics: [{ code: 'NO_KVM_ROUTE', severity: 'info', message: reason }, ...verdict.diagnostics],
    };
  }
  const route: Route = { installed: true, address: gpa, data, devid: placement.streamId, flags: 'KVM_MSI_VALID_DEVID' };
  trail.add({
    action: 'install the KVM MSI route {address, data, devid}',
    source: 'kvm_irqchip_add_msi_route (KVM_IRQ_ROUTING_MSI, KVM_MSI_VALID_DEVID)',
    input: { gpa, data },
    output: { address: gpa, data, devid: placement.streamId },
    events: placement.events,
  });
  return {
    addressSpace,
    route,
    fault: null,
    virtioIommuFault: null,
    doorbell: verdict.doorbell,
    diagnostics: verdict.diagnostics,
  };
}

/** A device whose root bus bypasses the VM's IOMMU: system memory, as with no vIOMMU (R1), said so. */
function bypassedStep(msi: Msi): { rule: string; action: string; source: string } | undefined {
  if (msi.placement.untranslated !== 'bus-bypass') return undefined;
  const iommu = msi.placement.virtioIommu?.id ?? 'the SMMU';
  return {
    rule: 'VI6',
    action: `${msi.placement.rootBus.id} has bypass_iommu=on: ${iommu} does not translate ${msi.device.id}, its address space is system memory, the fixup returns at once and the guest address is the doorbell`,
    source:
      'pci_device_get_iommu_bus_devfn: pci_bus_bypass_iommu(bus) -> no IOMMU bus (hw/pci/pci.c); kvm_arch_fixup_msi_route early return',
  };
}

/**
 * What runs the vector when kvm_irqchip_add_msi_route fails (reference §3, §9.10). Behind an
 * SMMU a vfio-pci device is accel (R8) and an emulated one is not (R12), so the driver says which
 * fallback applies. Both end in pci_msi_trigger writing through the bus-master address space.
 */
function fallbackOf(msi: Msi): string {
  if (translatedByVirtioIommu(msi.placement))
    return isVfio(msi.device.driver)
      ? "vfio-pci falls back to QEMU signalling (QEMU's eventfd handler -> msix_notify -> pci_msi_trigger), which writes the guest address through the device's bus-master address space, the virtio-iommu's: the same translation faults again on every interrupt"
      : "the emulated device signals through msix_notify -> pci_msi_trigger, whose write goes through the virtio-iommu's address space: the same translation faults again on every interrupt";
  return isVfio(msi.device.driver)
    ? "vfio-pci falls back to QEMU signalling (vfio_connect_kvm_msi_virq skips the irqfd; QEMU's eventfd handler -> msix_notify -> pci_msi_trigger), which writes the guest address through the device's bus-master address space, the system-memory alias (smmuv3_accel_find_add_as): it reaches the vITS only if that address is the doorbell, and is dropped where nothing backs it"
    : "the emulated device signals through msix_notify -> pci_msi_trigger, whose write goes through its bus-master address space, the vSMMU's IOMMU address space: the same translation fails again on every interrupt (and records again when it faults)";
}

type Translated =
  | Translation
  | { kind: 'unassigned'; reason: string }
  | { kind: 'virtio-iommu-fault'; fault: VirtioIommuFault };

function translate(addressSpace: AddressSpaceKind, msi: Msi, trail: Trail): Translated {
  const { state, address } = msi;
  switch (addressSpace) {
    case 'system':
      return { kind: 'translated', gpa: address };
    case 'smmu-iommu':
      return translateThroughSmmu(target(msi), address, trail);
    case 'virtio-iommu': {
      const { placement, device } = msi;
      const translation = translateThroughVirtioIommu(
        {
          device,
          virtioIommu: placement.virtioIommu!,
          endpoint: placement.streamId,
          board: state.board,
          self: placement.untranslated === 'self',
          placementEvents: placement.events,
        },
        address,
        trail,
      );
      return translation.kind === 'fault'
        ? { kind: 'virtio-iommu-fault', fault: translation.fault }
        : { kind: 'translated', gpa: translation.gpa };
    }
    case 'direct-gpa': {
      const gpa = msiGpaOf(msiControllerOf(state.board));
      trail.add({
        action: `msi-gpa = vITS base + 0x10000 + 0x40 = ${hex(gpa)}, whatever the gIOVA, STE or stage-1 state`,
        rule: 'R9',
        source: 'virt_machine_device_pre_plug_cb sets msi-gpa; kvm_arch_fixup_msi_route set_doorbell',
        input: { gIOVA: address },
        output: { gpa },
        events: [state.board.setBy, msi.placement.smmu!.accel.setBy],
      });
      return { kind: 'translated', gpa };
    }
    case 'sysmem-alias': {
      const region = systemMemoryMap({
        ramSize: state.board.ramSize,
        msiController: msiControllerOf(state.board),
      }).find((r) => inRange(address, r.base, r.size));
      trail.add({
        action: region
          ? `the alias finds "${region.name}" at offset ${hex(address - region.base)}: the gIOVA is taken as a gPA`
          : 'the alias finds nothing at the gIOVA (io_mem_unassigned)',
        rule: 'R9',
        source: 'address_space_translate (shared_as_sysmem) + memory_region_find',
        input: { gIOVA: address },
        output: region ? { gpa: address, region: region.name } : { gpa: null },
        events: [state.board.setBy],
      });
      if (region === undefined)
        return {
          kind: 'unassigned',
          reason: `${hex(address)} is not backed by anything in system memory (io_mem_unassigned): the fixup returns 1 and no route is added`,
        };
      return { kind: 'translated', gpa: address };
    }
  }
}

/** How a bridge aliases a device's requester id, in words for the trail. */
function aliasText(alias: RequesterAlias, ownId: bigint): string {
  const own = `its own id ${hex(ownId)}`;
  return alias.rule === 'secondary-bus'
    ? `behind the PCIe-to-PCI bridge ${alias.bridge.id}, whose secondary bus is conventional PCI, QEMU translates it by that bus and devfn 00.0 (PCI_REQ_ID_SECONDARY_BUS): requester id ${hex(alias.requesterId)}, not ${own}`
    : `behind the PCI-to-PCI bridge ${alias.bridge.id}, QEMU translates it by the bridge's own BDF (PCI_REQ_ID_BDF): requester id ${hex(alias.requesterId)}, not ${own}`;
}
