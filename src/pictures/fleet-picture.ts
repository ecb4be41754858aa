// GET /v1/fleet-sweeps/{id}.svg: VMs by QEMU build and verdict, as horizontal stacked bars — one
// bar per build (fleet-groups.ts), one segment per verdict, the count written on it and the VMs
// in its tooltip; a legend with the sweep's totals above. VMs with no vector to judge are drawn
// pale and dashed beside the judged ones of their verdict: an `ok` over nothing is not an `ok`.

import { buildLabel, buildRows, verdictOrder, type BuildRow, type VerdictSegment } from './fleet-groups.js';
import { type FleetSweepView, nothingJudged } from './fleet-view.js';
import { INK, MUTED, OTHER_VERDICT_COLOUR, RULE, VERDICT_COLOURS } from './palette.js';
import { el, fittedText, pictureHeading, svgDocument, textWidth, type SvgChild, type SvgElement } from './svg.js';

const MARGIN = 16;
const LABEL_WIDTH = 330;
const BAR_WIDTH = 520;
const SUMMARY_WIDTH = 250;
const ROW_HEIGHT = 40;
const BAR_HEIGHT = 22;
const WIDTH = 2 * MARGIN + LABEL_WIDTH + BAR_WIDTH + 16 + SUMMARY_WIDTH;
/** VMs named in a segment's tooltip; the rest are counted. */
const MAX_NAMED_VMS = 25;

const colourOf = (verdict: string) => VERDICT_COLOURS[verdict] ?? OTHER_VERDICT_COLOUR;

export function fleetPicture(sweep: FleetSweepView): string {
  const rows = buildRows(sweep);
  const order = verdictOrder(sweep.results);
  const tally = (verdict: string) =>
    sweep.totals?.byVerdict?.[verdict] ?? sweep.results.filter((r) => r.verdict === verdict).length;
  const totalVms = sweep.totals?.vms ?? sweep.results.length;
  const title = `Fleet sweep${sweep.id ? ` ${sweep.id}` : ''}: VMs by QEMU build and verdict`;
  const target = sweep.target
    ? `target QEMU ${buildLabel(sweep.target)}${sweep.target.behaviour ? ` (${sweep.target.behaviour})` : ''}`
    : 'target QEMU 11.0.0';
  const subtitle = [
    target,
    `${totalVms} VM${totalVms === 1 ? '' : 's'}`,
    sweep.totals ? `${sweep.totals.vectors} vectors` : undefined,
    sweep.createdAt,
  ]
    .filter(Boolean)
    .join(' · ');

  const body: SvgChild[] = pictureHeading(title, subtitle, MARGIN, MARGIN, WIDTH - 2 * MARGIN);
  let y = MARGIN + 56;
  const withoutVectors = sweep.totals?.vmsWithoutVectors ?? sweep.results.filter(nothingJudged).length;
  const legend = legendItems(order, tally, withoutVectors, y);
  body.push(legend.element);
  y = legend.bottom + 14;

  const scale = BAR_WIDTH / Math.max(1, ...rows.map((r) => r.vms));
  if (rows.length === 0)
    body.push(el('text', { x: MARGIN, y: y + 16, 'font-size': 12, fill: MUTED }, 'no VMs in this sweep'));
  rows.forEach((row, i) => {
    body.push(buildBar(row, y + i * ROW_HEIGHT, scale));
  });
  y += Math.max(1, rows.length) * ROW_HEIGHT + 8;

  if (sweep.results.length < totalVms) {
    body.push(
      fittedText(
        `This page shows ${sweep.results.length} of the sweep's ${totalVms} VMs; the legend counts all of them.`,
        WIDTH - 2 * MARGIN,
        { x: MARGIN, y: y + 12, 'font-size': 11, fill: MUTED },
      ),
    );
    y += 24;
  }

  const desc = [
    `${subtitle}.`,
    `By verdict: ${
      order
        .filter((v) => tally(v) > 0)
        .map((v) => `${v} ${tally(v)}`)
        .join(', ') || 'none'
    }.`,
    withoutVectors > 0
      ? `${withoutVectors} VMs had no vector to judge (their verdict says nothing of interrupts).`
      : '',
    ...rows.map(
      (r) =>
        `QEMU ${r.label} (${r.behaviour}): ${r.segments.map((s) => `${s.vms.length} ${segmentName(s)}`).join(', ')}.`,
    ),
  ]
    .filter((t) => t !== '')
    .join(' ');
  return svgDocument({ title, desc, width: WIDTH, height: y + MARGIN, body });
}

const segmentName = (s: VerdictSegment) =>
  s.nothingJudged ? `${s.verdict} with no vectors (nothing judged)` : s.verdict;

/** A pale, dashed box: VMs whose verdict rests on no vector. */
const emptyStyle = (verdict: string) => ({
  fill: colourOf(verdict),
  'fill-opacity': 0.3,
  stroke: colourOf(verdict),
  'stroke-width': 1.5,
  'stroke-dasharray': '4 2',
});

function legendItems(
  verdicts: readonly string[],
  tally: (v: string) => number,
  withoutVectors: number,
  y: number,
): { element: SvgElement; bottom: number } {
  let x = MARGIN;
  let line = y;
  const entries: { key: string; text: string; box: Record<string, string | number> }[] = verdicts.map((verdict) => ({
    key: verdict,
    text: `${verdict} ${tally(verdict)}`,
    box: { fill: colourOf(verdict), stroke: INK, 'stroke-width': 0.5 },
  }));
  if (withoutVectors > 0)
    entries.push({
      key: 'no-vectors',
      text: `of them with no vectors, nothing judged ${withoutVectors}`,
      box: emptyStyle('ok'),
    });
  const items = entries.map(({ key, text, box }) => {
    const width = 16 + textWidth(text, 11) + 20;
    if (x + width > WIDTH - MARGIN) {
      x = MARGIN;
      line += 20;
    }
    const item = el(
      'g',
      { 'data-legend': key, 'data-count': key === 'no-vectors' ? withoutVectors : tally(key) },
      el('rect', { x, y: line, width: 12, height: 12, ...box }),
      el('text', { x: x + 16, y: line + 10, 'font-size': 11, fill: INK }, text),
    );
    x += width;
    return item;
  });
  return { element: el('g', {}, items), bottom: line + 14 };
}

function buildBar(row: BuildRow, y: number, scale: number): SvgElement {
  const barX = MARGIN + LABEL_WIDTH;
  let x = barX;
  const segments = row.segments.map((segment) => {
    const width = segment.vms.length * scale;
    const named =
      segment.vms.slice(0, MAX_NAMED_VMS).join(', ') +
      (segment.vms.length > MAX_NAMED_VMS ? ` and ${segment.vms.length - MAX_NAMED_VMS} more` : '');
    const count = String(segment.vms.length);
    const dark = !segment.nothingJudged && !['no-accel', 'unknown-build'].includes(segment.verdict);
    const why = segment.nothingJudged && segment.reason !== undefined ? `; ${segment.reason}` : '';
    const element = el(
      'g',
      {
        'data-build': row.key,
        'data-verdict': segment.verdict,
        'data-count': segment.vms.length,
        ...(segment.nothingJudged ? { 'data-nothing-judged': 'true' } : {}),
      },
      el('title', {}, `${row.label}: ${segment.vms.length} ${segmentName(segment)} (${named})${why}`),
      el('rect', {
        x,
        y: y + 4,
        width,
        height: BAR_HEIGHT,
        ...(segment.nothingJudged
          ? emptyStyle(segment.verdict)
          : { fill: colourOf(segment.verdict), stroke: '#ffffff', 'stroke-width': 1 }),
      }),
      width >= textWidth(count, 11) + 6 &&
        el(
          'text',
          {
            x: x + width / 2,
            y: y + 19,
            'font-size': 11,
            'font-weight': 'bold',
            'text-anchor': 'middle',
            fill: dark ? '#ffffff' : INK,
          },
          count,
        ),
    );
    x += width;
    return element;
  });
  const summary = `${row.vms} VM${row.vms === 1 ? '' : 's'} · ${row.vectors} vectors · ${row.interruptsLost} lost`;
  const summaryX = barX + BAR_WIDTH + 16;
  return el(
    'g',
    { 'data-build-row': row.key },
    fittedText(row.label, LABEL_WIDTH - 12, {
      x: MARGIN,
      y: y + 14,
      'font-size': 12,
      'font-weight': 'bold',
      fill: INK,
    }),
    fittedText(`${row.behaviour}${row.rule ? ` (${row.rule})` : ''}`, LABEL_WIDTH - 12, {
      x: MARGIN,
      y: y + 29,
      'font-size': 10,
      fill: MUTED,
    }),
    el('line', { x1: barX, y1: y + 2, x2: barX, y2: y + BAR_HEIGHT + 6, stroke: RULE, 'stroke-width': 1 }),
    segments,
    fittedText(summary, SUMMARY_WIDTH, { x: summaryX, y: y + 15, 'font-size': 11, fill: MUTED }),
    row.withoutVectors > 0 &&
      fittedText(`${row.withoutVectors} without vectors: nothing judged`, SUMMARY_WIDTH, {
        x: summaryX,
        y: y + 29,
        'font-size': 10,
        fill: MUTED,
      }),
  );
}
