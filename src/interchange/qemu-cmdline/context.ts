// The state one parse builds up, passed explicitly to every option handler and device kind:
// the Draft's parts so far, the report, the ids in use and the ids still to generate.

import type { Draft, DraftDevice, DraftPxb, DraftRootPort, DraftSmmu } from '../draft.js';
import { PCIE_ROOT } from '../draft.js';
import type { ImportReport, SourceRef } from '../report.js';
import { type Option, optionText } from './argv.js';

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
  smmus: DraftSmmu[];
  devices: DraftDevice[];
  /** Every id the source uses (so that a generated one never collides). */
  usedIds: Set<string>;
  pending: PendingId[];
  /** The last -machine option (the board's report part points at it). */
  machine?: Option;
  /** -machine iommu=smmuv3, if given. */
  legacySmmu?: Option;
}

export function newContext(): ParseContext {
  return {
    report: { format: 'qemu-cmdline', parts: [], ignored: [], busNumbers: [] },
    board: { at: { token: 0 } },
    boardNotes: [],
    iommufds: new Set(),
    pxbs: [],
    rootPorts: [],
    smmus: [],
    devices: [],
    usedIds: new Set([PCIE_ROOT]),
    pending: [],
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
  const parts = [...ctx.pxbs, ...ctx.rootPorts, ...ctx.smmus, ...ctx.devices];
  for (const p of ctx.report.parts) {
    if (p.became.id === '') p.became.id = parts.find((item) => item.at === p.at)?.id ?? '';
  }
}
