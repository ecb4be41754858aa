// Commands, events and the projected state of one VM's topology. Addresses are bigint here.

import type { RangeIndex } from '../translation/range-index.js';

// The vocabulary as values, so that request schemas take their enums from here instead of
// repeating them.
export const GIC_VERSIONS = [2, 3] as const;
export const SMMU_STAGES = ['1', '2', 'nested'] as const;
export const GRANULES = ['4K', '16K', '64K'] as const;
export const STE_CONFIGS = ['invalid', 'abort', 'bypass', 's1', 's2', 'nested'] as const;
export const PERMS = ['rw', 'ro'] as const;
export const STAGES = [1, 2] as const;
/** The bus types a client adds; pcie.0 (pcie-root) is always there. */
export const ADDABLE_BUS_TYPES = ['pxb-pcie', 'pcie-root-port'] as const;

export type GicVersion = (typeof GIC_VERSIONS)[number];
export type SmmuStage = (typeof SMMU_STAGES)[number];
export type Granule = (typeof GRANULES)[number];
export type SteConfig = (typeof STE_CONFIGS)[number];
export type Perm = (typeof PERMS)[number];
export type Stage = (typeof STAGES)[number];
export type AddableBusType = (typeof ADDABLE_BUS_TYPES)[number];
export type BusType = 'pcie-root' | AddableBusType;

/** The stage-1 context descriptor fields the model uses. */
export interface ContextDescriptor {
  granule: Granule;
  t0sz: number;
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
}

export interface SmmuGuestState {
  enabled: boolean;
  gbpaAbort: boolean;
  eventqEnabled: boolean;
  streamTableLog2Size: number;
}

// ---- commands ---------------------------------------------------------------------------

export type Command =
  | { type: 'DefineVm'; vmId: string; ramSize?: bigint; gicVersion?: GicVersion; its?: boolean; kvm?: boolean; hostItsBase?: bigint }
  | { type: 'AddBus'; busId: string; busType: AddableBusType; busNr?: number; bus?: string; secondaryBusNr?: number }
  | { type: 'AddSmmu'; smmuId: string; primaryBus: string; accel?: boolean; stage?: SmmuStage; oas?: number }
  | { type: 'SetSmmuAccel'; smmuId: string; enabled: boolean }
  | { type: 'SetSmmuGuestState'; smmuId: string; changes: Partial<SmmuGuestState> }
  | { type: 'AttachDevice'; deviceId: string; driver: string; bus: string; slot: number; function?: number; host?: string; iommufd?: string }
  | { type: 'DetachDevice'; deviceId: string }
  | { type: 'ConfigureSte'; deviceId: string; config: SteConfig; cd?: Partial<ContextDescriptor>; s2?: Partial<Stage2Config> }
  | { type: 'MapIova'; deviceId: string; stage: Stage; iova: bigint; output: bigint; size: bigint; perm?: Perm; accessFlag?: boolean }
  | { type: 'UnmapIova'; deviceId: string; stage: Stage; iova: bigint }
  | { type: 'ProgramMsiVector'; deviceId: string; vector: number; address: bigint; data: bigint };

export type CommandOf<T extends Command['type']> = Extract<Command, { type: T }>;

// ---- events -----------------------------------------------------------------------------

export interface EventDataByType {
  VmDefined: { vmId: string; ramSize: bigint; gicVersion: GicVersion; its: boolean; kvm: boolean; hostItsBase: bigint | null };
  BusAdded: { busId: string; busType: AddableBusType; bus: string; busNumber: number };
  SmmuAdded: { smmuId: string; primaryBus: string; accel: boolean; stage: SmmuStage; oas: number };
  SmmuAccelModeChanged: { smmuId: string; enabled: boolean };
  SmmuGuestStateChanged: { smmuId: string } & Partial<SmmuGuestState>;
  DeviceAttached: { deviceId: string; driver: string; bus: string; slot: number; function: number; host: string | null; iommufd: string | null };
  DeviceDetached: { deviceId: string };
  SteConfigured: { deviceId: string } & Ste;
  IovaMapped: { deviceId: string; stage: Stage; iova: bigint; output: bigint; size: bigint; perm: Perm; accessFlag: boolean };
  IovaUnmapped: { deviceId: string; stage: Stage; iova: bigint };
  MsiVectorProgrammed: { deviceId: string; vector: number; address: bigint; data: bigint };
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

export interface Device {
  id: string;
  driver: string;
  bus: string;
  slot: number;
  function: number;
  host: string | null;
  iommufd: string | null;
  attachedBy: EventRef;
  /** setBy is the SteConfigured event, or the DeviceAttached event while the defaults apply. */
  ste: Ste & { setBy: EventRef };
  mappings: { 1: RangeIndex<Mapping>; 2: RangeIndex<Mapping> };
  vectors: ReadonlyMap<number, MsiVector>;
}

export interface VmState {
  id: string;
  /** Number of events folded in. */
  version: number;
  /** Global position of the last event folded in (0 before any). */
  position: number;
  board: Board;
  buses: ReadonlyMap<string, Bus>;
  smmus: ReadonlyMap<string, Smmu>;
  devices: ReadonlyMap<string, Device>;
}
