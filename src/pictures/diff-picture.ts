// GET /v1/vms/{vm}/diff.svg: what changed in a VM between two versions, as a picture. One row per
// part added, removed or changed (marked by colour, by line style and by a word, so it reads in
// greyscale), grouped by kind in the order of the topology (board, buses, SMMUs, devices), each
// with the events that did it; then the vectors whose route changed, before and after.

import { INK, MUTED, RULE } from './palette.js';
import { el, fittedText, svgDocument, type SvgChild } from './svg.js';

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

const KIND_ORDER = ['board', 'qemu', 'guest', 'bus', 'smmu', 'device'];
const KIND_TITLES: Record<string, string> = {
  board: 'Board',
  qemu: 'QEMU build',
  guest: 'Guest profile',
  bus: 'Buses',
  smmu: 'SMMUs',
  device: 'Devices',
};

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

export function diffPicture(diff: DiffView): string {
  const title = `VM ${diff.vm}: what changed from version ${diff.from} to ${diff.to}`;
  const count = (op: string) => diff.changes.filter((c) => c.op === op).length;
  const summary = `${count('add')} added, ${count('remove')} removed, ${count('change')} changed; ${diff.routes.length} vector route(s) changed`;
  const body: SvgChild[] = [
    fittedText(title, WIDTH - 2 * MARGIN, {
      x: MARGIN,
      y: MARGIN + 16,
      'font-size': 16,
      'font-weight': 'bold',
      fill: INK,
    }),
    fittedText(summary, WIDTH - 2 * MARGIN, { x: MARGIN, y: MARGIN + 36, 'font-size': 12, fill: MUTED }),
  ];
  let y = MARGIN + 72;
  if (diff.changes.length === 0) {
    body.push(el('text', { x: MARGIN, y, 'font-size': FONT, fill: MUTED }, 'No part of the topology changed.'));
    y += ROW;
  }
  for (const kind of new Set([...KIND_ORDER, ...diff.changes.map((c) => c.kind)])) {
    const rows = diff.changes.filter((c) => c.kind === kind);
    if (rows.length === 0) continue;
    body.push(el('g', { 'data-section': kind }, heading(KIND_TITLES[kind] ?? kind, y)));
    y += ROW + 4;
    for (const change of rows) {
      body.push(changeRow(change, y));
      y += ROW;
    }
    y += 8;
  }
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
