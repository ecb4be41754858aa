// What a parser read from a source, before bus numbers and slots are settled: the same shape for
// both formats. planImport turns it into the domain's commands, each with the place in the source
// it came from, so that a rule a command breaks can be reported at that place.

import type { Command, GicVersion, SmmuStage } from '../domain/topology/types.js';
import { assignBusNumbers } from './bus-numbers.js';
import { type ImportReport, InterchangeError, type SourceRef } from './report.js';

export const PCIE_ROOT = 'pcie.0';
/** The API's id pattern (ID_PATTERN of the schemas): an imported part must be addressable. */
const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const SLOTS = 32;
export const FUNCTIONS = 8;

interface Placed {
  id: string;
  /** The bus it plugs into. */
  bus: string;
  /** From addr=; undefined: QEMU picks the lowest free slot, in creation order. */
  slot?: number;
  function?: number;
  at: SourceRef;
  /**
   * QEMU's creation order where it is not the source order (a command line: the NICs of board
   * init, then every key=value -device, then the JSON ones); slots without addr= follow it.
   */
  created?: number;
  /**
   * The multifunction property (a command line: off unless multifunction=on); undefined where the
   * source does not say (libvirt XML: libvirt checks it), and then placeAll does not check it.
   */
  multifunction?: boolean;
}

export interface DraftPxb extends Placed {
  busNr: number;
  /** pxb-pcie bypass_iommu=on: no IOMMU translates the buses below it. */
  bypassIommu?: boolean;
}

export interface DraftRootPort extends Placed {
  busReserve: number;
}

/**
 * A bridge that owns a secondary bus below a root port or on pcie.0 (QEMU driver names): the
 * upstream and downstream ports of a PCIe switch, a PCIe-to-PCI bridge, a PCI-to-PCI bridge.
 */
export const BRIDGE_TYPES = ['x3130-upstream', 'xio3130-downstream', 'pcie-pci-bridge', 'pci-bridge'] as const;
export type BridgeType = (typeof BRIDGE_TYPES)[number];

export interface DraftBridge extends Placed {
  type: BridgeType;
  busReserve: number;
}

export interface DraftDevice extends Placed {
  driver: string;
  host?: string;
  /** vfio-pci fd=: passed as an open file descriptor (the host address may be unknown). */
  hostFd?: boolean;
  iommufd?: string;
}

export interface DraftSmmu {
  id: string;
  primaryBus: string;
  accel?: boolean;
  stage?: SmmuStage;
  oas?: number;
  at: SourceRef;
}

export interface Draft {
  board: {
    ramSize?: bigint;
    gicVersion?: GicVersion;
    its?: boolean;
    kvm?: boolean;
    /** -machine acpi=off (libvirt: no <acpi/>); undefined: on. */
    acpi?: boolean;
    /** -machine default_bus_bypass_iommu=on: pcie.0 is not translated. */
    defaultBusBypassIommu?: boolean;
    at: SourceRef;
  };
  pxbs: DraftPxb[];
  rootPorts: DraftRootPort[];
  /** Switch ports and PCI bridges (see BRIDGE_TYPES); absent or empty: none. */
  bridges?: DraftBridge[];
  smmus: DraftSmmu[];
  devices: DraftDevice[];
  report: ImportReport;
}

export interface ImportPlan {
  commands: Command[];
  /** Where each command came from (same index). */
  at: SourceRef[];
  report: ImportReport;
}

const hex = (n: number) => n.toString(16);

/**
 * A slot's functions as pci_init_multifunction (hw/pci/pci.c, called by do_pci_register_device)
 * allows them: a function other than 0 only when function 0 is absent or multifunction=on ("PCI:
 * single function device can't be populated in function S.F"), and a function 0 without
 * multifunction=on only alone ("PCI: S.0 indicates single function, but S.F is already
 * populated."). Both checked on QEMU 7.2. Not checked for a part whose source does not say.
 */
function checkMultifunction(
  item: Placed,
  slots: Map<number, { id: string; multifunction?: boolean }> | undefined,
  slot: number,
  fn: number,
): void {
  if (item.multifunction === undefined) return;
  const refuse = (qemu: string) => {
    throw new InterchangeError(
      'IMPORT_SOURCE_MALFORMED',
      `${item.id}: ${qemu} (QEMU refuses the line: function 0 of a slot with several functions needs multifunction=on)`,
      item.at,
    );
  };
  if (fn !== 0) {
    const f0 = slots?.get(slot * FUNCTIONS);
    if (f0?.multifunction === false)
      refuse(`PCI: single function device can't be populated in function ${hex(slot)}.${hex(fn)}`);
  } else if (!item.multifunction) {
    for (let f = 1; f < FUNCTIONS; f += 1)
      if (slots?.has(slot * FUNCTIONS + f))
        refuse(`PCI: ${hex(slot)}.0 indicates single function, but ${hex(slot)}.${hex(f)} is already populated.`);
  }
}

/** Slots as QEMU fills them: explicit addr= must be free, others take the lowest free slot. */
function placeAll(draft: Draft): Map<Placed, { slot: number; function: number }> {
  const taken = new Map<string, Map<number, { id: string; multifunction?: boolean }>>();
  const occupy = (bus: string, devfn: number, id: string, multifunction?: boolean) => {
    const slots = taken.get(bus) ?? new Map<number, { id: string; multifunction?: boolean }>();
    taken.set(bus, slots);
    slots.set(devfn, { id, multifunction });
  };
  // pcie.0 00.0 is the host bridge (gpex-root), a single-function device.
  occupy(PCIE_ROOT, 0, 'the host bridge', false);
  const placed = new Map<Placed, { slot: number; function: number }>();
  const items: Placed[] = [...draft.pxbs, ...draft.rootPorts, ...(draft.bridges ?? []), ...draft.devices].sort(
    (a, b) => (a.created ?? 0) - (b.created ?? 0) || order(a.at, b.at),
  );
  for (const item of items) {
    const slots = taken.get(item.bus);
    let slot = item.slot;
    const fn = item.function ?? 0;
    if (slot === undefined) {
      slot = 0;
      while (slot < SLOTS && slots?.has(slot * FUNCTIONS)) slot += 1;
      if (slot === SLOTS)
        throw new InterchangeError('SLOT_TAKEN', `${item.id}: no free slot left on ${item.bus}`, item.at);
    } else {
      const other = slots?.get(slot * FUNCTIONS + fn);
      if (other !== undefined) {
        throw new InterchangeError(
          'SLOT_TAKEN',
          `${item.id}: ${item.bus} ${slot.toString(16).padStart(2, '0')}.${fn} is already used by ${other.id}`,
          item.at,
        );
      }
    }
    checkMultifunction(item, slots, slot, fn);
    occupy(item.bus, slot * FUNCTIONS + fn, item.id, item.multifunction);
    placed.set(item, { slot, function: fn });
  }
  return placed;
}

function order(a: SourceRef, b: SourceRef): number {
  if ('token' in a && 'token' in b) return a.token - b.token;
  if ('line' in a && 'line' in b) return a.line - b.line || a.column - b.column;
  return 0;
}

export function planImport(vmId: string, draft: Draft, busNumbers: Readonly<Record<string, number>> = {}): ImportPlan {
  const bridges = draft.bridges ?? [];
  refuseDeviceTreePxbs(draft);
  const known = new Set([
    PCIE_ROOT,
    ...draft.pxbs.map((p) => p.id),
    ...draft.rootPorts.map((p) => p.id),
    ...bridges.map((b) => b.id),
  ]);
  for (const item of [...draft.pxbs, ...draft.rootPorts, ...bridges, ...draft.devices]) {
    if (!known.has(item.bus))
      throw new InterchangeError(
        'IMPORT_SOURCE_MALFORMED',
        `${item.id}: bus ${item.bus} is not defined in the source`,
        item.at,
      );
  }
  for (const smmu of draft.smmus) {
    if (!known.has(smmu.primaryBus))
      throw new InterchangeError(
        'IMPORT_SOURCE_MALFORMED',
        `${smmu.id}: primary bus ${smmu.primaryBus} is not defined in the source`,
        smmu.at,
      );
  }
  for (const item of [...draft.pxbs, ...draft.rootPorts, ...bridges, ...draft.smmus, ...draft.devices]) {
    if (!ID.test(item.id))
      throw new InterchangeError(
        'IMPORT_SOURCE_MALFORMED',
        `id ${item.id}: ids are 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit`,
        item.at,
      );
  }
  const placed = placeAll(draft);
  const where = (item: Placed) => placed.get(item) ?? { slot: 0, function: 0 };
  const orderedBridges = parentsFirst(draft, bridges);
  // The root bus of every bus: a pxb counts as found by the firmware when anything sits below it.
  const rootOf = new Map<string, string>([[PCIE_ROOT, PCIE_ROOT], ...draft.pxbs.map((p) => [p.id, p.id] as const)]);
  for (const bus of [...draft.rootPorts, ...orderedBridges]) rootOf.set(bus.id, rootOf.get(bus.bus) ?? bus.bus);
  const populated = new Set<string>();
  for (const item of [...draft.rootPorts, ...bridges, ...draft.devices])
    populated.add(rootOf.get(item.bus) ?? item.bus);
  const { numbers, notes } = assignBusNumbers(
    [
      { id: PCIE_ROOT, busNr: 0, populated: true },
      ...draft.pxbs.map((p) => ({ ...p, populated: populated.has(p.id) })),
    ],
    [
      ...draft.rootPorts.map((p) => ({ ...p, type: 'pcie-root-port', ...where(p) })),
      ...bridges.map((b) => ({ ...b, ...where(b) })),
    ],
    busNumbers,
  );
  draft.report.busNumbers = notes;

  const commands: Command[] = [];
  const at: SourceRef[] = [];
  const add = (command: Command, from: SourceRef) => {
    commands.push(command);
    at.push(from);
  };
  const { at: boardAt, ...board } = draft.board;
  add({ type: 'DefineVm', vmId, ...board }, boardAt);
  for (const pxb of draft.pxbs)
    add(
      {
        type: 'AddBus',
        busId: pxb.id,
        busType: 'pxb-pcie',
        busNr: pxb.busNr,
        bus: pxb.bus,
        bypassIommu: pxb.bypassIommu,
      },
      pxb.at,
    );
  for (const port of draft.rootPorts) {
    const secondaryBusNr = numbers.get(port.id);
    add({ type: 'AddBus', busId: port.id, busType: 'pcie-root-port', bus: port.bus, secondaryBusNr }, port.at);
  }
  for (const bridge of orderedBridges) {
    const { slot, function: fn } = where(bridge);
    add(
      {
        type: 'AddBus',
        busId: bridge.id,
        busType: bridge.type,
        bus: bridge.bus,
        slot,
        function: fn,
        secondaryBusNr: numbers.get(bridge.id),
      },
      bridge.at,
    );
  }
  for (const smmu of draft.smmus) {
    const { at: from, id, ...mode } = smmu;
    add({ type: 'AddSmmu', smmuId: id, ...mode }, from);
  }
  for (const device of draft.devices) {
    const { slot, function: fn } = where(device);
    add(
      {
        type: 'AttachDevice',
        deviceId: device.id,
        driver: device.driver,
        bus: device.bus,
        slot,
        function: fn,
        host: device.host,
        ...(device.hostFd === true ? { hostFd: true } : {}),
        iommufd: device.iommufd,
      },
      device.at,
    );
  }
  return { commands, at, report: draft.report };
}

/**
 * Bridges in an order where each comes after the bus it plugs into (AddBus needs its parent), in
 * source order otherwise. A bridge whose chain never reaches a root port, pxb-pcie or pcie.0 (two
 * bridges on each other) is malformed.
 */
function parentsFirst(draft: Draft, bridges: readonly DraftBridge[]): DraftBridge[] {
  const done = new Set<string>([PCIE_ROOT, ...draft.pxbs.map((p) => p.id), ...draft.rootPorts.map((p) => p.id)]);
  const ordered: DraftBridge[] = [];
  let pending = [...bridges].sort((a, b) => order(a.at, b.at));
  while (pending.length > 0) {
    const ready = pending.filter((b) => done.has(b.bus));
    if (ready.length === 0) {
      const stuck = pending[0]!;
      throw new InterchangeError(
        'IMPORT_SOURCE_MALFORMED',
        `${stuck.id}: its bus ${stuck.bus} never reaches pcie.0 or a pxb-pcie (bridges plugged into each other)`,
        stuck.at,
      );
    }
    for (const b of ready) {
      ordered.push(b);
      done.add(b.id);
    }
    pending = pending.filter((b) => !done.has(b.id));
  }
  return ordered;
}

/**
 * -machine acpi=off: the guest boots from the device tree, and QEMU's device tree describes one
 * PCIe host bridge, pcie.0 (hw/arm/virt.c create_pcie: one pcie@10000000 node, checked with QEMU
 * 7.2 dumpdtb). EDK2 still numbers the pxb-pcie buses exactly as with ACPI (QEMU publishes
 * etc/extra-pci-roots whatever acpi, virt_machine_done; ArmVirtQemu's FdtPciHostBridgeLib scans
 * them through PciHostBridgeUtilityGetRootBridges; a boot of Debian's 7.2 with its 2022.11
 * firmware gives the same numbers with acpi=on and acpi=off), but a DT-booted guest has no host
 * bridge for them: it never finds a device below a pxb-pcie, so none of their MSIs is the guest's.
 * The model cannot say so, so the import refuses the pxb-pcie rather than build a VM it is not.
 */
function refuseDeviceTreePxbs(draft: Draft): void {
  const pxb = draft.pxbs[0];
  if (draft.board.acpi !== false || pxb === undefined) return;
  throw new InterchangeError(
    'IMPORT_NOT_SUPPORTED',
    `${pxb.id}: with acpi=off the guest boots from QEMU's device tree, which describes pcie.0 only (hw/arm/virt.c create_pcie), so it never sees pxb-pcie ${pxb.id} (bus_nr ${pxb.busNr}) or anything below it, although EDK2 numbers its buses as with ACPI; doorbell models ACPI guests here`,
    pxb.at,
  );
}
