// decide(command, state) -> events, or a DomainError naming the rule that forbids the command.
// Pure: the caller loads the state, decides, and appends with the version it read.

import { fitsIn64Bits, hex, isAligned } from '../address.js';
import { DomainError } from '../errors.js';
import { parseGuestDeclaration } from '../guest/profiles.js';
import { classifyQemuBuild, type QemuBuildClassification } from '../qemu-build/classify.js';
import { canonicalDeclaration, parseQemuDeclaration } from '../qemu-build/declaration.js';
import {
  VIRTIO_IOMMU_DRIVER,
  devicesOnRootBus,
  isRootBus,
  isVfio,
  isVirtioIommu,
  opensConventionalBus,
  placementOf,
  rootBusOf,
  smmuOnRootBus,
  translatedByVirtioIommu,
  virtioIommuOf,
} from '../translation/topology-facts.js';
import { DEFAULT_OAS, DEFAULT_RAM_SIZE, ITS_FRAME_SIZE, KVM_ITS_MMIO_SIZE, RAM_BASE } from '../virt-board.js';
import {
  DEFAULT_CD,
  DEFAULT_S2,
  GRANULE_BYTES,
  PCIE_ROOT_BUS,
  steWithDefaults,
  usesStage1,
  usesStage2,
} from './defaults.js';
import { deviceNeeds, type Need, requireCapabilities, smmuNeeds } from './build-capabilities.js';
import { checkDeviceBehindSmmu, checkSmmuSettings } from './rules.js';
import {
  BRIDGE_BUS_TYPES,
  type BridgeBusType,
  type Bus,
  type CommandOf,
  type Command,
  type Device,
  type DomainEvent,
  type EventDataByType,
  type Smmu,
  type SmmuGuestState,
  type Stage,
  type Ste,
  type VmState,
} from './types.js';

const MSI_DATA_MAX = 0xffff_ffffn;

export function decide(command: Command, state: VmState | undefined): DomainEvent[] {
  if (command.type === 'DefineVm') return defineVm(command, state);
  if (state === undefined) throw new DomainError('VM_NOT_FOUND', 'the VM does not exist');
  if (state.decommissioned !== null) {
    throw new DomainError(
      'VM_DECOMMISSIONED',
      `VM ${state.id} was decommissioned (event ${state.decommissioned.position}): it takes no more commands; its history and records stay readable`,
    );
  }
  switch (command.type) {
    case 'DecommissionVm':
      return [{ type: 'VmDecommissioned', data: { vmId: state.id } }];
    case 'DeclareQemuBuild':
      return declareQemuBuild(command, state);
    case 'DeclareGuestProfile':
      return declareGuestProfile(command, state);
    case 'AddBus':
      return addBus(command, state);
    case 'AddSmmu':
      return addSmmu(command, state);
    case 'SetSmmuAccel':
      return setSmmuAccel(command, state);
    case 'SetSmmuGuestState':
      return setSmmuGuestState(command, state);
    case 'AttachDevice':
      return attachDevice(command, state);
    case 'DetachDevice':
      return detachDevice(command, state);
    case 'RemoveBus':
      return removeBus(command, state);
    case 'RemoveSmmu':
      return removeSmmu(command, state);
    case 'ChangeBoard':
      return changeBoard(command, state);
    case 'ConfigureSte':
      return configureSte(command, state);
    case 'MapIova':
      return mapIova(command, state);
    case 'UnmapIova':
      return unmapIova(command, state);
    case 'ProgramMsiVector':
      return programMsiVector(command, state);
  }
}

// ---- lookups ----------------------------------------------------------------------------

export function getDevice(state: VmState, deviceId: string, pointer?: string): Device {
  const device = state.devices.get(deviceId);
  if (device === undefined)
    throw new DomainError('DEVICE_NOT_FOUND', `device ${deviceId} is not attached to VM ${state.id}`, pointer);
  return device;
}

export function getSmmu(state: VmState, smmuId: string): Smmu {
  const smmu = state.smmus.get(smmuId);
  if (smmu === undefined) throw new DomainError('SMMU_NOT_FOUND', `SMMU ${smmuId} does not exist in VM ${state.id}`);
  return smmu;
}

/** QEMU ids share one namespace (qdev), so a bus, an SMMU and a device may not share an id. */
function requireFreeId(state: VmState, id: string, pointer: string): void {
  if (state.buses.has(id) || state.smmus.has(id) || state.devices.has(id)) {
    throw new DomainError('DUPLICATE_ID', `${pointer.slice(1)}: id ${id} is already used in VM ${state.id}`, pointer);
  }
}

/** The SMMU that translates a device on this bus: none when the root bus bypasses the IOMMU. */
function coveringSmmu(state: VmState, device: Pick<Device, 'bus'>): Smmu | undefined {
  const rootBus = rootBusOf(state, device.bus);
  return rootBus === undefined || rootBus.bypassIommu ? undefined : smmuOnRootBus(state, rootBus.id);
}

function smmuMode(smmu: Smmu, accel = smmu.accel.value) {
  return { id: smmu.id, accel, stage: smmu.stage, oas: smmu.oas };
}

// ---- VM and buses -----------------------------------------------------------------------

function defineVm(command: CommandOf<'DefineVm'>, state: VmState | undefined): DomainEvent[] {
  // A decommissioned VM's id stays taken: its history and records still answer to it.
  if (state?.decommissioned)
    throw new DomainError(
      'VM_DECOMMISSIONED',
      `id: VM ${command.vmId} was decommissioned; its id is not reused`,
      '/id',
    );
  if (state !== undefined) throw new DomainError('VM_EXISTS', `id: VM ${command.vmId} already exists`, '/id');
  const gicVersion = command.gicVersion ?? 3;
  const its = command.its ?? gicVersion === 3;
  const ramSize = command.ramSize ?? DEFAULT_RAM_SIZE;
  checkRamAndGic(ramSize, gicVersion, its);
  const hostItsBase = command.hostItsBase ?? null;
  if (hostItsBase !== null) {
    if (!isAligned(hostItsBase, ITS_FRAME_SIZE)) {
      throw new DomainError(
        'ITS_BASE_MISALIGNED',
        `hostItsBase ${hex(hostItsBase)} is not aligned to the 64 KiB ITS frame`,
        '/hostItsBase',
      );
    }
    if (!fitsIn64Bits(hostItsBase, KVM_ITS_MMIO_SIZE)) {
      throw new DomainError(
        'ADDRESS_OUT_OF_RANGE',
        `hostItsBase ${hex(hostItsBase)}: the ITS frames would end past the 64-bit range`,
        '/hostItsBase',
      );
    }
  }
  // rmrHonoured is written only when given, so a VM defined without it reads as every VM before §9 did.
  const rmr = command.rmrHonoured === undefined ? {} : { rmrHonoured: command.rmrHonoured };
  // Likewise defaultBusBypassIommu: absent reads as false, as in every VM defined before it.
  const bypass =
    command.defaultBusBypassIommu === undefined ? {} : { defaultBusBypassIommu: command.defaultBusBypassIommu };
  // A build declared with the VM is a declaration like any later one: its own event.
  const qemu: DomainEvent[] =
    command.qemu === undefined
      ? []
      : [
          {
            type: 'QemuBuildDeclared',
            data: { qemu: canonicalDeclaration(parseQemuDeclaration(command.qemu, '/qemu')) },
          },
        ];
  // Likewise a guest profile declared with the VM.
  const guest: DomainEvent[] =
    command.guest === undefined
      ? []
      : [{ type: 'GuestProfileDeclared', data: { guest: parseGuestDeclaration(command.guest, '/guest') } }];
  return [
    {
      type: 'VmDefined',
      data: { vmId: command.vmId, ramSize, gicVersion, its, kvm: command.kvm ?? true, hostItsBase, ...rmr, ...bypass },
    },
    ...qemu,
    ...guest,
  ];
}

/** The board rules a new VM and a changed board share. */
function checkRamAndGic(ramSize: bigint, gicVersion: number, its: boolean): void {
  if (ramSize === 0n || !fitsIn64Bits(RAM_BASE, ramSize)) {
    throw new DomainError(
      'RAM_OUT_OF_RANGE',
      `ramSize ${hex(ramSize)}: RAM starts at ${hex(RAM_BASE)} and must be non-empty and end inside the 64-bit address space`,
      '/ramSize',
    );
  }
  if (its && gicVersion === 2) {
    throw new DomainError('GIC_V2_WITHOUT_ITS', 'its: a GICv2 has no ITS (gicVersion 2 uses GICv2m for MSIs)', '/its');
  }
}

/**
 * The board's -machine options changed (a re-import, issue 20): the fields that differ. The new
 * board must satisfy what a new VM's does, and every SMMU's settings (accel needs KVM, R16).
 * default_bus_bypass_iommu decides whether pcie.0's devices are translated from the moment they
 * are created (the device's HWPT, its SMMU), so it changes only while no device and no SMMU
 * sits on pcie.0's root bus: the re-import takes them out and puts them back.
 */
function changeBoard(command: CommandOf<'ChangeBoard'>, state: VmState): DomainEvent[] {
  const { type: _type, ...fields } = command;
  const changed: EventDataByType['BoardChanged'] = {};
  for (const key of ['ramSize', 'gicVersion', 'its', 'kvm', 'defaultBusBypassIommu'] as const) {
    const value = fields[key];
    if (value !== undefined && value !== state.board[key]) Object.assign(changed, { [key]: value });
  }
  if (Object.keys(changed).length === 0) return [];
  const board = { ...state.board, ...changed };
  checkRamAndGic(board.ramSize, board.gicVersion, board.its);
  for (const smmu of state.smmus.values()) checkSmmuSettings(smmuMode(smmu), board, SMMU_POINTERS);
  if (changed.defaultBusBypassIommu !== undefined) {
    const held = [...devicesOnRootBus(state, PCIE_ROOT_BUS), ...[smmuOnRootBus(state, PCIE_ROOT_BUS) ?? []].flat()];
    if (held.length > 0)
      throw new DomainError(
        'BUS_NOT_EMPTY',
        `defaultBusBypassIommu: ${held.map((p) => p.id).join(', ')} sit on ${PCIE_ROOT_BUS}'s root bus, whose translation the option decides from their creation on; remove them first`,
        '/defaultBusBypassIommu',
      );
  }
  return [{ type: 'BoardChanged', data: changed }];
}

// ---- the QEMU build ---------------------------------------------------------------------

/** The build the VM runs, classified (rule Q8, unknown, while none is declared). */
export function qemuBuildOf(state: VmState): QemuBuildClassification {
  return state.qemu?.classification ?? classifyQemuBuild();
}

/** Every part of the VM the build must be able to create, with what each needs. */
function partsNeeding(state: VmState): Need[] {
  const smmus = [...state.smmus.values()].map((smmu) => ({
    part: `${smmu.id} on ${smmu.primaryBus}${smmu.accel.value ? ' with accel=on' : ''}`,
    needs: smmuNeeds({ primaryBus: smmu.primaryBus, accel: smmu.accel.value }, state.smmus.size),
    pointer: '',
  }));
  const devices = [...state.devices.values()].map((device) => ({
    part: `${device.id} (${device.driver})`,
    needs: deviceNeeds(device.driver),
    pointer: '',
  }));
  return [...smmus, ...devices];
}

function declareQemuBuild(command: CommandOf<'DeclareQemuBuild'>, state: VmState): DomainEvent[] {
  const declared = canonicalDeclaration(parseQemuDeclaration(command.qemu));
  const build = classifyQemuBuild(parseQemuDeclaration(declared));
  // A declaration that would leave in place what the build cannot create is refused.
  for (const need of partsNeeding(state)) requireCapabilities(state.id, build, need);
  // The same evidence again changes nothing (as a command that sets a value already set).
  if (state.qemu !== null && JSON.stringify(state.qemu.declared) === JSON.stringify(declared)) return [];
  return [{ type: 'QemuBuildDeclared', data: { qemu: declared } }];
}

/** The guest the VM runs, as a profile (issue 19): the same declaration again changes nothing. */
function declareGuestProfile(command: CommandOf<'DeclareGuestProfile'>, state: VmState): DomainEvent[] {
  const declared = parseGuestDeclaration(command.guest);
  if (state.guest !== null && JSON.stringify(state.guest.declared) === JSON.stringify(declared)) return [];
  return [{ type: 'GuestProfileDeclared', data: { guest: declared } }];
}

function addBus(command: CommandOf<'AddBus'>, state: VmState): DomainEvent[] {
  requireFreeId(state, command.busId, '/id');
  if (isBridgeType(command.busType)) return addBridge(command, command.busType, state);
  for (const field of ['slot', 'function'] as const) {
    if (command[field] !== undefined)
      throw new DomainError(
        'FIELD_NOT_ALLOWED',
        `${field} applies to the bridge types (${BRIDGE_BUS_TYPES.join(', ')}); the model does not hold a ${command.busType}'s place`,
        `/${field}`,
      );
  }
  let parent: string;
  let busNumber: number;
  if (command.busType === 'pxb-pcie') {
    if (command.secondaryBusNr !== undefined)
      throw new DomainError(
        'FIELD_NOT_ALLOWED',
        'secondaryBusNr applies to pcie-root-port only; a pxb-pcie takes busNr',
        '/secondaryBusNr',
      );
    if (command.busNr === undefined)
      throw new DomainError(
        'FIELD_REQUIRED',
        'busNr is required for a pxb-pcie (its root bus number, bus_nr)',
        '/busNr',
      );
    parent = command.bus ?? PCIE_ROOT_BUS;
    if (parent !== PCIE_ROOT_BUS)
      throw new DomainError('PXB_NOT_ON_PCIE0', `bus: a pxb-pcie sits on ${PCIE_ROOT_BUS}, not on ${parent}`, '/bus');
    busNumber = command.busNr;
  } else {
    if (command.busNr !== undefined)
      throw new DomainError(
        'FIELD_NOT_ALLOWED',
        'busNr applies to pxb-pcie only; a root port takes secondaryBusNr',
        '/busNr',
      );
    if (command.bus === undefined)
      throw new DomainError('FIELD_REQUIRED', 'bus is required for a pcie-root-port (the root bus it sits on)', '/bus');
    if (command.secondaryBusNr === undefined)
      throw new DomainError(
        'FIELD_REQUIRED',
        'secondaryBusNr is required for a pcie-root-port (the number guest firmware gave its secondary bus)',
        '/secondaryBusNr',
      );
    const bus = state.buses.get(command.bus);
    if (bus === undefined)
      throw new DomainError('BUS_NOT_FOUND', `bus: ${command.bus} does not exist in VM ${state.id}`, '/bus');
    if (!isRootBus(bus))
      throw new DomainError(
        'BUS_NOT_ROOT',
        `bus: a pcie-root-port sits on a root bus (${PCIE_ROOT_BUS} or a pxb-pcie), and ${bus.id} is a ${bus.type === 'pcie-root-port' ? 'root port' : bus.type}`,
        '/bus',
      );
    if (command.bypassIommu !== undefined)
      throw new DomainError(
        'FIELD_NOT_ALLOWED',
        'bypassIommu applies to pxb-pcie only (a host bridge property, pxb_dev_realize_common); a root port bypasses when its root bus does',
        '/bypassIommu',
      );
    parent = bus.id;
    busNumber = command.secondaryBusNr;
  }
  const pointer = command.busType === 'pxb-pcie' ? '/busNr' : '/secondaryBusNr';
  requireFreeBusNumber(state, busNumber, pointer);
  const bypass = command.bypassIommu === undefined ? {} : { bypassIommu: command.bypassIommu };
  return [
    { type: 'BusAdded', data: { busId: command.busId, busType: command.busType, bus: parent, busNumber, ...bypass } },
  ];
}

function isBridgeType(type: string): type is BridgeBusType {
  return (BRIDGE_BUS_TYPES as readonly string[]).includes(type);
}

function requireFreeBusNumber(state: VmState, busNumber: number, pointer: string): void {
  for (const bus of state.buses.values()) {
    if (bus.number === busNumber)
      throw new DomainError(
        'BUS_NUMBER_TAKEN',
        `${pointer.slice(1)}: bus number ${busNumber} is already used by ${bus.id}`,
        pointer,
      );
  }
}

/** The PCIe bridge types: their PCIe capability makes QEMU apply the slot-0 rule below a port (pci-bridge is conventional). */
const EXPRESS_BRIDGES: ReadonlySet<string> = new Set(['x3130-upstream', 'xio3130-downstream', 'pcie-pci-bridge']);

/**
 * A switch port or PCI bridge: at a slot and function of its parent bus, with the secondary bus
 * number firmware gave it. QEMU's placement rules are checked by checkSlot; QEMU itself accepts
 * a switch port on any PCIe bus (7.2 starts with x3130-upstream on pcie.0 and xio3130-downstream
 * on a root port), and so does the model.
 */
function addBridge(command: CommandOf<'AddBus'>, type: BridgeBusType, state: VmState): DomainEvent[] {
  if (command.busNr !== undefined)
    throw new DomainError(
      'FIELD_NOT_ALLOWED',
      `busNr applies to pxb-pcie only; a ${type} takes secondaryBusNr`,
      '/busNr',
    );
  if (command.bypassIommu !== undefined)
    throw new DomainError(
      'FIELD_NOT_ALLOWED',
      `bypassIommu applies to pxb-pcie only (a host bridge property, pxb_dev_realize_common); a ${type} bypasses when its root bus does`,
      '/bypassIommu',
    );
  const required: [keyof typeof command, string][] = [
    ['bus', 'the bus it plugs into'],
    ['slot', 'its slot on that bus'],
    ['secondaryBusNr', 'the number guest firmware gave its secondary bus'],
  ];
  for (const [field, what] of required) {
    if (command[field] === undefined)
      throw new DomainError('FIELD_REQUIRED', `${field} is required for a ${type} (${what})`, `/${field}`);
  }
  const parent = state.buses.get(command.bus!);
  if (parent === undefined)
    throw new DomainError('BUS_NOT_FOUND', `bus: ${command.bus} does not exist in VM ${state.id}`, '/bus');
  const slot = command.slot!;
  const fn = command.function ?? 0;
  checkSlot(state, parent, slot, fn, { id: command.busId, express: EXPRESS_BRIDGES.has(type), bridge: true });
  requireFreeBusNumber(state, command.secondaryBusNr!, '/secondaryBusNr');
  return [
    {
      type: 'BusAdded',
      data: {
        busId: command.busId,
        busType: type,
        bus: parent.id,
        busNumber: command.secondaryBusNr!,
        slot,
        function: fn,
      },
    },
  ];
}

/**
 * Where QEMU lets a PCI function plug in (hw/pci/pci.c do_pci_register_device, hw/pci/shpc.c
 * shpc_device_get_slot), checked for devices and bridges alike:
 *  - an extra root bus (pxb-pcie) takes bridges only;
 *  - below a root port or a switch downstream port, only slot 0 (for a PCIe function; the model
 *    applies it to every device, as it always has below a root port);
 *  - on the secondary bus of a pcie-pci-bridge or pci-bridge, whose standard hot-plug controller
 *    (SHPC, on by default) has slots 1 to 31, slot 0 is refused;
 *  - a slot and function in use.
 */
function checkSlot(
  state: VmState,
  bus: Bus,
  slot: number,
  fn: number,
  what: { id: string; express: boolean; bridge: boolean },
): void {
  if (bus.type === 'pxb-pcie' && !what.bridge)
    throw new DomainError(
      'BUS_TAKES_BRIDGES_ONLY',
      `bus: ${bus.id} is a pxb-pcie, an extra root bus: "PCI: Only PCI/PCIe bridges can be plugged into pxb-pcie" (do_pci_register_device); put ${what.id} behind a root port`,
      '/bus',
    );
  const port =
    bus.type === 'pcie-root-port'
      ? 'a root port'
      : bus.type === 'xio3130-downstream'
        ? 'a switch downstream port'
        : null;
  if (port !== null && slot !== 0 && (what.express || !what.bridge))
    throw new DomainError(
      'SLOT_NOT_VALID',
      `slot: ${bus.id} is ${port}, whose secondary bus only has slot 0 (QEMU: "parent device only allows plugging into slot 0")`,
      '/slot',
    );
  if (opensConventionalBus(bus) && slot === 0)
    throw new DomainError(
      'SLOT_NOT_VALID',
      `slot: ${bus.id} is a ${bus.type} whose secondary bus has a standard hot-plug controller: "Unsupported PCI slot 0 for standard hotplug controller. Valid slots are between 1 and 31." (shpc_device_get_slot)`,
      '/slot',
    );
  const taken = occupantAt(state, bus.id, slot, fn);
  if (taken !== undefined)
    throw new DomainError('SLOT_TAKEN', `slot: ${bus.id} ${slot}.${fn} is already used by ${taken}`, '/slot');
}

/** What sits at a slot and function of a bus: a device, or a bridge (the model holds no root port's place). */
function occupantAt(state: VmState, busId: string, slot: number, fn: number): string | undefined {
  for (const other of state.devices.values())
    if (other.bus === busId && other.slot === slot && other.function === fn) return other.id;
  for (const other of state.buses.values())
    if (other.parent === busId && other.slot === slot && (other.function ?? 0) === fn) return other.id;
  return undefined;
}

// ---- SMMUs ------------------------------------------------------------------------------

const SMMU_POINTERS = { accel: '/accel', stage: '/stage', oas: '/oas' };

function addSmmu(command: CommandOf<'AddSmmu'>, state: VmState): DomainEvent[] {
  requireFreeId(state, command.smmuId, '/id');
  const bus = state.buses.get(command.primaryBus);
  if (bus === undefined)
    throw new DomainError(
      'BUS_NOT_FOUND',
      `primaryBus: ${command.primaryBus} does not exist in VM ${state.id}`,
      '/primaryBus',
    );
  if (!isRootBus(bus)) {
    throw new DomainError(
      'SMMU_BUS_NOT_ROOT',
      `primaryBus: ${bus.id} is a ${bus.type === 'pcie-root-port' ? 'root port' : bus.type}; "SMMU should be attached to a default PCIe root complex(pcie.0) or a pxb-pcie based root complex" (smmu_base_realize)`,
      '/primaryBus',
    );
  }
  const taken = smmuOnRootBus(state, bus.id);
  if (taken !== undefined)
    throw new DomainError('SMMU_BUS_TAKEN', `primaryBus: ${bus.id} already has SMMU ${taken.id}`, '/primaryBus');
  requireNoVirtioIommu(state, command.smmuId);
  // Only a user-created arm-smmuv3 can sit on a pxb-pcie, and virt refuses one on a bypassing bus.
  // (The machine SMMU on pcie.0 is accepted with default_bus_bypass_iommu; it then translates
  // none of pcie.0's devices, see placementOf.)
  if (bus.type === 'pxb-pcie' && bus.bypassIommu)
    throw new DomainError(
      'SMMU_BUS_BYPASSES_IOMMU',
      `primaryBus: ${bus.id} has bypass_iommu=on: "Bypass option cannot be set for SMMUv3 associated PCIe RC" (hw/arm/virt.c virt_machine_device_plug_cb, QEMU 10.2)`,
      '/primaryBus',
    );
  const mode = {
    id: command.smmuId,
    accel: command.accel ?? false,
    stage: command.stage ?? '1',
    oas: command.oas ?? DEFAULT_OAS,
  };
  // What the build must create: accel asked for by /accel, the SMMU form by /primaryBus.
  const needs = smmuNeeds({ primaryBus: bus.id, accel: mode.accel }, state.smmus.size + 1);
  const part = `${mode.id} on ${bus.id}`;
  const build = qemuBuildOf(state);
  requireCapabilities(state.id, build, { part, needs: needs.filter((n) => n === 'smmuv3-accel'), pointer: '/accel' });
  requireCapabilities(state.id, build, {
    part,
    needs: needs.filter((n) => n !== 'smmuv3-accel'),
    pointer: '/primaryBus',
  });
  checkSmmuSettings(mode, state.board, SMMU_POINTERS);
  if (!bus.bypassIommu)
    for (const device of devicesOnRootBus(state, bus.id)) checkDeviceBehindSmmu(device, mode, '/accel');
  return [
    {
      type: 'SmmuAdded',
      data: { smmuId: mode.id, primaryBus: bus.id, accel: mode.accel, stage: mode.stage, oas: mode.oas },
    },
  ];
}

function setSmmuAccel(command: CommandOf<'SetSmmuAccel'>, state: VmState): DomainEvent[] {
  const smmu = getSmmu(state, command.smmuId);
  if (smmu.accel.value === command.enabled) return [];
  const mode = smmuMode(smmu, command.enabled);
  if (mode.accel) {
    const needs = smmuNeeds({ primaryBus: smmu.primaryBus, accel: true }, state.smmus.size);
    requireCapabilities(state.id, qemuBuildOf(state), { part: smmu.id, needs, pointer: '/enabled' });
  }
  checkSmmuSettings(mode, state.board, { accel: '/enabled', stage: '/enabled', oas: '/enabled' });
  if (state.buses.get(smmu.primaryBus)?.bypassIommu !== true)
    for (const device of devicesOnRootBus(state, smmu.primaryBus)) checkDeviceBehindSmmu(device, mode, '/enabled');
  return [{ type: 'SmmuAccelModeChanged', data: { smmuId: smmu.id, enabled: command.enabled } }];
}

/** STRTAB_BASE_CFG.SPLIT and L1STD.Span are 5-bit fields. */
const GUEST_FIELD_MAX: Partial<Record<keyof SmmuGuestState, number>> = { split: 31, l1Span: 31 };

function setSmmuGuestState(command: CommandOf<'SetSmmuGuestState'>, state: VmState): DomainEvent[] {
  const smmu = getSmmu(state, command.smmuId);
  for (const [key, max] of Object.entries(GUEST_FIELD_MAX) as [keyof SmmuGuestState, number][]) {
    const value = command.changes[key];
    if (typeof value === 'number' && (!Number.isInteger(value) || value < 0 || value > max)) {
      throw new DomainError(
        'GUEST_STATE_OUT_OF_RANGE',
        `${key}: ${value} does not fit the register field (0 to ${max})`,
        `/${key}`,
      );
    }
  }
  const changed: Partial<SmmuGuestState> = {};
  for (const key of Object.keys(command.changes) as (keyof SmmuGuestState)[]) {
    const value = command.changes[key];
    if (value !== undefined && value !== smmu.guest[key].value) Object.assign(changed, { [key]: value });
  }
  if (Object.keys(changed).length === 0) return [];
  return [{ type: 'SmmuGuestStateChanged', data: { smmuId: smmu.id, ...changed } }];
}

// ---- devices ----------------------------------------------------------------------------

/**
 * QEMU's alias of virtio-iommu-pci on virt (qdev_alias_table in system/qdev-monitor.c:
 * { "virtio-iommu-pci", "virtio-iommu", QEMU_ARCH_VIRTIO_PCI }): libvirt writes the short name.
 */
function canonicalDriver(driver: string): string {
  return driver === 'virtio-iommu' ? VIRTIO_IOMMU_DRIVER : driver;
}

/**
 * The virt machine has one IOMMU (hw/arm/virt.c virt_machine_device_pre_plug_cb): a virtio-iommu
 * refuses any other IOMMU already there, "virt machine does not support multiple IOMMUs" (QEMU 7.0,
 * 80d28ccdb99d). The machine SMMU (-machine iommu=smmuv3) is created before any -device, so it is
 * always there first. A -device arm-smmuv3 before the virtio-iommu is not caught by QEMU (its
 * pre_plug branch never sets vms->iommu), and two IOMMUs would then split or overwrite pcie.0's
 * IOMMU ops: the model refuses that order too.
 */
function requireNoOtherIommu(state: VmState, deviceId: string): void {
  const other = virtioIommuOf(state);
  if (other !== undefined)
    throw new DomainError(
      'IOMMU_CONFLICT',
      `driver: VM ${state.id} already has the virtio-iommu ${other.id}, so ${deviceId} cannot be one: "virt machine does not support multiple IOMMUs" (hw/arm/virt.c virt_machine_device_pre_plug_cb)`,
      '/driver',
    );
  const smmu = [...state.smmus.values()][0];
  if (smmu === undefined) return;
  const machine = smmu.primaryBus === PCIE_ROOT_BUS;
  throw new DomainError(
    'IOMMU_CONFLICT',
    machine
      ? `driver: VM ${state.id} has the SMMUv3 ${smmu.id} on pcie.0 (-machine iommu=smmuv3), so ${deviceId} cannot be a virtio-iommu: "virt machine does not support multiple IOMMUs" (hw/arm/virt.c virt_machine_device_pre_plug_cb)`
      : `driver: VM ${state.id} has the SMMUv3 ${smmu.id} on ${smmu.primaryBus} (-device arm-smmuv3), so ${deviceId} cannot be a virtio-iommu: QEMU's virt_machine_device_pre_plug_cb does not catch this order, but the two IOMMUs would share the buses, and doorbell refuses every mixed configuration`,
    '/driver',
  );
}

/** An SMMU after a virtio-iommu (hw/arm/virt.c virt_machine_device_pre_plug_cb, TYPE_ARM_SMMUV3, QEMU 10.2). */
function requireNoVirtioIommu(state: VmState, smmuId: string): void {
  const viommu = virtioIommuOf(state);
  if (viommu !== undefined)
    throw new DomainError(
      'IOMMU_CONFLICT',
      `id: VM ${state.id} has the virtio-iommu ${viommu.id}, so ${smmuId} cannot be added: "virt machine already has virtio-iommu set. Doesn't support incompatible iommus" (hw/arm/virt.c virt_machine_device_pre_plug_cb)`,
      '/id',
    );
}

/**
 * Where a virtio-iommu-pci may sit: on a root bus (virtio_iommu_pci_realize, hw/virtio/virtio-iommu-pci.c:
 * "virtio-iommu-pci must be plugged on the root bus"), and a pxb-pcie's root bus takes bridges only
 * (do_pci_register_device, hw/pci/pci.c: "PCI: Only PCI/PCIe bridges can be plugged into pxb-pcie"),
 * so pcie.0. Both checked on Debian's QEMU 7.2.
 */
function requireVirtioIommuBus(bus: { id: string; type: string }): void {
  if (bus.type === 'pcie-root-port')
    throw new DomainError(
      'VIRTIO_IOMMU_BUS_NOT_VALID',
      `bus: ${bus.id} is a root port: "virtio-iommu-pci must be plugged on the root bus" (virtio_iommu_pci_realize)`,
      '/bus',
    );
  if (bus.type === 'pxb-pcie')
    throw new DomainError(
      'VIRTIO_IOMMU_BUS_NOT_VALID',
      `bus: ${bus.id} is a pxb-pcie: "PCI: Only PCI/PCIe bridges can be plugged into pxb-pcie" (do_pci_register_device); a virtio-iommu-pci sits on ${PCIE_ROOT_BUS}`,
      '/bus',
    );
}

function attachDevice(command: CommandOf<'AttachDevice'>, state: VmState): DomainEvent[] {
  requireFreeId(state, command.deviceId, '/id');
  const bus = state.buses.get(command.bus);
  if (bus === undefined)
    throw new DomainError('BUS_NOT_FOUND', `bus: ${command.bus} does not exist in VM ${state.id}`, '/bus');
  const driver = canonicalDriver(command.driver);
  if (isVirtioIommu(driver)) {
    requireNoOtherIommu(state, command.deviceId);
    requireVirtioIommuBus(bus);
  }
  const fn = command.function ?? 0;
  checkSlot(state, bus, command.slot, fn, { id: command.deviceId, express: true, bridge: false });
  if (isVfio(command.driver)) {
    // hw/vfio/pci.c vfio_realize: a vfio-pci needs host=, sysfsdev= or fd= ("No provided host device").
    if (command.host === undefined && command.hostFd !== true)
      throw new DomainError(
        'FIELD_REQUIRED',
        'host is required for vfio-pci (the host BDF, DDDD:BB:DD.F), unless hostFd is true (the device is passed as an open file descriptor)',
        '/host',
      );
  } else {
    if (command.hostFd !== undefined)
      throw new DomainError(
        'FIELD_NOT_ALLOWED',
        `hostFd applies to vfio-pci only, not to ${command.driver}`,
        '/hostFd',
      );
    if (command.host !== undefined)
      throw new DomainError('FIELD_NOT_ALLOWED', `host applies to vfio-pci only, not to ${command.driver}`, '/host');
    if (command.iommufd !== undefined)
      throw new DomainError(
        'FIELD_NOT_ALLOWED',
        `iommufd applies to vfio-pci only, not to ${command.driver}`,
        '/iommufd',
      );
  }
  requireCapabilities(state.id, qemuBuildOf(state), {
    part: `${command.deviceId} (${driver})`,
    needs: deviceNeeds(driver),
    pointer: '/driver',
  });
  const device = { id: command.deviceId, driver, iommufd: command.iommufd ?? null };
  const smmu = coveringSmmu(state, { bus: bus.id });
  if (smmu !== undefined) checkDeviceBehindSmmu(device, smmuMode(smmu), isVfio(driver) ? '/iommufd' : '/driver');
  return [
    {
      type: 'DeviceAttached',
      data: {
        deviceId: command.deviceId,
        driver,
        bus: bus.id,
        slot: command.slot,
        function: fn,
        host: command.host ?? null,
        ...(command.hostFd === true ? { hostFd: true } : {}),
        iommufd: command.iommufd ?? null,
      },
    },
  ];
}

/**
 * A virt machine unplugs neither IOMMU: the machine is the virtio-iommu's hotplug handler
 * (virt_machine_get_hotplug_handler) and virt_machine_device_unplug_request_cb refuses it.
 */
function detachDevice(command: CommandOf<'DetachDevice'>, state: VmState): DomainEvent[] {
  const device = getDevice(state, command.deviceId);
  if (isVirtioIommu(device.driver))
    throw new DomainError(
      'DEVICE_NOT_UNPLUGGABLE',
      `device ${device.id} is the VM's virtio-iommu: "device unplug request for unsupported device type: virtio-iommu-pci" (hw/arm/virt.c virt_machine_device_unplug_request_cb)`,
    );
  return [{ type: 'DeviceDetached', data: { deviceId: command.deviceId } }];
}

/**
 * A bus leaves the VM only with nothing behind it, as QEMU unplugs a bridge only with its
 * secondary bus (the devices on it go with it, and a model that kept them would hold parts on a
 * bus that is not there): no device, no bus and no SMMU may still sit on it. pcie.0 is the
 * machine's own (hw/arm/virt.c create_pcie) and never leaves.
 */
function removeBus(command: CommandOf<'RemoveBus'>, state: VmState): DomainEvent[] {
  const bus = state.buses.get(command.busId);
  if (bus === undefined)
    throw new DomainError('BUS_NOT_FOUND', `bus ${command.busId} does not exist in VM ${state.id}`);
  if (bus.id === PCIE_ROOT_BUS)
    throw new DomainError(
      'BUS_NOT_REMOVABLE',
      `bus ${PCIE_ROOT_BUS} is the virt machine's own PCIe root bus (hw/arm/virt.c create_pcie); it is never removed`,
    );
  const behind = [
    ...[...state.devices.values()].filter((d) => d.bus === bus.id).map((d) => `device ${d.id}`),
    ...[...state.buses.values()].filter((b) => b.parent === bus.id).map((b) => `bus ${b.id}`),
    ...[...state.smmus.values()].filter((s) => s.primaryBus === bus.id).map((s) => `SMMU ${s.id}`),
  ];
  if (behind.length > 0)
    throw new DomainError(
      'BUS_NOT_EMPTY',
      `bus ${bus.id} still has ${behind.join(', ')} behind it; remove them first, nothing is left orphaned`,
    );
  return [{ type: 'BusRemoved', data: { busId: bus.id } }];
}

/** An SMMU leaves the VM: the devices it translated stay, with their guest state, untranslated. */
function removeSmmu(command: CommandOf<'RemoveSmmu'>, state: VmState): DomainEvent[] {
  const smmu = getSmmu(state, command.smmuId);
  return [{ type: 'SmmuRemoved', data: { smmuId: smmu.id } }];
}

function requireSmmu(state: VmState, device: Device): Smmu {
  const smmu = coveringSmmu(state, device);
  if (smmu === undefined) {
    const placement = placementOf(state, device);
    const why = translatedByVirtioIommu(placement)
      ? `the virtio-iommu ${placement.virtioIommu!.id} translates it, which has no STE`
      : placement.untranslated === 'bus-bypass'
        ? `its root bus ${placement.rootBus.id} bypasses the IOMMU (bypass_iommu), so it has no STE and no IOVA mappings`
        : `it sits on root bus ${placement.rootBus.id} that no SMMU covers, so it has no STE and no IOVA mappings`;
    throw new DomainError('NO_SMMU_FOR_DEVICE', `device ${device.id}: ${why}`);
  }
  return smmu;
}

/** The translation granule a stage uses for a device: from its CD (stage 1) or STE S2 fields (stage 2). */
export function granuleOf(ste: Ste, stage: Stage): bigint {
  return GRANULE_BYTES[stage === 1 ? (ste.cd ?? DEFAULT_CD).granule : (ste.s2 ?? DEFAULT_S2).granule];
}

function configureSte(command: CommandOf<'ConfigureSte'>, state: VmState): DomainEvent[] {
  const device = getDevice(state, command.deviceId);
  requireSmmu(state, device);
  if (command.cd !== undefined && !usesStage1(command.config)) {
    throw new DomainError(
      'STE_FIELD_NOT_USED',
      `cd: a context descriptor is used by the s1 and nested configs, not by ${command.config}`,
      '/cd',
    );
  }
  if (command.s2 !== undefined && !usesStage2(command.config)) {
    throw new DomainError(
      'STE_FIELD_NOT_USED',
      `s2: stage-2 fields are used by the s2 and nested configs, not by ${command.config}`,
      '/s2',
    );
  }
  for (const field of ['cdAddress', 'ttb0', 'ttb1'] as const) {
    if (command[field] !== undefined && !usesStage1(command.config)) {
      throw new DomainError(
        'STE_FIELD_NOT_USED',
        `${field}: stage-1 descriptor addresses are used by the s1 and nested configs, not by ${command.config}`,
        `/${field}`,
      );
    }
  }
  const ste = steWithDefaults(command.config, command.cd, command.s2, command);
  // A new granule must not leave existing mappings misaligned (the same rule MapIova enforces).
  for (const stage of [1, 2] as const) {
    const granule = granuleOf(ste, stage);
    for (const { value: m } of device.mappings[stage].ranges()) {
      if (!isAligned(m.iova, granule) || !isAligned(m.output, granule) || !isAligned(m.size, granule)) {
        const pointer = stage === 1 ? '/cd/granule' : '/s2/granule';
        throw new DomainError(
          'MAPPING_MISALIGNED',
          `${pointer.slice(1)}: the stage-${stage} mapping at ${hex(m.iova)} (size ${hex(m.size)}) is not aligned to the new ${hex(granule)} granule; unmap it first`,
          pointer,
        );
      }
    }
  }
  return [{ type: 'SteConfigured', data: { deviceId: device.id, ...ste } }];
}

/**
 * The guest's MAPs into a virtio-iommu domain are the device's stage-1 mappings (the IOVA ->
 * gPA pairs virtio_iommu_map stores in the domain's mappings); a virtio-iommu has no stage 2.
 */
function requireVirtioIommuStage(state: VmState, device: Device, stage: Stage): boolean {
  const placement = placementOf(state, device);
  if (!translatedByVirtioIommu(placement)) return false;
  if (stage !== 1)
    throw new DomainError(
      'STAGE_NOT_SUPPORTED',
      `stage: the virtio-iommu ${placement.virtioIommu!.id} has one stage (VIRTIO_IOMMU_T_MAP maps IOVA to gPA), taken as stage 1; it has no stage 2`,
      '/stage',
    );
  return true;
}

function mapIova(command: CommandOf<'MapIova'>, state: VmState): DomainEvent[] {
  const device = getDevice(state, command.deviceId);
  const viaVirtioIommu = requireVirtioIommuStage(state, device, command.stage);
  const smmu = viaVirtioIommu ? undefined : requireSmmu(state, device);
  const advertised = smmu === undefined || (command.stage === 1 ? smmu.stage !== '2' : smmu.stage !== '1');
  if (smmu !== undefined && !advertised) {
    throw new DomainError(
      'STAGE_NOT_SUPPORTED',
      `stage: ${smmu.id} implements stage=${smmu.stage}${smmu.accel.value ? ' (accel=on: stage 2 belongs to the host)' : ''}, so it has no stage-${command.stage} tables`,
      '/stage',
    );
  }
  const { iova, output, size } = command;
  if (size === 0n)
    throw new DomainError('MAPPING_SIZE_ZERO', 'size: a mapping must cover at least one granule', '/size');
  if (!fitsIn64Bits(iova, size))
    throw new DomainError(
      'ADDRESS_OUT_OF_RANGE',
      `iova: ${hex(iova)} + size ${hex(size)} ends past the 64-bit input range`,
      '/iova',
    );
  if (!fitsIn64Bits(output, size))
    throw new DomainError(
      'ADDRESS_OUT_OF_RANGE',
      `output: ${hex(output)} + size ${hex(size)} ends past the 64-bit output range`,
      '/output',
    );
  const granule = granuleOf(device.ste, command.stage);
  for (const [field, value] of [
    ['iova', iova],
    ['output', output],
    ['size', size],
  ] as const) {
    if (!isAligned(value, granule)) {
      throw new DomainError(
        'MAPPING_MISALIGNED',
        `${field}: ${hex(value)} is not aligned to the stage-${command.stage} granule ${hex(granule)} of device ${device.id}`,
        `/${field}`,
      );
    }
  }
  const clash = device.mappings[command.stage].overlapping(iova, size);
  if (clash !== undefined) {
    throw new DomainError(
      'MAPPING_OVERLAP',
      `iova: [${hex(iova)}, ${hex(iova + size)}) overlaps the stage-${command.stage} mapping [${hex(clash.start)}, ${hex(clash.start + clash.size)}) of device ${device.id}`,
      '/iova',
    );
  }
  return [
    {
      type: 'IovaMapped',
      data: {
        deviceId: device.id,
        stage: command.stage,
        iova,
        output,
        size,
        perm: command.perm ?? 'rw',
        accessFlag: command.accessFlag ?? true,
      },
    },
  ];
}

function unmapIova(command: CommandOf<'UnmapIova'>, state: VmState): DomainEvent[] {
  const device = getDevice(state, command.deviceId);
  if (device.mappings[command.stage].at(command.iova) === undefined) {
    throw new DomainError(
      'MAPPING_NOT_FOUND',
      `no stage-${command.stage} mapping of device ${device.id} starts at ${hex(command.iova)}`,
    );
  }
  return [{ type: 'IovaUnmapped', data: { deviceId: device.id, stage: command.stage, iova: command.iova } }];
}

function programMsiVector(command: CommandOf<'ProgramMsiVector'>, state: VmState): DomainEvent[] {
  const device = getDevice(state, command.deviceId);
  if (command.data > MSI_DATA_MAX)
    throw new DomainError(
      'MSI_DATA_OUT_OF_RANGE',
      `data: ${hex(command.data)} does not fit the 32-bit MSI data (EventID)`,
      '/data',
    );
  // Every write is an event, even an identical one: QEMU re-runs the fixup on each MSI-X write (S24).
  return [
    {
      type: 'MsiVectorProgrammed',
      data: { deviceId: device.id, vector: command.vector, address: command.address, data: command.data },
    },
  ];
}
