// What a resolution says: where one MSI of one device lands under one QEMU behaviour, and why.
// Addresses are bigint; the API turns them into hex at the edge.

import type { QemuBehaviour, QemuBuildRuleId } from '../qemu-build/rules.js';
import type { Semantics, SemanticsSource } from '../qemu-build/semantics.js';
import type { EventRef } from '../topology/types.js';

export { SEMANTICS, type Semantics } from '../qemu-build/semantics.js';

/** The virtio-iommu event virtio_iommu_report_fault() queues on the event virtqueue. */
export interface VirtioIommuFault {
  /** VIRTIO_IOMMU_FAULT_R_MAPPING: no mapping, or a mapping without write permission. */
  reason: 'R_MAPPING';
  /** VIRTIO_IOMMU_FAULT_F_ADDRESS, plus F_WRITE when a mapping exists but is read-only. */
  flags: ('F_ADDRESS' | 'F_WRITE')[];
  /** The endpoint id: the requester id, PCI_BUILD_BDF(bus, devfn) (virtio_iommu_get_bdf). */
  endpoint: bigint;
  address: bigint;
  message: string;
}

/**
 * What `kvm_arch_fixup_msi_route()` translated the guest address through: no vIOMMU (system
 * memory), the emulated vSMMU's IOMMU address space, the vITS doorbell handed over directly
 * (`get_msi_direct_gpa`), or the accel system-memory alias ("smmuv3-accel-as-sysmem").
 */
export type AddressSpaceKind = 'system' | 'smmu-iommu' | 'direct-gpa' | 'sysmem-alias' | 'virtio-iommu';

/** Why no KVM MSI route exists. */
export type RouteMissingCause =
  | 'fault'
  | 'aborted'
  | 'unassigned'
  | 'no-kvm-irqchip'
  | 'gsi-direct'
  | 'no-msi-controller';

export type Route =
  | { installed: true; address: bigint; data: bigint; devid: bigint; flags: 'KVM_MSI_VALID_DEVID' }
  | { installed: false; cause: RouteMissingCause; reason: string };

export type FaultType =
  | 'C_BAD_STREAMID'
  | 'C_BAD_STE'
  | 'C_BAD_CD'
  | 'F_TRANSLATION'
  | 'F_ADDR_SIZE'
  | 'F_ACCESS'
  | 'F_PERMISSION';

/** CLASS of a walk fault: the input address, the CD fetch, or a stage-1 table fetch (nested). */
export type FaultClass = 'IN' | 'CD' | 'TT';

/** An SMMUv3 event as `smmuv3_record_event()` would write it (or drop it). */
export interface Fault {
  type: FaultType;
  /** Architectural event number (Linux ARM_SMMU_EVT_*), as hex. */
  code: bigint;
  /** The stage of a walk fault (the event's S2 bit); null for a configuration fault (reference §9.10). */
  stage: 1 | 2 | null;
  /** CLASS of a walk fault; null for a configuration fault. */
  class: FaultClass | null;
  streamId: bigint;
  inputAddress: bigint;
  /** RnW=0: the KVM fixup translates with is_write=true. */
  rnw: false;
  /** Written to the guest EVENTQ (EVENTQEN and, for walk faults, CD.R / STE.S2R). */
  recorded: boolean;
  reason: string;
}

export type Severity = 'error' | 'warning' | 'KVM-tolerated' | 'info';

export interface Diagnostic {
  code: string;
  severity: Severity;
  message: string;
}

/** Where the route's address lands among the vITS frames. */
export interface DoorbellCheck {
  its: boolean;
  frame: 'translation' | 'control' | null;
  offset: bigint | null;
}

export interface TrailStep {
  step: number;
  action: string;
  /** The rule of the domain reference's decision table, where one applies. */
  rule?: string;
  /** The QEMU/Linux code the step follows. */
  source?: string;
  input: Record<string, unknown>;
  output: Record<string, unknown>;
  /** The stored events (global positions) that established the facts this step used. */
  events: EventRef[];
}

export interface HardwareStep {
  action: string;
  input: bigint;
  output: bigint | null;
  events: EventRef[];
}

/** The bytes on the bus with accel=on: what the physical SMMU does with the device's MSI write. */
export interface HardwarePath {
  deviceWrites: bigint;
  steps: HardwareStep[];
  /**
   * The write reaches the host's physical MSI doorbell and the guest's route takes it; false when
   * something blocks it; null when nothing blocks it but the host ITS base is unknown, so the
   * physical doorbell is too (reference §9.10).
   */
  delivered: boolean | null;
  reason?: string;
}

export interface RouteComparison {
  'pre-fix': Route;
  'address-space': Route;
  upstream: Route;
  /**
   * pre-fix (KVM routing through get_address_space(): accel patches without the MSI fix, a what-if
   * that no release shipped, reference §10) installs a route to another address than upstream
   * (get_msi_direct_gpa, QEMU 11.0.0 and later).
   */
  misroutedBeforeFix: boolean;
  /** pre-fix installs no route where upstream installs one (reference §9.10). */
  missingBeforeFix: boolean;
}

/** Which model produced a resolution, so that a stored record stays interpretable after the model changes. */
export interface ModelVersion {
  version: number;
  reference: string;
}

/** What is resolved: a device's programmed vector, or an address and data given directly. */
export interface MsiRequest {
  deviceId: string;
  vector?: number;
  address?: bigint;
  data?: bigint;
}

/** The QEMU build the VM had declared at the version resolved, and the event that declared it. */
export interface ResolutionQemu {
  version: string | null;
  package: string | null;
  behaviour: QemuBehaviour;
  rule: QemuBuildRuleId;
  declaredBy: EventRef | null;
}

export interface Resolution {
  model: ModelVersion;
  device: string;
  vector?: number;
  asOfVersion: number;
  semantics: Semantics;
  /** Whether the semantics was asked for, taken from the declared build, or the default (contract v1.2). */
  semanticsSource: SemanticsSource;
  qemu: ResolutionQemu;
  input: { address: bigint; data: bigint };
  streamId: bigint;
  devid: bigint;
  addressSpace: AddressSpaceKind;
  route: Route;
  fault: Fault | null;
  /** The VM's virtio-iommu (present only when the VM has one, model version 4). */
  virtioIommu?: string;
  /** The virtio-iommu fault of the translation (present only when the VM has a virtio-iommu). */
  virtioIommuFault?: VirtioIommuFault | null;
  doorbell: DoorbellCheck | null;
  hardwarePath: HardwarePath | null;
  diagnostics: Diagnostic[];
  comparison: RouteComparison;
  trail: TrailStep[];
}
