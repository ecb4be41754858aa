// GET /v1/msi-resolutions/{id}.svg and .../route.svg: the translation path of one resolution as
// a grid (resolution-grid.ts decides what is in it; this module only places and draws it).
// Layout after NetBox's cable trace (svg-picture.md §2): steps top to bottom, one column per
// behaviour, a cursor that only moves down; no layout engine needed for a fixed grid.

import { CELL_STYLES, INK, MUTED, RULE, TONE_COLOURS } from './palette.js';
import { resolutionGrid, ROW_LABELS, ROWS, type Cell, type Column } from './resolution-grid.js';
import type { ResolutionView } from './resolution-view.js';
import { charsThatFit, el, fittedText, svgDocument, wrapText, type SvgChild, type SvgElement } from './svg.js';

const MARGIN = 16;
const LABEL_WIDTH = 104;
const COLUMN_WIDTH = 320;
const COLUMN_GAP = 14;
const FONT = 11;
const LINE = 14;
const PAD = 8;
const ROW_GAP = 14;
const HEADER_HEIGHT = 34;
/** Lines of detail a cell shows; the rest is in the cell's tooltip. */
const MAX_DETAIL_LINES = 5;

const TEXT_WIDTH = COLUMN_WIDTH - 2 * PAD;
const TOTAL_WIDTH = 2 * MARGIN + LABEL_WIDTH + 4 * COLUMN_WIDTH + 3 * COLUMN_GAP;

export function resolutionPicture(resolution: ResolutionView): string {
  const grid = resolutionGrid(resolution);
  const body: SvgChild[] = [];
  let y = MARGIN;

  const heading = `MSI path of ${resolution.device}${resolution.vector === undefined ? '' : ` vector ${resolution.vector}`} in VM ${resolution.vm}`;
  const subheading = [
    `resolved as ${resolution.semantics} at version ${resolution.asOfVersion}`,
    resolution.id === undefined ? 'live route' : `record ${resolution.id}`,
    `MSI ${resolution.input.address} data ${resolution.input.data}`,
    `SID ${resolution.streamId}`,
  ].join(' · ');
  body.push(
    fittedText(heading, TOTAL_WIDTH - 2 * MARGIN, {
      x: MARGIN,
      y: y + 16,
      'font-size': 16,
      'font-weight': 'bold',
      fill: INK,
    }),
  );
  body.push(fittedText(subheading, TOTAL_WIDTH - 2 * MARGIN, { x: MARGIN, y: y + 36, 'font-size': 12, fill: MUTED }));
  y += 50;

  body.push(...grid.columns.map((column, i) => columnHeader(column, columnX(i), y)));
  y += HEADER_HEIGHT + 6;

  const cellLines = (cell: Cell) =>
    1 + Math.min(cell.details.length, MAX_DETAIL_LINES) + (cell.events.length > 0 ? 1 : 0);
  for (const [r, row] of ROWS.entries()) {
    const height = PAD * 2 + LINE * Math.max(...grid.columns.map((c) => cellLines(c.cells[r]!))) - 4;
    body.push(
      fittedText(ROW_LABELS[row], LABEL_WIDTH - 8, {
        x: MARGIN,
        y: y + PAD + FONT,
        'font-size': 12,
        'font-weight': 'bold',
        fill: INK,
      }),
    );
    grid.columns.forEach((column, i) => {
      body.push(cellBox(column, column.cells[r]!, columnX(i), y, height));
      const next = column.cells[r + 1];
      if (next !== undefined && continues(column.cells[r]!, next))
        body.push(connector(columnX(i) + COLUMN_WIDTH / 2, y + height, ROW_GAP));
    });
    y += height + ROW_GAP;
  }

  body.push(
    fittedText('verdict', LABEL_WIDTH - 8, { x: MARGIN, y: y + 12, 'font-size': 12, 'font-weight': 'bold', fill: INK }),
  );
  grid.columns.forEach((column, i) => {
    body.push(
      el(
        'g',
        { 'data-verdict': column.key },
        fittedText(column.verdict.text, COLUMN_WIDTH, {
          x: columnX(i),
          y: y + 12,
          'font-size': 12,
          'font-weight': 'bold',
          fill: TONE_COLOURS[column.verdict.tone],
        }),
      ),
    );
  });
  y += 30;

  body.push(el('line', { x1: MARGIN, y1: y, x2: TOTAL_WIDTH - MARGIN, y2: y, stroke: RULE, 'stroke-width': 1 }));
  y += 8;
  const findingLines = grid.findings.flatMap((f) => wrapText(f, charsThatFit(TOTAL_WIDTH - 2 * MARGIN, 12)));
  const codes = resolution.diagnostics.map((d) => `${d.code} (${d.severity})`);
  body.push(
    el(
      'g',
      { 'data-findings': 'true' },
      findingLines.map((line, i) => el('text', { x: MARGIN, y: y + 14 + i * 17, 'font-size': 12, fill: INK }, line)),
      codes.length > 0 &&
        fittedText(`diagnostics: ${codes.join(', ')}`, TOTAL_WIDTH - 2 * MARGIN, {
          x: MARGIN,
          y: y + 14 + findingLines.length * 17,
          'font-size': 11,
          fill: MUTED,
        }),
    ),
  );
  y += 14 + (findingLines.length + (codes.length > 0 ? 1 : 0)) * 17;

  return svgDocument({
    title: heading,
    desc: `${grid.findings.join(' ')} By column: ${grid.columns.map((c) => `${c.label}: ${c.verdict.text}`).join('; ')}.`,
    width: TOTAL_WIDTH,
    height: y + MARGIN,
    body,
  });
}

const columnX = (i: number) => MARGIN + LABEL_WIDTH + i * (COLUMN_WIDTH + COLUMN_GAP);

function columnHeader(column: Column, x: number, y: number): SvgElement {
  return el(
    'g',
    { 'data-column-header': column.key },
    el('rect', {
      x,
      y,
      width: COLUMN_WIDTH,
      height: HEADER_HEIGHT,
      rx: 4,
      fill: column.resolved ? '#263238' : '#eceff1',
      stroke: '#263238',
      'stroke-width': 1,
    }),
    fittedText(column.label, TEXT_WIDTH, {
      x: x + PAD,
      y: y + 15,
      'font-size': 13,
      'font-weight': 'bold',
      fill: column.resolved ? '#ffffff' : INK,
    }),
    fittedText(
      column.resolved
        ? 'resolved: the full trail'
        : column.key === 'hardware'
          ? 'what the device puts on the bus'
          : 'from the comparison: the route only',
      TEXT_WIDTH,
      {
        x: x + PAD,
        y: y + 28,
        'font-size': 10,
        fill: column.resolved ? '#cfd8dc' : MUTED,
      },
    ),
  );
}

const BADGES: Partial<Record<Cell['state'], string>> = {
  fault: 'FAULT',
  misrouted: 'MISROUTED',
  'no-route': 'NO ROUTE',
  unknown: 'UNKNOWN',
};

function cellBox(column: Column, cell: Cell, x: number, y: number, height: number): SvgElement {
  const style = CELL_STYLES[cell.state];
  const shown = cell.details.slice(0, MAX_DETAIL_LINES);
  const hidden = cell.details.length - shown.length;
  const events = cell.events.map((e) => `#${e.position}`).join(' ');
  const tooltip = [
    `${ROW_LABELS[cell.row]}, ${column.label}: ${cell.headline}`,
    ...cell.details,
    cell.events.length > 0 ? `events: ${cell.events.map((e) => `#${e.position} ${e.type}`).join(', ')}` : '',
  ]
    .filter((s) => s !== '')
    .join('\n');
  const badge = BADGES[cell.state];
  const headlineWidth = TEXT_WIDTH - (badge ? badge.length * 7 + 8 : 0);
  return el(
    'g',
    {
      class: cell.state === 'fault' ? 'step fault' : `step ${cell.state}`,
      'data-column': column.key,
      'data-row': cell.row,
      'data-state': cell.state,
      'data-events': cell.events.map((e) => e.position).join(' '),
    },
    el('title', {}, tooltip),
    el('rect', {
      x,
      y,
      width: COLUMN_WIDTH,
      height,
      rx: 4,
      fill: style.fill,
      stroke: style.stroke,
      'stroke-width': style.strokeWidth,
      'stroke-dasharray': style.dash,
    }),
    badge &&
      el(
        'text',
        {
          x: x + COLUMN_WIDTH - PAD,
          y: y + PAD + FONT - 1,
          'font-size': 10,
          'font-weight': 'bold',
          'text-anchor': 'end',
          fill: style.stroke,
        },
        badge,
      ),
    fittedText(cell.headline, headlineWidth, {
      x: x + PAD,
      y: y + PAD + FONT - 1,
      'font-size': FONT,
      'font-weight': 'bold',
      'font-style': cell.state === 'not-reached' ? 'italic' : undefined,
      fill: style.text,
    }),
    shown.map((line, i) =>
      fittedText(i === shown.length - 1 && hidden > 0 ? `${line} (+${hidden} more)` : line, TEXT_WIDTH, {
        x: x + PAD,
        y: y + PAD + FONT - 1 + LINE * (i + 1),
        'font-size': FONT - 1,
        fill: style.text,
      }),
    ),
    events !== '' &&
      fittedText(`events ${events}`, TEXT_WIDTH, {
        x: x + PAD,
        y: y + PAD + FONT - 1 + LINE * (shown.length + 1),
        'font-size': FONT - 1,
        fill: MUTED,
        'data-events-label': 'true',
      }),
  );
}

/** The path goes on from this cell to the next one down. */
const continues = (cell: Cell, next: Cell) =>
  ['ok', 'misrouted', 'unknown'].includes(cell.state) && !['not-in-record', 'not-reached'].includes(next.state);

function connector(x: number, y: number, length: number): SvgElement {
  return el(
    'g',
    {},
    el('line', { x1: x, y1: y, x2: x, y2: y + length - 4, stroke: MUTED, 'stroke-width': 1.5 }),
    el('path', { d: `M ${x - 4} ${y + length - 5} L ${x + 4} ${y + length - 5} L ${x} ${y + length} Z`, fill: MUTED }),
  );
}
