// GET /v1/vms/{vm}/diff.svg: what changed in a VM between two versions, as a picture. The board's
// changes, then the topology both versions make up together as a tree under pcie.0 (buses, their
// SMMU, their devices), each part marked by colour, line style and a word (so it reads in
// greyscale) as added, removed or changed, with the events that did it; then the vectors whose
// route changed, before and after.

import { INK, MUTED, RULE } from './palette.js';
import { el, fittedText, pictureHeading, svgDocument, type SvgChild } from './svg.js';

/** The diff as its JSON gives it (64-bit values already hex). */
export interface DiffView {
  vm: string;
  from: number;
  to: number;
  changes: {
    op: 'add' | 'remove' | 'change';
    kind: string;
    id: string;
    before?: Record<string, unknown>;
    after?: Record<string, unknown>;
    events: number[];
  }[];
  routes: { device: string; vector: number; semantics: string; before: RouteView | null; after: RouteView | null }[];
}

/** One part of the topology both versions make up together, depth-first from pcie.0. */
export interface DiffTreeNode {
  kind: 'bus' | 'smmu' | 'device';
  id: string;
  /** The bus it sits on (an SMMU: its primary bus); null for pcie.0. */
  parent: string | null;
  label: string;
  /** What happened to it; undefined: unchanged. */
  op: 'add' | 'remove' | 'change' | undefined;
  depth: number;
}

type RouteView = { installed: true; address: string; devid: string } | { installed: false; cause: string };

const WIDTH = 1100;
const MARGIN = 20;
const ROW = 24;
const FONT = 12;
const MARK_WIDTH = 92;

const OPS = {
  add: { word: 'added', fill: '#e8f5e9', stroke: '#2e7d32', dash: undefined },
  remove: { word: 'removed', fill: '#ffebee', stroke: '#c62828', dash: '5 3' },
  change: { word: 'changed', fill: '#fff8e1', stroke: '#e65100', dash: '2 2' },
} as const;

const show = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value));
const fields = (view: Record<string, unknown> | undefined) =>
  Object.entries(view ?? {})
    .filter(([, v]) => v !== null && v !== undefined && v !== false)
    .map(([k, v]) => `${k}=${show(v)}`)
    .join(' ');

function detailOf(change: DiffView['changes'][number]): string {
  if (change.op === 'add') return fields(change.after);
  if (change.op === 'remove') return fields(change.before);
  const keys = [...new Set([...Object.keys(change.before ?? {}), ...Object.keys(change.after ?? {})])];
  return keys.map((k) => `${k}: ${show(change.before?.[k] ?? '-')} -> ${show(change.after?.[k] ?? '-')}`).join('; ');
}

function routeText(route: RouteView | null): string {
  if (route === null) return 'device not in the VM';
  return route.installed ? `${route.address} devid ${route.devid}` : `no route (${route.cause})`;
}

function heading(text: string, y: number): SvgChild[] {
  return [
    el('text', { x: MARGIN, y, 'font-size': 13, 'font-weight': 'bold', fill: INK }, text),
    el('line', { x1: MARGIN, y1: y + 5, x2: WIDTH - MARGIN, y2: y + 5, stroke: RULE, 'stroke-width': 1 }),
  ];
}

const EVENTS_WIDTH = 170;

function changeRow(change: DiffView['changes'][number], y: number): SvgChild {
  const op = OPS[change.op];
  const events = change.events.map((p) => `#${p}`).join(' ');
  return el(
    'g',
    { 'data-op': change.op, 'data-kind': change.kind, 'data-id': change.id },
    el('rect', {
      x: MARGIN,
      y: y - 16,
      width: WIDTH - 2 * MARGIN,
      height: ROW - 4,
      rx: 3,
      fill: op.fill,
      stroke: op.stroke,
      'stroke-width': 1.5,
      'stroke-dasharray': op.dash,
    }),
    el('text', { x: MARGIN + 8, y, 'font-size': FONT, 'font-weight': 'bold', fill: op.stroke }, op.word),
    fittedText(`${change.id}  ${detailOf(change)}`, WIDTH - 2 * MARGIN - MARK_WIDTH - EVENTS_WIDTH - 16, {
      x: MARGIN + MARK_WIDTH,
      y,
      'font-size': FONT,
      fill: INK,
    }),
    events === ''
      ? undefined
      : fittedText(`event ${events}`, EVENTS_WIDTH, {
          x: WIDTH - MARGIN - 8,
          y,
          'font-size': FONT - 1,
          'text-anchor': 'end',
          fill: MUTED,
        }),
  );
}

function routeRow(route: DiffView['routes'][number], y: number): SvgChild {
  // A vector of a device still there that had a route and has none; a removed device's vectors go with it.
  const lost = route.before?.installed === true && route.after?.installed === false;
  const colour = lost ? '#c62828' : INK;
  const text = `${route.device} vector ${route.vector} (${route.semantics}): ${routeText(route.before)} -> ${routeText(route.after)}${lost ? '  INTERRUPTS LOST' : ''}`;
  return el(
    'g',
    { 'data-kind': 'route', 'data-id': `${route.device}/${route.vector}` },
    fittedText(text, WIDTH - 2 * MARGIN - 8, { x: MARGIN + 8, y, 'font-size': FONT, fill: colour }),
  );
}

const INDENT = 28;
const UNCHANGED = { fill: '#ffffff', stroke: RULE };

/** A part of the topology, indented under its bus, boxed in the colour and line of what happened to it. */
function treeRow(node: DiffTreeNode, change: DiffView['changes'][number] | undefined, y: number): SvgChild {
  const x = MARGIN + node.depth * INDENT;
  const style = node.op === undefined ? { ...UNCHANGED, dash: undefined, word: '' } : OPS[node.op];
  const detail = change?.op === 'change' ? `  ${detailOf(change)}` : '';
  const width = WIDTH - MARGIN - x - EVENTS_WIDTH - 8;
  return el(
    'g',
    { 'data-op': node.op ?? 'same', 'data-kind': node.kind, 'data-id': node.id },
    el('rect', {
      x,
      y: y - 16,
      width,
      height: ROW - 4,
      rx: node.kind === 'device' ? 3 : 0,
      fill: style.fill,
      stroke: style.stroke,
      'stroke-width': node.op === undefined ? 1 : 1.5,
      'stroke-dasharray': style.dash,
    }),
    fittedText(`${style.word === '' ? '' : `${style.word}: `}${node.id} (${node.label})${detail}`, width - 16, {
      x: x + 8,
      y,
      'font-size': FONT,
      'font-weight': node.kind === 'device' ? undefined : 'bold',
      fill: node.op === undefined ? MUTED : INK,
    }),
    change === undefined || change.events.length === 0
      ? undefined
      : fittedText(`event ${change.events.map((p) => `#${p}`).join(' ')}`, EVENTS_WIDTH, {
          x: WIDTH - MARGIN,
          y,
          'font-size': FONT - 1,
          'text-anchor': 'end',
          fill: MUTED,
        }),
  );
}

/** The line from a part's bus down to it. */
function connector(parent: { depth: number; y: number }, y: number): SvgChild {
  const x = MARGIN + parent.depth * INDENT + 12;
  return el('path', {
    d: `M ${x} ${parent.y + 4} V ${y - 6} H ${x + INDENT - 12}`,
    fill: 'none',
    stroke: RULE,
    'stroke-width': 1,
  });
}

export function diffPicture(diff: DiffView, tree: readonly DiffTreeNode[]): string {
  const title = `VM ${diff.vm}: what changed from version ${diff.from} to ${diff.to}`;
  const count = (op: string) => diff.changes.filter((c) => c.op === op).length;
  const summary = `${count('add')} added, ${count('remove')} removed, ${count('change')} changed; ${diff.routes.length} vector route(s) changed`;
  const body: SvgChild[] = pictureHeading(title, summary, MARGIN, MARGIN, WIDTH - 2 * MARGIN);
  let y = MARGIN + 72;
  const machine = diff.changes.filter((c) => !['bus', 'smmu', 'device'].includes(c.kind));
  if (machine.length > 0) {
    body.push(el('g', { 'data-section': 'machine' }, heading('Board, QEMU build, guest profile', y)));
    y += ROW + 4;
    for (const change of machine) {
      body.push(changeRow(change, y));
      y += ROW;
    }
    y += 8;
  }
  body.push(
    el(
      'g',
      { 'data-section': 'topology' },
      heading('Topology: both versions, each part marked with what happened to it', y),
    ),
  );
  y += ROW + 4;
  const changeOf = new Map(diff.changes.map((c) => [`${c.kind}\u0000${c.id}`, c]));
  const placed = new Map<string, { depth: number; y: number }>();
  for (const node of tree) {
    const parent = node.parent === null ? undefined : placed.get(node.parent);
    if (parent !== undefined) body.push(connector(parent, y));
    body.push(treeRow(node, changeOf.get(`${node.kind}\u0000${node.id}`), y));
    if (node.kind === 'bus') placed.set(node.id, { depth: node.depth, y });
    y += ROW;
  }
  y += 8;
  body.push(el('g', { 'data-section': 'routes' }, heading('Vector routes that changed', y)));
  y += ROW + 4;
  if (diff.routes.length === 0) {
    body.push(
      el('text', { x: MARGIN + 8, y, 'font-size': FONT, fill: MUTED }, 'No programmed vector changed its route.'),
    );
    y += ROW;
  }
  for (const route of diff.routes) {
    body.push(routeRow(route, y));
    y += ROW;
  }
  const desc = [
    summary,
    ...diff.changes.map((c) => `${OPS[c.op].word} ${c.kind} ${c.id}: ${detailOf(c)}`),
    ...diff.routes.map((r) => `${r.device} vector ${r.vector}: ${routeText(r.before)} -> ${routeText(r.after)}`),
  ].join('. ');
  return svgDocument({ title, desc, width: WIDTH, height: y + MARGIN, body });
}
