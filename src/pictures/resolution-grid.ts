// What the translation-path picture shows, before any drawing: a grid with a column per semantics
// (pre-fix, address-space, upstream) and one for the hardware path, a row per step (contract,
// "Pictures"), each cell with a state, its addresses and the event positions it relied on.
//
// A record holds the trail of one semantics only (the one it was resolved with); for the other
// two it holds the KVM route (comparison). So those columns show the device and MSI-X entry (the
// same facts), their route, and say "not in this record" for the steps in between rather than
// guessing them.

import {
  describeRoute,
  sameRoute,
  SEMANTICS,
  type EventRefView,
  type HardwareStepView,
  type ResolutionView,
  type Semantics,
  type TrailStepView,
} from './resolution-view.js';

export const ROWS = ['device', 'msix', 'address-space', 'stage-1', 'stage-2', 'its', 'kvm-route'] as const;
export type Row = (typeof ROWS)[number];
export const ROW_LABELS: Record<Row, string> = {
  device: 'device',
  msix: 'MSI-X entry',
  'address-space': 'address space',
  'stage-1': 'stage 1',
  'stage-2': 'stage 2',
  its: 'ITS',
  'kvm-route': 'KVM route',
};

export type ColumnKey = Semantics | 'hardware';

/**
 * fault: where this column's MSI is lost (outlined; at most one per column).
 * misrouted: a route installed, but to the wrong doorbell. no-route: a comparison route that is
 * missing. not-reached: after the fault. unused: a step this path does not take.
 * not-in-record: a step of a semantics the record was not resolved with. unknown: the record
 * cannot tell (no hostItsBase).
 */
export type CellState =
  | 'ok'
  | 'fault'
  | 'misrouted'
  | 'no-route'
  | 'not-reached'
  | 'unused'
  | 'not-in-record'
  | 'unknown';
export type Tone = 'good' | 'bad' | 'warn' | 'neutral';

export interface Cell {
  readonly row: Row;
  readonly state: CellState;
  readonly headline: string;
  readonly details: readonly string[];
  readonly events: readonly EventRefView[];
}

export interface Column {
  readonly key: ColumnKey;
  readonly label: string;
  /** The semantics the record was resolved with: the only column with a full trail. */
  readonly resolved: boolean;
  readonly cells: readonly Cell[];
  readonly verdict: { readonly text: string; readonly tone: Tone };
}

export interface ResolutionGrid {
  readonly columns: readonly Column[];
  /** The lost or misrouted interrupt, in words; or that it is delivered. */
  readonly findings: readonly string[];
}

const COLUMN_LABELS: Record<ColumnKey, string> = {
  'pre-fix': 'pre-fix',
  'address-space': 'address-space (v3-v5)',
  upstream: 'upstream (11.0.0+)',
  hardware: 'hardware path',
};
const rowIndex = (row: Row) => ROWS.indexOf(row);

export function resolutionGrid(r: ResolutionView): ResolutionGrid {
  const own = resolvedColumn(r);
  const columns: Column[] = [
    ...SEMANTICS.map((s) => (s === r.semantics ? own : comparisonColumn(r, s, own))),
    hardwareColumn(r, own),
  ];
  return { columns, findings: findingsOf(r, own) };
}

// ---- the resolved semantics: the trail, step by step ------------------------------------------

/** Sorts a trail step into its row. Unknown steps stay in the row of the step before them. */
function rowOfTrailStep(step: TrailStepView, previous: Row | undefined): Row | 'hardware' {
  const out = step.output;
  if ('delivered' in out) return 'hardware';
  if ('streamId' in out) return 'device';
  // The virtio-iommu's one translation (VI2-VI5) is drawn in the stage-1 row.
  if (step.rule !== undefined && /^VI[2-5]$/.test(step.rule)) return 'stage-1';
  const walk = /\bstage-([12]) walk\b/.exec(step.action);
  if (walk) return walk[1] === '1' ? 'stage-1' : 'stage-2';
  if ('fault' in out) return faultRow(out.fault, out.stage);
  if ('its' in out || ('route' in out && out.route === null)) return 'its';
  if ('installed' in out || 'devid' in out) return 'kvm-route';
  if (previous === undefined && 'address' in out && 'data' in out) return 'msix';
  return previous !== undefined && rowIndex(previous) > rowIndex('address-space') ? previous : 'address-space';
}

// Configuration faults (C_*, the STE/CD fetches) happen before any walk: §9.10 gives them no stage.
function faultRow(type: unknown, stage: unknown): Row {
  if (typeof type === 'string' && /^(C_|F_STE_FETCH|F_CD_FETCH|F_STREAM_DISABLED|F_UUT)/.test(type))
    return 'address-space';
  return stage === 2 ? 'stage-2' : stage === 1 ? 'stage-1' : 'address-space';
}

/** The step where the MSI of this semantics is lost: an SMMU fault, an abort, nothing at the address, or a doorbell that is no vITS. */
function losesHere(step: TrailStepView): boolean {
  const out = step.output;
  return (
    'fault' in out ||
    out.aborted === true ||
    ('gpa' in out && out.gpa === null) ||
    out.its === false ||
    out.injects === false
  );
}

function resolvedColumn(r: ResolutionView): Column {
  const byRow = new Map<Row, TrailStepView[]>();
  let previous: Row | undefined;
  let faultAt: Row | undefined;
  for (const step of r.trail) {
    const row = rowOfTrailStep(step, previous);
    if (row === 'hardware') continue;
    byRow.set(row, [...(byRow.get(row) ?? []), step]);
    if (faultAt === undefined && losesHere(step)) faultAt = row;
    previous = row;
  }
  const misrouted =
    r.semantics !== 'upstream' &&
    r.route.installed &&
    r.comparison.upstream.installed &&
    !sameRoute(r.route, r.comparison.upstream);
  const cells = ROWS.map((row): Cell => {
    const steps = byRow.get(row) ?? [];
    const events = eventsOf(steps);
    const details = steps.flatMap(detailsOfStep);
    if (row === faultAt)
      return {
        row,
        state: 'fault',
        headline: faultHeadline(r, row),
        details: [...faultDetails(r), ...details],
        events,
      };
    if (faultAt !== undefined && rowIndex(row) > rowIndex(faultAt)) {
      // The route after a doorbell that is no vITS is installed all the same (S10, S20): it exists, pointing nowhere.
      if (row === 'kvm-route' && r.route.installed)
        return {
          row,
          state: 'misrouted',
          headline: describeRoute(r.route),
          details: ['never injects: the doorbell above is no vITS', ...details],
          events,
        };
      return { row, state: 'not-reached', headline: 'not reached', details: steps.map((s) => s.action), events };
    }
    if (steps.length === 0)
      return { row, state: 'unused', headline: unusedHeadline(row, r.addressSpace), details: [], events };
    if (row === 'kvm-route' && misrouted)
      return {
        row,
        state: 'misrouted',
        headline: describeRoute(r.route),
        details: [`upstream routes ${describeRoute(r.comparison.upstream)}`, ...details],
        events,
      };
    return { row, state: 'ok', headline: okHeadline(r, row, steps), details, events };
  });
  return {
    key: r.semantics,
    label: COLUMN_LABELS[r.semantics],
    resolved: true,
    cells,
    verdict: ownVerdict(r, faultAt, misrouted),
  };
}

function faultHeadline(r: ResolutionView, row: Row): string {
  const vfault = r.virtioIommuFault;
  if (vfault) return `${r.virtioIommu ?? 'virtio-iommu'}: ${vfault.reason} at ${vfault.address ?? r.input.address}`;
  if (r.fault !== null)
    return `${r.fault.type}${r.fault.code ? ` (${r.fault.code})` : ''} at ${r.fault.inputAddress ?? r.input.address}`;
  if (row === 'its') return `${r.route.installed ? r.route.address : 'doorbell'}: not a vITS doorbell`;
  if (r.route.cause === 'aborted') return 'aborted: no event, no route';
  if (r.route.cause === 'unassigned') return `nothing at ${r.input.address} (io_mem_unassigned)`;
  return r.route.installed ? 'interrupts lost here' : describeRoute(r.route);
}

/** The SMMU event in words first: why it faulted, and whether the guest sees it. */
function faultDetails(r: ResolutionView): string[] {
  if (r.virtioIommuFault) return [r.virtioIommuFault.message ?? '', 'queued on the event virtqueue'].filter(Boolean);
  if (r.fault === null) return [];
  const recorded =
    r.fault.recorded === undefined
      ? []
      : [r.fault.recorded ? 'recorded in the guest EVENTQ' : 'not recorded: the guest sees no event'];
  return [...(r.fault.reason ? [r.fault.reason] : []), ...recorded];
}

function okHeadline(r: ResolutionView, row: Row, steps: readonly TrailStepView[]): string {
  switch (row) {
    case 'device':
      return `${r.device} SID ${r.streamId}`;
    case 'msix':
      return `${r.vector === undefined ? 'given' : `vector ${r.vector}`}: ${r.input.address} data ${r.input.data}`;
    case 'address-space':
      return r.addressSpace === 'virtio-iommu' && r.virtioIommu ? `virtio-iommu ${r.virtioIommu}` : r.addressSpace;
    case 'stage-1':
    case 'stage-2': {
      if (row === 'stage-1' && r.addressSpace === 'virtio-iommu') return virtioIommuHeadline(r, steps);
      const walk = steps.map((s) => /walk: (.*)$/.exec(s.action)?.[1]).find((w) => w !== undefined);
      return walk ?? steps[0]!.action;
    }
    case 'its':
      if (r.doorbell === null) return steps[0]!.action;
      return r.doorbell.its
        ? `vITS ${r.doorbell.frame ?? '?'} frame +${r.doorbell.offset ?? '?'}`
        : 'not a vITS doorbell';
    case 'kvm-route':
      return describeRoute(r.route);
  }
}

/** The virtio-iommu's translation in words: MSI region identity, the guest's MAP, or its own bypass. */
function virtioIommuHeadline(r: ResolutionView, steps: readonly TrailStepView[]): string {
  const rule = steps.find((s) => s.rule !== undefined && /^VI[2-5]$/.test(s.rule))?.rule;
  const name = r.virtioIommu ?? 'virtio-iommu';
  if (rule === 'VI2') return `${name}: MSI region, identity`;
  if (rule === 'VI3') return `${name}: the guest's MAP`;
  if (rule === 'VI5') return `${name} itself: bypass, identity`;
  return steps[0]?.action ?? name;
}

function unusedHeadline(row: Row, addressSpace: string): string {
  if (addressSpace === 'virtio-iommu' && row === 'stage-2') return 'none (virtio-iommu has one stage)';
  if (row === 'stage-1' || row === 'stage-2')
    return addressSpace === 'smmu-iommu' ? 'not walked' : `not walked (${addressSpace})`;
  return '—';
}

const ROUTE_WARNINGS = ['DOORBELL_NOT_TRANSLATER', 'MSI_ADDR_MISALIGNED'];

function ownVerdict(r: ResolutionView, faultAt: Row | undefined, misrouted: boolean): Column['verdict'] {
  const lost = r.diagnostics.some((d) => d.code === 'INTERRUPTS_LOST');
  if (faultAt !== undefined || lost)
    return { text: faultAt === undefined ? 'interrupts lost' : `lost at ${ROW_LABELS[faultAt]}`, tone: 'bad' };
  if (misrouted) return { text: `misrouted to ${r.route.address}`, tone: 'bad' };
  if (!r.route.installed) return { text: describeRoute(r.route), tone: 'neutral' };
  if (r.hardwarePath?.delivered === false) return { text: 'route installed, hardware path blocked', tone: 'warn' };
  // Warnings about this route's own doorbell (S21, S22), not about the other semantics.
  const tolerated = r.diagnostics.find((d) => ROUTE_WARNINGS.includes(d.code));
  return tolerated
    ? { text: `delivered, ${tolerated.code}`, tone: 'warn' }
    : { text: `delivered to ${r.route.address}`, tone: 'good' };
}

// ---- the other two semantics: what the record's comparison holds -----------------------------

function comparisonColumn(r: ResolutionView, s: Semantics, own: Column): Column {
  const route = r.comparison[s];
  const upstream = r.comparison.upstream;
  const differs = s !== 'upstream' && route.installed && upstream.installed && !sameRoute(route, upstream);
  const lost =
    !route.installed &&
    route.cause !== undefined &&
    !['gsi-direct', 'no-msi-controller', 'no-kvm-irqchip'].includes(route.cause);
  const cells = ROWS.map((row): Cell => {
    // The device and the guest's MSI-X entry are the same facts under every semantics.
    if (row === 'device' || row === 'msix') return ownCell(own, row);
    if (row !== 'kvm-route')
      return {
        row,
        state: 'not-in-record',
        headline: 'not in this record',
        details: [`resolve with semantics=${s} for this step`],
        events: [],
      };
    if (!route.installed)
      return {
        row,
        state: lost ? 'no-route' : 'ok',
        headline: describeRoute(route),
        details: route.reason ? [route.reason] : [],
        events: [],
      };
    if (differs)
      return {
        row,
        state: 'misrouted',
        headline: describeRoute(route),
        details: [`upstream routes ${describeRoute(upstream)}`],
        events: [],
      };
    return {
      row,
      state: 'ok',
      headline: describeRoute(route),
      details: s === 'upstream' ? [] : ['the same route as upstream'],
      events: [],
    };
  });
  const verdict: Column['verdict'] = differs
    ? { text: `misrouted to ${route.address}`, tone: 'bad' }
    : lost
      ? { text: 'no route: interrupts lost', tone: 'bad' }
      : route.installed
        ? { text: s === 'upstream' ? `routes to ${route.address}` : 'same route as upstream', tone: 'good' }
        : { text: describeRoute(route), tone: 'neutral' };
  return { key: s, label: COLUMN_LABELS[s], resolved: false, cells, verdict };
}

const ownCell = (own: Column, row: Row): Cell => own.cells.find((c) => c.row === row)!;

// ---- the bytes on the bus (accel, or vfio-pci without a vIOMMU) --------------------------------

function rowOfHardwareStep(step: HardwareStepView, previous: Row | undefined): Row {
  if (/physical MSI-X entry/.test(step.action)) return 'msix';
  if (/^stage 1\b/.test(step.action)) return 'stage-1';
  if (/^stage 2\b|VFIO domain maps/.test(step.action)) return 'stage-2';
  if (/physical ITS|host LPI/.test(step.action)) return 'its';
  return previous ?? 'address-space';
}

function hardwareColumn(r: ResolutionView, own: Column): Column {
  const path = r.hardwarePath;
  if (path === null) {
    const cells = ROWS.map(
      (row): Cell => ({
        row,
        state: 'unused',
        headline: '—',
        details:
          row === 'device'
            ? ['no physical MSI path in this record', '(an emulated device: QEMU or KVM delivers it)']
            : [],
        events: [],
      }),
    );
    return {
      key: 'hardware',
      label: COLUMN_LABELS.hardware,
      resolved: false,
      cells,
      verdict: { text: 'no hardware path', tone: 'neutral' },
    };
  }
  const byRow = new Map<Row, HardwareStepView[]>();
  let previous: Row | undefined;
  for (const step of path.steps) {
    previous = rowOfHardwareStep(step, previous);
    byRow.set(previous, [...(byRow.get(previous) ?? []), step]);
  }
  // A blocked path ends on the step that blocks it (output null, delivered false).
  const faultAt = path.delivered === false ? previous : undefined;
  const ownLost = own.verdict.tone === 'bad';
  const cells = ROWS.map((row): Cell => {
    const steps = byRow.get(row) ?? [];
    const events = eventsOf(steps);
    const details = steps.map((s) => s.action);
    if (row === faultAt)
      return {
        row,
        state: 'fault',
        headline: `blocked at ${steps.at(-1)?.input ?? path.deviceWrites}`,
        details: [...details, ...(path.reason ? [path.reason] : [])],
        events,
      };
    if (faultAt !== undefined && rowIndex(row) > rowIndex(faultAt))
      return { row, state: 'not-reached', headline: 'not reached', details: [], events: [] };
    if (row === 'device')
      return {
        row,
        state: 'ok',
        headline: `device writes ${path.deviceWrites}`,
        details: [],
        events: eventsOf(path.steps.slice(0, 1)),
      };
    if (row === 'kvm-route') {
      if (path.delivered === null)
        return {
          row,
          state: 'unknown',
          headline: 'unknown',
          details: ['whether the host ITS is reached is not known'],
          events: [],
        };
      if (!r.route.installed)
        return { row, state: 'no-route', headline: `irqfd finds ${describeRoute(r.route)}`, details: [], events: [] };
      return {
        row,
        state: ownLost ? 'misrouted' : 'ok',
        headline: `irqfd fires ${describeRoute(r.route)}`,
        details: ownLost ? [`the ${r.semantics} route loses it (see its column)`] : [],
        events: [],
      };
    }
    if (steps.length === 0) return { row, state: 'unused', headline: '—', details: [], events };
    const last = steps.at(-1)!;
    if (last.output === null && row !== 'its')
      return { row, state: 'unknown', headline: `${last.input} -> ? (host ITS base not recorded)`, details, events };
    if (row === 'its' && path.delivered === null)
      return { row, state: 'unknown', headline: 'delivery unknown (no hostItsBase)', details, events };
    return {
      row,
      state: 'ok',
      headline: last.output === null ? `${last.input}` : `${steps[0]!.input} -> ${last.output}`,
      details,
      events,
    };
  });
  const verdict: Column['verdict'] =
    path.delivered === true
      ? { text: 'reaches the host ITS', tone: 'good' }
      : path.delivered === false
        ? { text: 'blocked', tone: 'bad' }
        : { text: 'unknown (no hostItsBase)', tone: 'neutral' };
  return { key: 'hardware', label: COLUMN_LABELS.hardware, resolved: false, cells, verdict };
}

// ---- shared ----------------------------------------------------------------------------------

function eventsOf(steps: readonly { events: readonly EventRefView[] }[]): EventRefView[] {
  const byPosition = new Map<number, EventRefView>();
  for (const e of steps.flatMap((s) => s.events)) byPosition.set(e.position, e);
  return [...byPosition.values()].sort((a, b) => a.position - b.position);
}

/** A step as lines: what it did, then the addresses it took and gave. */
function detailsOfStep(step: TrailStepView): string[] {
  const values = (o: Readonly<Record<string, unknown>>) =>
    Object.entries(o)
      .filter(([, v]) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')
      .map(([k, v]) => `${k} ${String(v)}`)
      .join(', ');
  const io = [values(step.input), values(step.output)].filter((s) => s !== '').join(' -> ');
  return io === '' ? [step.action] : [step.action, io];
}

function findingsOf(r: ResolutionView, own: Column): string[] {
  const subject = `The MSI of ${r.device}${r.vector === undefined ? '' : ` vector ${r.vector}`} (data ${r.input.data}, devid ${r.streamId})`;
  const findings: string[] = [];
  const faultCell = own.cells.find((c) => c.state === 'fault');
  if (faultCell !== undefined) {
    const why =
      r.fault !== null
        ? `${r.fault.type} at ${ROW_LABELS[faultCell.row]}${r.fault.reason ? `: ${r.fault.reason}` : ''}`
        : faultCell.row === 'its'
          ? `its route points at ${r.route.address}, which is not a vITS doorbell`
          : (r.route.reason ?? faultCell.headline);
    findings.push(`${subject} is lost under ${r.semantics}: ${why}.`);
  } else if (own.verdict.tone === 'bad') {
    findings.push(`${subject} is ${own.verdict.text} under ${r.semantics}.`);
  }
  const pre = r.comparison['pre-fix'];
  const up = r.comparison.upstream;
  if (r.comparison.misroutedBeforeFix && pre.installed)
    findings.push(
      `Without the MSI fix (pre-fix, never released) it is misrouted to ${pre.address}; upstream routes it to ${up.address ?? describeRoute(up)}.`,
    );
  else if (r.comparison.missingBeforeFix === true || (r.comparison.misroutedBeforeFix && !pre.installed))
    findings.push(
      `Without the MSI fix (pre-fix, never released) it has no route at all (${pre.cause ?? 'none'}); upstream routes it to ${up.address ?? describeRoute(up)}.`,
    );
  if (r.hardwarePath?.delivered === false)
    findings.push(
      `On the hardware path the device's write ${r.hardwarePath.deviceWrites} is blocked${r.hardwarePath.reason ? `: ${r.hardwarePath.reason}` : ''}.`,
    );
  if (findings.length === 0)
    findings.push(
      `${subject} is delivered: ${own.verdict.text}${r.hardwarePath?.delivered === null ? '; the hardware path is unknown (no hostItsBase)' : ''}.`,
    );
  return findings;
}
