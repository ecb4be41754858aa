// The fleet chart (contract, "Pictures": GET /v1/fleet-sweeps/{id}.svg): VMs by QEMU build and
// verdict. No route builds sweeps yet, so the sweep is written out in the contract's shape, with
// each VM's qemu classified by the real §10 classifier.

import { describe, expect, it } from 'vitest';
import { classifyQemuBuild } from '../../src/domain/qemu-build/classify';
import { parseQemuDeclaration } from '../../src/domain/qemu-build/declaration';
import { fleetPicture } from '../../src/pictures/fleet-picture';
import type { FleetResultView, FleetSweepView } from '../../src/pictures/fleet-view';
import { expectWellFormedPicture, savePicture, visibleText, withAttribute } from './svg-inspect';

const build = (declared: unknown) => classifyQemuBuild(parseQemuDeclaration(declared));
const UPSTREAM = build({ version: '11.0.0' });
const NVIDIA = build({ package: 'Debian 1:10.1.0+nvidia1-unstable' });
const DEV = build({ versionText: 'QEMU emulator version 10.2.50 (v10.2.0-989-g5cfb672a711)' });
const UBUNTU = build({ versionText: 'QEMU emulator version 10.2.1 (Debian 1:10.2.1+ds-1ubuntu3.1)' });

function result(vm: string, qemu: ReturnType<typeof build>, verdict: string, lost = 0): FleetResultView {
  const counts = { vectors: 4, routesInstalled: 4 - lost, interruptsLost: lost, misrouted: lost };
  return {
    vm,
    version: 9,
    qemu,
    behaviour: qemu.behaviour,
    counts,
    countsUnderTarget: { ...counts, interruptsLost: 0 },
    verdict,
  };
}

const results = [
  result('edge-1', UPSTREAM, 'ok'),
  result('edge-2', UPSTREAM, 'ok'),
  result('gpu-1', NVIDIA, 'fixed-by-target', 2),
  result('gpu-2', NVIDIA, 'fixed-by-target', 4),
  result('gpu-3', NVIDIA, 'ok'),
  result('lab-1', DEV, 'unknown-build'),
  result('old-1', UBUNTU, 'no-accel'),
];
const sweep: FleetSweepView = {
  id: '4f0c2a4e-1c1b-4a57-9c1e-6d2f3c8f2a10',
  target: build({ version: '11.0.0' }),
  createdAt: '2026-11-30T10:00:00.000Z',
  totals: {
    vms: 7,
    vectors: 28,
    byBehaviour: { upstream: 2, 'address-space': 3, unknown: 1, none: 1 },
    byVerdict: { ok: 3, 'fixed-by-target': 2, 'unknown-build': 1, 'no-accel': 1 },
  },
  results,
};

const segments = (doc: ReturnType<typeof expectWellFormedPicture>) =>
  withAttribute(doc, 'data-verdict').map((s) => [
    JSON.parse(s.getAttribute('data-build')!).join(' | '),
    s.getAttribute('data-verdict'),
    Number(s.getAttribute('data-count')),
  ]);

describe('fleet picture', () => {
  it('draws one bar per QEMU build, newest first, with a segment per verdict counting its VMs', () => {
    const svg = fleetPicture(sweep);
    savePicture('fleet.svg', svg);
    const doc = expectWellFormedPicture(svg);
    expect(withAttribute(doc, 'data-build-row')).toHaveLength(4);
    expect(segments(doc)).toEqual([
      ['11.0.0 | ', 'ok', 2],
      ['10.2.50 | v10.2.0-989-g5cfb672a711', 'unknown-build', 1],
      ['10.2.1 | Debian 1:10.2.1+ds-1ubuntu3.1', 'no-accel', 1],
      ['10.1.0 | Debian 1:10.1.0+nvidia1-unstable', 'fixed-by-target', 2],
      ['10.1.0 | Debian 1:10.1.0+nvidia1-unstable', 'ok', 1],
    ]);
    // Each row names its build, behaviour and rule, and sums its vectors and lost interrupts.
    const nvidia = withAttribute(doc, 'data-build-row').find((r) => visibleText(r).includes('nvidia1'))!;
    expect(visibleText(nvidia)).toContain('address-space (Q4)');
    expect(visibleText(nvidia)).toContain('3 VMs · 12 vectors · 6 lost');
    // The legend counts the whole sweep from its totals.
    expect(
      withAttribute(doc, 'data-legend').map((l) => [
        l.getAttribute('data-legend'),
        Number(l.getAttribute('data-count')),
      ]),
    ).toEqual([
      ['loses-interrupts', 0],
      ['broken-by-target', 0],
      ['fixed-by-target', 2],
      ['ok', 3],
      ['unknown-build', 1],
      ['no-accel', 1],
    ]);
    expect(visibleText(doc)).toContain('target QEMU 11.0.0 (upstream) · 7 VMs · 28 vectors');
    expect(doc.getElementsByTagName('desc')[0]!.textContent).toContain(
      'QEMU 10.1.0 Debian 1:10.1.0+nvidia1-unstable (address-space): 2 fixed-by-target, 1 ok.',
    );
  });

  it('segment widths are proportional to the VMs they count (to the 0.1 px the writer rounds to)', () => {
    const doc = expectWellFormedPicture(fleetPicture(sweep));
    const widthOf = (verdict: string, build: string) => {
      const segment = withAttribute(doc, 'data-verdict', verdict).find((s) =>
        s.getAttribute('data-build')!.includes(build),
      )!;
      return Number(segment.getElementsByTagName('rect')[0]!.getAttribute('width'));
    };
    expect(widthOf('fixed-by-target', 'nvidia')).toBeCloseTo(2 * widthOf('ok', 'nvidia'), 0);
    expect(widthOf('ok', '11.0.0')).toBeCloseTo(2 * widthOf('ok', 'nvidia'), 0);
  });

  it('says when it shows one page of a larger sweep, and draws a verdict it does not know', () => {
    const page: FleetSweepView = {
      ...sweep,
      totals: { ...sweep.totals!, vms: 40 },
      results: [...results, result('new-1', UPSTREAM, 'needs-review')],
    };
    const doc = expectWellFormedPicture(fleetPicture(page));
    expect(visibleText(doc)).toContain("This page shows 8 of the sweep's 40 VMs");
    expect(segments(doc)).toContainEqual(['11.0.0 | ', 'needs-review', 1]);
  });

  it('draws a VM with no vector to judge pale and dashed beside the judged ones, with its reason', () => {
    const reason = 'no programmed vectors and no guest profile to imply them: nothing was judged';
    const empty: FleetResultView = {
      ...result('bare-1', UPSTREAM, 'ok'),
      counts: { vectors: 0, routesInstalled: 0, interruptsLost: 0, misrouted: 0 },
      countsUnderTarget: { vectors: 0, routesInstalled: 0, interruptsLost: 0, misrouted: 0 },
      reason,
    };
    const doc = expectWellFormedPicture(
      fleetPicture({
        ...sweep,
        totals: { ...sweep.totals!, vms: 8, vmsWithoutVectors: 1 },
        results: [...results, empty],
      }),
    );
    // 11.0.0: edge-1 and edge-2 judged ok (4 vectors each), bare-1 ok over nothing: two segments.
    const upstream = withAttribute(doc, 'data-verdict', 'ok').filter((s) =>
      s.getAttribute('data-build')!.includes('11.0.0'),
    );
    expect(upstream.map((s) => [s.getAttribute('data-count'), s.getAttribute('data-nothing-judged')])).toEqual([
      ['2', null],
      ['1', 'true'],
    ]);
    const rect = upstream[1]!.getElementsByTagName('rect')[0]!;
    expect([rect.getAttribute('fill-opacity'), rect.getAttribute('stroke-dasharray')]).toEqual(['0.3', '4 2']);
    expect(upstream[1]!.getElementsByTagName('title')[0]!.textContent).toBe(
      `11.0.0: 1 ok with no vectors (nothing judged) (bare-1); ${reason}`,
    );
    expect(withAttribute(doc, 'data-legend', 'no-vectors')[0]!.getAttribute('data-count')).toBe('1');
    const row = withAttribute(doc, 'data-build-row').find((r) => visibleText(r).includes('11.0.0'))!;
    expect(visibleText(row)).toContain('3 VMs · 8 vectors · 0 lost\n1 without vectors: nothing judged');
  });

  it('an empty sweep still is a picture', () => {
    const doc = expectWellFormedPicture(fleetPicture({ results: [] }));
    expect(visibleText(doc)).toContain('no VMs in this sweep');
  });

  it('escapes a hostile package name and hostile VM ids', () => {
    const hostile = `<script>&"'`;
    const evil = build({ version: '10.1.0', package: `nvidia ${hostile}` });
    const svg = fleetPicture({ id: hostile, results: [result(`vm${hostile}`, evil, 'loses-interrupts', 1)] });
    expect(svg).not.toContain('<script');
    const doc = expectWellFormedPicture(svg);
    expect(doc.getElementsByTagName('title')[0]!.textContent).toBe(
      `Fleet sweep ${hostile}: VMs by QEMU build and verdict`,
    );
    expect(visibleText(doc)).toContain(`10.1.0 nvidia ${hostile}`);
    const [segment] = withAttribute(doc, 'data-verdict', 'loses-interrupts');
    expect(segment!.getElementsByTagName('title')[0]!.textContent).toContain(`vm${hostile}`);
  });
});
