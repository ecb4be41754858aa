// Commands, events and the projected state of one VM's topology. Addresses are bigint here.

import type { QemuBuildClassification } from '../qemu-build/classify.js';
import type { GuestDeclaration } from '../guest/profiles.js';
import type { QemuDeclarationJson } from '../qemu-build/declaration.js';
import type { RangeIndex } from '../translation/range-index.js';

// The vocabulary as values, so that request schemas take their enums from here instead of
// repeating them.
export const GIC_VERSIONS = [2, 3] as const;
export const SMMU_STAGES = ['1', '2', 'nested'] as const;
export const GRANULES = ['4K', '16K', '64K'] as const;
export const STE_CONFIGS = ['invalid', 'abort', 'bypass', 's1', 's2', 'nested'] as const;
export const PERMS = ['rw', 'ro'] as const;
export const STAGES = [1, 2] as const;
/**
 * Bridges that own a secondary bus and sit at a slot and function of their parent bus (QEMU
 * driver names): a PCIe switch's upstream and downstream ports, a PCIe-to-PCI bridge (its
 * secondary bus is conventional PCI) and a PCI-to-PCI bridge (likewise).
 */
export const BRIDGE_BUS_TYPES = ['x3130-upstream', 'xio3130-downstream', 'pcie-pci-bridge', 'pci-bridge'] as const;
/** The bus types a client adds; pcie.0 (pcie-root) is always there. */
export const ADDABLE_BUS_TYPES = ['pxb-pcie', 'pcie-root-port', ...BRIDGE_BUS_TYPES] as const;

export type GicVersion = (typeof GIC_VERSIONS)[number];
export type SmmuStage = (typeof SMMU_STAGES)[number];
export type Granule = (typeof GRANULES)[number];
export type SteConfig = (typeof STE_CONFIGS)[number];
export type Perm = (typeof PERMS)[number];
export type Stage = (typeof STAGES)[number];
export type AddableBusType = (typeof ADDABLE_BUS_TYPES)[number];
export type BridgeBusType = (typeof BRIDGE_BUS_TYPES)[number];
export type BusType = 'pcie-root' | AddableBusType;

/** The stage-1 context descriptor fields the model uses. */
export interface ContextDescriptor {
  granule: Granule;
  t0sz: number;
  /**
   * CD.T1SZ: the size of TT1, checked and used when EPD1=0 (decode_cd reads each TT's TSZ,
   * select_tt uses TT1's own; reference §9.2). Defaults to t0sz. TG1 is taken equal to TG0.
   */
  t1sz: number;
  epd1: boolean;
  /** CD.IPS as a number of output bits. */
  ips: number;
  /** CD.R: record stage-1 faults. */
  recordFaults: boolean;
  /** CD.AFFD: access-flag faults disabled. */
  affd: boolean;
}

/** The stage-2 fields of the STE the model uses. */
export interface Stage2Config {
  granule: Granule;
  t0sz: number;
  /** STE.S2PS as a number of output bits. */
  ps: number;
  /** STE.S2R: record stage-2 faults. */
  recordFaults: boolean;
}

export interface Ste {
  config: SteConfig;
  cd: ContextDescriptor | null;
  s2: Stage2Config | null;
  /**
   * Where the stage-1 descriptors sit, when the topology states them (s1 and nested configs):
   * STE.S1ContextPtr (the CD) and CD.TTB0/TTB1. In nested mode they are IPAs that QEMU
   * translates through stage 2 (smmu_get_cd, decode_cd; reference §9.3); null = not stated,
   * and the resolution says it assumed them clean.
   */
  cdAddress: bigint | null;
  ttb0: bigint | null;
  ttb1: bigint | null;
}

export const STREAM_TABLE_FORMATS = ['linear', '2-level'] as const;
export type StreamTableFormat = (typeof STREAM_TABLE_FORMATS)[number];

export interface SmmuGuestState {
  enabled: boolean;
  gbpaAbort: boolean;
  eventqEnabled: boolean;
  streamTableLog2Size: number;
  /** STRTAB_BASE_CFG.FMT. */
  streamTableFormat: StreamTableFormat;
  /** STRTAB_BASE_CFG.SPLIT: SID bits indexing an L2 table (2-level only). */
  split: number;
  /** L1STD.Span of the L1 descriptors covering the attached devices (2-level only); 0 = invalid. */
  l1Span: number;
  /**
   * The guest honours the IORT RMR for the sw_msi window (iort_get_rmrs): an ACPI-booted Linux
   * does, a DT boot or a guest without RMR handling does not (reference §9.4). Per SMMU, since
   * QEMU builds one RMR per accel SMMU; the VM gives the default.
   */
  rmrHonoured: boolean;
}

// ---- commands ---------------------------------------------------------------------------

export type Command =
  | {
      type: 'DefineVm';
      vmId: string;
      ramSize?: bigint;
      gicVersion?: GicVersion;
      its?: boolean;
      kvm?: boolean;
      hostItsBase?: bigint;
      rmrHonoured?: boolean;
      /** -machine default_bus_bypass_iommu=on: no IOMMU translates pcie.0's devices (default false). */
      defaultBusBypassIommu?: boolean;
      /** The `qemu` object of the request, as sent: decide parses it (a malformed one is a QemuBuildInputError). */
      qemu?: unknown;
      /** The `guest` object of the request (issue 19): the guest profile, parsed by decide. */
      guest?: unknown;
    }
  /** The guest the VM runs, as a profile (issue 19); `guest` is the request's object, parsed by decide. */
  | { type: 'DeclareGuestProfile'; guest: unknown }
  /** The VM now runs this QEMU build (contract v1.2); `qemu` is the request's object, parsed by decide. */
  | { type: 'DeclareQemuBuild'; qemu: unknown }
  | {
      type: 'AddBus';
      busId: string;
      busType: AddableBusType;
      busNr?: number;
      bus?: string;
      secondaryBusNr?: number;
      /** pxb-pcie bypass_iommu=on: no IOMMU translates the devices below it (default false). */
      bypassIommu?: boolean;
      /** A bridge's own place on its parent bus (bridge types only). */
      slot?: number;
      function?: number;
    }
  | { type: 'AddSmmu'; smmuId: string; primaryBus: string; accel?: boolean; stage?: SmmuStage; oas?: number }
  | { type: 'SetSmmuAccel'; smmuId: string; enabled: boolean }
  | { type: 'SetSmmuGuestState'; smmuId: string; changes: Partial<SmmuGuestState> }
  | {
      type: 'AttachDevice';
      deviceId: string;
      driver: string;
      bus: string;
      slot: number;
      function?: number;
      host?: string;
      /**
       * vfio-pci only: the host device was handed to QEMU as an open file descriptor (fd=, as
       * libvirt passes an iommufd device), so its address may be unknown (host absent).
       */
      hostFd?: boolean;
      iommufd?: string;
    }
  | { type: 'DetachDevice'; deviceId: string }
  /** Take a bus out of the VM (a re-import, issue 20): nothing may be left behind it. */
  | { type: 'RemoveBus'; busId: string }
  /** Take an SMMU out of the VM (a re-import): the devices it translated stay, untranslated. */
  | { type: 'RemoveSmmu'; smmuId: string }
  /** The board's -machine options as a source states them changed (a re-import); each field given is set. */
  | {
      type: 'ChangeBoard';
      ramSize?: bigint;
      gicVersion?: GicVersion;
      its?: boolean;
      kvm?: boolean;
      defaultBusBypassIommu?: boolean;
    }
  | {
      type: 'ConfigureSte';
      deviceId: string;
      config: SteConfig;
      cd?: Partial<ContextDescriptor>;
      s2?: Partial<Stage2Config>;
      cdAddress?: bigint;
      ttb0?: bigint;
      ttb1?: bigint;
    }
  | {
      type: 'MapIova';
      deviceId: string;
      stage: Stage;
      iova: bigint;
      output: bigint;
      size: bigint;
      perm?: Perm;
      accessFlag?: boolean;
    }
  | { type: 'UnmapIova'; deviceId: string; stage: Stage; iova: bigint }
  | { type: 'ProgramMsiVector'; deviceId: string; vector: number; address: bigint; data: bigint }
  /** Take the VM out of service (contract v1.1): its stream refuses every command afterwards. */
  | { type: 'DecommissionVm' };

export type CommandOf<T extends Command['type']> = Extract<Command, { type: T }>;

// ---- events -----------------------------------------------------------------------------

export interface EventDataByType {
  /** rmrHonoured is written only when the command gave it (absent: true, as in events stored before §9). */
  VmDefined: {
    vmId: string;
    ramSize: bigint;
    gicVersion: GicVersion;
    its: boolean;
    kvm: boolean;
    hostItsBase: bigint | null;
    rmrHonoured?: boolean;
    /** Written only when the command gave it (absent: false, as in events stored before virtio-iommu). */
    defaultBusBypassIommu?: boolean;
  };
  /**
   * bypassIommu is written only when the command gave it (absent: false); slot and function are
   * written for the bridge types only (events stored before have neither).
   */
  BusAdded: {
    busId: string;
    busType: AddableBusType;
    bus: string;
    busNumber: number;
    bypassIommu?: boolean;
    slot?: number;
    function?: number;
  };
  SmmuAdded: { smmuId: string; primaryBus: string; accel: boolean; stage: SmmuStage; oas: number };
  SmmuAccelModeChanged: { smmuId: string; enabled: boolean };
  SmmuGuestStateChanged: { smmuId: string } & Partial<SmmuGuestState>;
  DeviceAttached: {
    deviceId: string;
    driver: string;
    bus: string;
    slot: number;
    function: number;
    host: string | null;
    /** Written only when true (events stored before have none). */
    hostFd?: boolean;
    iommufd: string | null;
  };
  DeviceDetached: { deviceId: string };
  /** The bus left the VM (nothing was behind it). */
  BusRemoved: { busId: string };
  /** The SMMU left the VM; the devices it translated stay. */
  SmmuRemoved: { smmuId: string };
  /** The fields of the board that changed, with their new values. */
  BoardChanged: {
    ramSize?: bigint;
    gicVersion?: GicVersion;
    its?: boolean;
    kvm?: boolean;
    defaultBusBypassIommu?: boolean;
  };
  /** Events stored before §9 lack cd.t1sz (= t0sz) and the descriptor addresses (= null); evolve fills them in. */
  SteConfigured: { deviceId: string } & Ste;
  IovaMapped: {
    deviceId: string;
    stage: Stage;
    iova: bigint;
    output: bigint;
    size: bigint;
    perm: Perm;
    accessFlag: boolean;
  };
  IovaUnmapped: { deviceId: string; stage: Stage; iova: bigint };
  MsiVectorProgrammed: { deviceId: string; vector: number; address: bigint; data: bigint };
  /** The declared build's evidence, canonical (canonicalDeclaration); the classification is derived on folding. */
  QemuBuildDeclared: { qemu: QemuDeclarationJson };
  /** The guest profile, canonical (parseGuestDeclaration): pageSize given, vectors sorted by device id. */
  GuestProfileDeclared: { guest: GuestDeclaration };
  /** The VM is out of service: its history and records stay, its stream takes no more commands. */
  VmDecommissioned: { vmId: string };
}

export type EventType = keyof EventDataByType;

/** An event as decide() produces it: not yet stored. */
export type DomainEvent = { [T in EventType]: { type: T; data: EventDataByType[T] } }[EventType];

/** An event as stored: it has its place in the VM's stream and in the global log. */
export type RecordedEvent = DomainEvent & { position: number; streamVersion: number };

/** Provenance: the stored event that established a fact. */
export interface EventRef {
  position: number;
  type: EventType;
}

// ---- projected state --------------------------------------------------------------------

export interface Fact<T> {
  value: T;
  setBy: EventRef;
}

export interface Board {
  ramSize: bigint;
  gicVersion: GicVersion;
  its: boolean;
  kvm: boolean;
  hostItsBase: bigint | null;
  /** The VM-wide default of the guest's RMR handling (reference §9.4); each SMMU starts from it. */
  rmrHonoured: boolean;
  /** -machine default_bus_bypass_iommu: pcie.0's host bridge bypasses every IOMMU (pci_bus_bypass_iommu). */
  defaultBusBypassIommu: boolean;
  setBy: EventRef;
}

export interface Bus {
  id: string;
  type: BusType;
  /** pcie.0 is 0, a pxb-pcie has its bus_nr, a root port the secondary bus number firmware gave it. */
  number: number;
  /** The bus this one sits on (null for pcie.0). */
  parent: string | null;
  /** The root bus (pcie.0 or a pxb-pcie) this bus belongs to. */
  rootBus: string;
  /**
   * The host bridge's bypass_iommu: a pxb-pcie's own property, pcie.0's the board's
   * default_bus_bypass_iommu; false for a root port (its root bus decides, pci_bus_bypass_iommu).
   */
  bypassIommu: boolean;
  /** A bridge's own slot and function on its parent bus (bridge types only; the model does not hold a root port's). */
  slot?: number;
  function?: number;
  setBy: EventRef;
}

export interface Smmu {
  id: string;
  primaryBus: string;
  stage: SmmuStage;
  oas: number;
  accel: Fact<boolean>;
  guest: { [K in keyof SmmuGuestState]: Fact<SmmuGuestState[K]> };
  addedBy: EventRef;
}

export interface Mapping {
  stage: Stage;
  iova: bigint;
  output: bigint;
  size: bigint;
  perm: Perm;
  accessFlag: boolean;
  setBy: EventRef;
}

export interface MsiVector {
  vector: number;
  address: bigint;
  data: bigint;
  setBy: EventRef;
}

/** The HWPTs an accel vSMMU attaches to a device in the physical SMMU (smmuv3-accel.c). */
export type HwptKind = 'abort' | 'bypass' | 'nested-s1';

/**
 * What the physical SMMU has attached for the device: the HWPT of the last accepted install.
 * QEMU 11.0 changes it only on CFGI_STE (smmuv3_accel_install_ste) and on a GBPA write or reset
 * (smmuv3_accel_attach_gbpa_hwpt), never on a CR0 write (reference §9.8, §9.9).
 */
export interface HwptAttachment {
  hwpt: HwptKind;
  /** 'ste': a vSTE install with SMMUEN=1; 'gbpa': the GBPA HWPT (GBPA write, reset, or an install with SMMUEN=0). */
  via: 'ste' | 'gbpa';
  /** The vSTE config installed (via 'ste'). */
  config: SteConfig | null;
}

/** A vSTE install that QEMU refused or skipped, so the previous HWPT stayed. */
export interface RefusedInstall {
  config: SteConfig;
  reason: string;
}

export interface Device {
  id: string;
  driver: string;
  bus: string;
  slot: number;
  function: number;
  host: string | null;
  /** vfio-pci handed to QEMU as an open file descriptor (fd=): host may then be unknown (null). */
  hostFd: boolean;
  iommufd: string | null;
  attachedBy: EventRef;
  /** setBy is the SteConfigured event, or the DeviceAttached event while the defaults apply. */
  ste: Ste & { setBy: EventRef };
  mappings: { 1: RangeIndex<Mapping>; 2: RangeIndex<Mapping> };
  vectors: ReadonlyMap<number, MsiVector>;
  /** accel, QEMU 11.0: the HWPT attached now, set by the install or GBPA event that attached it. */
  hwpt: Fact<HwptAttachment>;
  /** The last install refused since that HWPT was attached (null when none was). */
  refusedInstall: Fact<RefusedInstall> | null;
  /**
   * accel, series v4: whether the device has an `s1_hwpt` (smmuv3_accel_install_nested_ste):
   * the last install whose STE was found had V=1 and an S1-enabled config (0b101 or 0b111),
   * whatever SMMUEN (reference §9.1). It picks the address space of get_msi_address_space.
   */
  stage1Hwpt: Fact<boolean>;
}

/** The QEMU build the VM runs, as last declared, with what §10 makes of it. */
export interface QemuBuildFact {
  declared: QemuDeclarationJson;
  classification: QemuBuildClassification;
  setBy: EventRef;
}

/** The guest profile the VM declares, and the event that declared it. */
export interface GuestProfileFact {
  declared: GuestDeclaration;
  setBy: EventRef;
}

export interface VmState {
  id: string;
  /** Number of events folded in. */
  version: number;
  /** Global position of the last event folded in (0 before any). */
  position: number;
  board: Board;
  /** null until a build is declared (rule Q8: unknown). */
  qemu: QemuBuildFact | null;
  /** The guest profile last declared (issue 19); null while none is (answers rest on recorded state only). */
  guest: GuestProfileFact | null;
  /** The VmDecommissioned event, once the VM is out of service (null while it is in service). */
  decommissioned: EventRef | null;
  buses: ReadonlyMap<string, Bus>;
  smmus: ReadonlyMap<string, Smmu>;
  devices: ReadonlyMap<string, Device>;
}
