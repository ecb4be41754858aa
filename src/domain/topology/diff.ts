// diffTopology(before, after) -> the parts of a VM added, removed and changed between two states:
// the one comparison a re-import (what must change to reach the source) and the diff of a VM
// between two versions (what did change) share. Guest state (STEs, mappings, vectors) is not a
// part: what it does shows in the routes, which the callers compare.

import type { Bus, Device, Smmu, VmState } from './types.js';
import { PCIE_ROOT_BUS } from './defaults.js';

export const PART_KINDS = ['board', 'qemu', 'guest', 'bus', 'smmu', 'device'] as const;
export type PartKind = (typeof PART_KINDS)[number];
export const CHANGE_OPS = ['add', 'remove', 'change'] as const;
export type ChangeOp = (typeof CHANGE_OPS)[number];

/**
 * One part added (after only), removed (before only) or changed (before and after hold the
 * fields that differ, with their old and new values; the whole object for qemu and guest).
 */
export interface Change {
  op: ChangeOp;
  kind: PartKind;
  /** The part's id; the VM's id for the board, the build and the guest profile. */
  id: string;
  before?: Record<string, unknown>;
  after?: Record<string, unknown>;
}

type View = Record<string, unknown>;

export function boardView(state: VmState): View {
  const b = state.board;
  return {
    ramSize: b.ramSize,
    gicVersion: b.gicVersion,
    its: b.its,
    kvm: b.kvm,
    hostItsBase: b.hostItsBase,
    rmrHonoured: b.rmrHonoured,
    defaultBusBypassIommu: b.defaultBusBypassIommu,
  };
}

export function busView(bus: Bus): View {
  const place = bus.slot === undefined ? {} : { slot: bus.slot, function: bus.function ?? 0 };
  return { type: bus.type, bus: bus.parent, number: bus.number, bypassIommu: bus.bypassIommu, ...place };
}

export function smmuView(smmu: Smmu): View {
  return { primaryBus: smmu.primaryBus, stage: smmu.stage, oas: smmu.oas, accel: smmu.accel.value };
}

export function deviceView(device: Device): View {
  return {
    driver: device.driver,
    bus: device.bus,
    slot: device.slot,
    function: device.function,
    host: device.host,
    hostFd: device.hostFd,
    iommufd: device.iommufd,
  };
}

/** Two views compared field by field: the fields that differ, old and new; undefined when none does. */
function fieldChange(before: View, after: View): { before: View; after: View } | undefined {
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
  const changed = keys.filter((k) => before[k] !== after[k]);
  if (changed.length === 0) return undefined;
  const pick = (view: View) => Object.fromEntries(changed.filter((k) => k in view).map((k) => [k, view[k]]));
  return { before: pick(before), after: pick(after) };
}

function diffParts<P>(
  kind: PartKind,
  before: ReadonlyMap<string, P>,
  after: ReadonlyMap<string, P>,
  view: (part: P) => View,
): Change[] {
  const changes: Change[] = [];
  const ids = [...new Set([...before.keys(), ...after.keys()])].sort();
  for (const id of ids) {
    const a = before.get(id);
    const b = after.get(id);
    if (a === undefined && b !== undefined) changes.push({ op: 'add', kind, id, after: view(b) });
    else if (a !== undefined && b === undefined) changes.push({ op: 'remove', kind, id, before: view(a) });
    else if (a !== undefined && b !== undefined) {
      const changed = fieldChange(view(a), view(b));
      if (changed !== undefined) changes.push({ op: 'change', kind, id, ...changed });
    }
  }
  return changes;
}

/** A declaration (the build, the guest profile) as a whole: added, removed or replaced. */
function diffDeclaration(kind: PartKind, id: string, before: unknown, after: unknown): Change[] {
  const a = before === undefined ? undefined : JSON.stringify(before);
  const b = after === undefined ? undefined : JSON.stringify(after);
  if (a === b) return [];
  const side = (value: unknown) => value as Record<string, unknown>;
  if (a === undefined) return [{ op: 'add', kind, id, after: side(after) }];
  if (b === undefined) return [{ op: 'remove', kind, id, before: side(before) }];
  return [{ op: 'change', kind, id, before: side(before), after: side(after) }];
}

const withoutRoot = (buses: ReadonlyMap<string, Bus>) => new Map([...buses].filter(([id]) => id !== PCIE_ROOT_BUS));

/**
 * What differs between two states of a VM (undefined: before the VM existed, everything is
 * added). In kind order (board, qemu, guest, buses, SMMUs, devices), by id within a kind. pcie.0
 * is the machine's, not a part: its bypass is the board's defaultBusBypassIommu.
 */
export function diffTopology(before: VmState | undefined, after: VmState): Change[] {
  const id = after.id;
  const board = before === undefined ? undefined : boardView(before);
  const boardChanges: Change[] =
    board === undefined
      ? [{ op: 'add', kind: 'board', id, after: boardView(after) }]
      : (() => {
          const changed = fieldChange(board, boardView(after));
          return changed === undefined ? [] : [{ op: 'change', kind: 'board', id, ...changed }];
        })();
  const empty = new Map();
  return [
    ...boardChanges,
    ...diffDeclaration('qemu', id, before?.qemu?.declared, after.qemu?.declared),
    ...diffDeclaration('guest', id, before?.guest?.declared, after.guest?.declared),
    ...diffParts('bus', before === undefined ? empty : withoutRoot(before.buses), withoutRoot(after.buses), busView),
    ...diffParts('smmu', before?.smmus ?? empty, after.smmus, smmuView),
    ...diffParts('device', before?.devices ?? empty, after.devices, deviceView),
  ];
}
