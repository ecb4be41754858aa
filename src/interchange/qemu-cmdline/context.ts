// The state one parse builds up, passed explicitly to every option handler and device kind:
// the Draft's parts so far, the report, the ids in use and the ids still to generate.

import type { Draft, DraftBridge, DraftDevice, DraftPxb, DraftRootPort, DraftSmmu } from '../draft.js';
import { PCIE_ROOT } from '../draft.js';
import type { ImportReport, SourceRef } from '../report.js';
import { type Option, optionText } from './argv.js';
import type { OptionList } from './options.js';

/** A part QEMU would leave without an id: named once every id of the source is known. */
interface PendingId {
  part: { id: string };
  prefix: string;
  /** Told the generated name (to note it in the report). */
  named: (id: string) => void;
}

export interface ParseContext {
  report: ImportReport;
  board: Draft['board'];
  /** Notes on the board's report part (defaults applied, values taken as others). */
  boardNotes: string[];
  /** Ids of the -object iommufd seen so far. */
  iommufds: Set<string>;
  pxbs: DraftPxb[];
  rootPorts: DraftRootPort[];
  bridges: DraftBridge[];
  smmus: DraftSmmu[];
  devices: DraftDevice[];
  /** Every id the source uses (so that a generated one never collides). */
  usedIds: Set<string>;
  /** The ids of the -device options, which QEMU keeps unique (see creation.ts). */
  deviceIds: Map<string, Option>;
  pending: PendingId[];
  /** Run once every part has its id (a bus chosen by QEMU may be a part named late). */
  afterNaming: (() => void)[];
  /** Token of the program (or of the first option when the line names none). */
  programAt: SourceRef;
  /** The last -machine option (the board's report part points at it). */
  machine?: Option;
  /** -machine iommu=smmuv3, if given. */
  legacySmmu?: Option;
  /** vl.c default_net: QEMU adds a NIC at board init unless an option below turns it off. */
  defaultNet: boolean;
  /** NICs of -nic and -net nic: created by the board (create_pcie), before any -device. */
  boardNics: { option: Option; driver: string }[];
  /** -device options, read once every other option is (QEMU creates devices after the machine). */
  deviceOptions: { option: Option; opts: OptionList; json: boolean }[];
  /** How many placed parts were created so far (QEMU's creation order, Placed.created). */
  created: number;
}

export function newContext(): ParseContext {
  return {
    report: { format: 'qemu-cmdline', emulator: null, parts: [], ignored: [], busNumbers: [] },
    board: { at: { token: 0 } },
    boardNotes: [],
    iommufds: new Set(),
    pxbs: [],
    rootPorts: [],
    smmus: [],
    bridges: [],
    devices: [],
    usedIds: new Set([PCIE_ROOT]),
    deviceIds: new Map(),
    pending: [],
    afterNaming: [],
    programAt: { token: 0 },
    defaultNet: true,
    boardNics: [],
    deviceOptions: [],
    created: 0,
  };
}

/** Leaves an option (or one of its properties, `what`) out of the Draft, with the reason. */
export function ignore(ctx: ParseContext, o: Option, reason: string, what = optionText(o)): void {
  ctx.report.ignored.push({ at: o.at, text: what, reason });
}

export function recordPart(
  ctx: ParseContext,
  at: SourceRef,
  text: string,
  became: { kind: 'vm' | 'bus' | 'smmu' | 'device' | 'iommufd'; id: string },
  notes: string[] = [],
): void {
  ctx.report.parts.push({ at, text, became, notes });
}

/** The part gets `${prefix}N` (the lowest N no other part uses) when the parse ends. */
export function nameLater(ctx: ParseContext, part: { id: string }, prefix: string, named: (id: string) => void): void {
  ctx.pending.push({ part, prefix, named });
}

/** Gives every part left without an id a name no other part uses, in source order. */
export function nameNameless(ctx: ParseContext): void {
  for (const { part, prefix, named } of ctx.pending) {
    let n = 0;
    while (ctx.usedIds.has(`${prefix}${n}`)) n += 1;
    part.id = `${prefix}${n}`;
    ctx.usedIds.add(part.id);
    named(part.id);
  }
  for (const then of ctx.afterNaming) then();
  const parts = [...ctx.pxbs, ...ctx.rootPorts, ...ctx.bridges, ...ctx.smmus, ...ctx.devices];
  for (const p of ctx.report.parts) {
    if (p.became.id === '') p.became.id = parts.find((item) => item.at === p.at)?.id ?? '';
  }
}
