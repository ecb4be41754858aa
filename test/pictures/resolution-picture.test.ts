// The translation-path picture of a resolution (contract, "Pictures"), drawn from records the
// running service returns for the domain reference's scenarios.

import type { Document } from '@xmldom/xmldom';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolutionPicture } from '../../src/pictures/resolution-picture';
import type { ResolutionView } from '../../src/pictures/resolution-view';
import { buildLiveRecords, type LiveRecords } from './live-records';
import { all, expectWellFormedPicture, savePicture, visibleText, withAttribute } from './svg-inspect';

let records: LiveRecords;
beforeAll(async () => {
  records = await buildLiveRecords();
});

const COLUMNS = ['pre-fix', 'address-space', 'upstream', 'hardware'];
const ROWS = ['device', 'msix', 'address-space', 'stage-1', 'stage-2', 'its', 'kvm-route'];

function draw(resolution: ResolutionView, file?: string): Document {
  const svg = resolutionPicture(resolution);
  if (file !== undefined) savePicture(file, svg);
  return expectWellFormedPicture(svg);
}

const cell = (doc: Document, column: string, row: string) => {
  const found = withAttribute(doc, 'data-column', column).filter((e) => e.getAttribute('data-row') === row);
  expect(found, `${column}/${row}`).toHaveLength(1);
  return found[0]!;
};
const stateOf = (doc: Document, column: string, row: string) => cell(doc, column, row).getAttribute('data-state');
const faults = (doc: Document) => withAttribute(doc, 'data-state', 'fault');

describe('every resolution picture', () => {
  it('has one box per step and semantics: 7 rows x (3 semantics + the hardware path)', () => {
    for (const r of [records.s10.upstream, records.s15, records.s13]) {
      const doc = draw(r);
      for (const column of COLUMNS) for (const row of ROWS) cell(doc, column, row);
      expect(withAttribute(doc, 'data-row')).toHaveLength(COLUMNS.length * ROWS.length);
      expect(withAttribute(doc, 'data-column-header').map((h) => h.getAttribute('data-column-header'))).toEqual(
        COLUMNS,
      );
    }
  });

  it('shows in each box of the resolved column the event positions of its trail steps', () => {
    const r = records.s10.upstream;
    const doc = draw(r);
    const shown = new Set(
      withAttribute(doc, 'data-column', 'upstream').flatMap((c) =>
        (c.getAttribute('data-events') ?? '')
          .split(' ')
          .filter((p) => p !== '')
          .map(Number),
      ),
    );
    const cited = r.trail.filter((s) => !('delivered' in s.output)).flatMap((s) => s.events.map((e) => e.position));
    expect([...shown].sort((a, b) => a - b)).toEqual([...new Set(cited)].sort((a, b) => a - b));
    // The MSI-X box relies on the MsiVectorProgrammed event, and prints its position.
    const programmed = r.trail[0]!.events[0]!;
    expect(programmed.type).toBe('MsiVectorProgrammed');
    expect(visibleText(cell(doc, 'upstream', 'msix'))).toContain(`#${programmed.position}`);
    // The hardware path's stage 2 relies on the VM's definition (hostItsBase).
    const stage2 = r.hardwarePath!.steps.find((s) => s.action.startsWith('stage 2'))!;
    expect(cell(doc, 'hardware', 'stage-2').getAttribute('data-events')).toBe(
      stage2.events.map((e) => e.position).join(' '),
    );
  });
});

describe('a live route (GET .../route.svg): no record id', () => {
  it('says it is the live route, and an MSI given by address and data has no vector', () => {
    const { id: _id, vector: _vector, ...live } = records.s10.upstream;
    const doc = draw(live);
    expect(visibleText(doc)).toContain(
      'resolved as upstream at version 8 · live route · MSI 0xfffff040 data 0x0 · SID 0x200',
    );
    expect(visibleText(cell(doc, 'upstream', 'msix'))).toContain('given: 0xfffff040 data 0x0');
  });
});

describe('S10, accel (R9): the bug and the fix side by side', () => {
  it('upstream: the route to 0x8090040 is delivered, nothing is outlined as a fault', () => {
    const doc = draw(records.s10.upstream, 's10-upstream.svg');
    expect(faults(doc)).toEqual([]);
    expect(stateOf(doc, 'upstream', 'kvm-route')).toBe('ok');
    expect(visibleText(cell(doc, 'upstream', 'kvm-route'))).toContain('0x8090040');
    // No walk: QEMU 11.0 takes msi-gpa directly (direct-gpa).
    expect(stateOf(doc, 'upstream', 'stage-1')).toBe('unused');
    expect(visibleText(cell(doc, 'upstream', 'address-space'))).toContain('direct-gpa');
    // The comparison has pre-fix routing the gIOVA: misrouted, named with both addresses.
    expect(stateOf(doc, 'pre-fix', 'kvm-route')).toBe('misrouted');
    expect(visibleText(cell(doc, 'pre-fix', 'kvm-route'))).toContain('0xfffff040');
    expect(stateOf(doc, 'pre-fix', 'stage-1')).toBe('not-in-record');
    expect(visibleText(doc)).toContain(
      'Without the MSI fix (pre-fix, never released) it is misrouted to 0xfffff040; upstream routes it to 0x8090040.',
    );
    // Hardware path: 0x8000040 -> the host ITS GITS_TRANSLATER 0x202110040.
    expect(visibleText(cell(doc, 'hardware', 'device'))).toContain('0x8000040');
    expect(visibleText(cell(doc, 'hardware', 'stage-2'))).toContain('0x202110040');
  });

  it('pre-fix: exactly one outlined fault, at the ITS (0xfffff040 is no vITS doorbell); the route after it is misrouted', () => {
    const doc = draw(records.s10['pre-fix'], 's10-pre-fix.svg');
    expect(faults(doc)).toHaveLength(1);
    expect(faults(doc)[0]!.getAttribute('data-column')).toBe('pre-fix');
    expect(faults(doc)[0]!.getAttribute('data-row')).toBe('its');
    expect(faults(doc)[0]!.getAttribute('class')).toBe('step fault');
    expect(stateOf(doc, 'pre-fix', 'kvm-route')).toBe('misrouted');
    expect(visibleText(doc)).toContain(
      'is lost under pre-fix: its route points at 0xfffff040, which is not a vITS doorbell',
    );
  });

  it('S11 pre-fix: nothing at the gIOVA, the address space step faults and every step after it is not reached', () => {
    const doc = draw(records.s11PreFix, 's11-pre-fix.svg');
    expect(faults(doc).map((f) => `${f.getAttribute('data-column')}/${f.getAttribute('data-row')}`)).toEqual([
      'pre-fix/address-space',
    ]);
    for (const row of ['stage-1', 'stage-2', 'its', 'kvm-route']) {
      expect(stateOf(doc, 'pre-fix', row), row).toBe('not-reached');
      expect(visibleText(cell(doc, 'pre-fix', row))).toContain('not reached');
    }
    expect(visibleText(doc)).toMatch(
      /Without the MSI fix \(pre-fix, never released\) it has no route at all \(unassigned\); upstream routes it to 0x8090040/,
    );
  });
});

describe('faults of the emulated walk', () => {
  it('S15 F_TRANSLATION: one outlined fault at stage 1 of the resolved column, the rest not reached, the lost MSI named', () => {
    const doc = draw(records.s15, 's15-f-translation.svg');
    expect(faults(doc).map((f) => `${f.getAttribute('data-column')}/${f.getAttribute('data-row')}`)).toEqual([
      'upstream/stage-1',
    ]);
    expect(visibleText(cell(doc, 'upstream', 'stage-1'))).toContain('F_TRANSLATION (0x10) at 0xffffe040');
    for (const row of ['stage-2', 'its', 'kvm-route']) expect(stateOf(doc, 'upstream', row), row).toBe('not-reached');
    // The steps before it were taken.
    for (const row of ['device', 'msix', 'address-space']) expect(stateOf(doc, 'upstream', row), row).toBe('ok');
    // Emulated SMMU: the other semantics have no route either (from the comparison), not outlined.
    expect(stateOf(doc, 'pre-fix', 'kvm-route')).toBe('no-route');
    expect(stateOf(doc, 'hardware', 'device')).toBe('unused');
    expect(visibleText(doc)).toContain(
      'The MSI of net0 vector 1 (data 0x1, devid 0x10) is lost under upstream: F_TRANSLATION at stage 1',
    );
  });

  it('S23 C_BAD_STREAMID: a configuration fault is outlined at the address space (STE lookup), not at a stage', () => {
    const doc = draw(records.s23, 's23-c-bad-streamid.svg');
    expect(faults(doc).map((f) => `${f.getAttribute('data-column')}/${f.getAttribute('data-row')}`)).toEqual([
      'upstream/address-space',
    ]);
    expect(stateOf(doc, 'upstream', 'stage-1')).toBe('not-reached');
  });

  it('accepts the §9.10 shape: fault.stage null, missingBeforeFix, delivered null, an unknown model field', () => {
    const s23 = records.s23;
    const newShape = {
      ...s23,
      fault: { ...s23.fault!, stage: null },
      comparison: { ...s23.comparison, missingBeforeFix: false },
      model: { qemu: '11.0.0' },
    } as ResolutionView;
    const doc = draw(newShape);
    expect(faults(doc)).toHaveLength(1);
    expect(faults(doc)[0]!.getAttribute('data-row')).toBe('address-space');

    const s10 = records.s10.upstream;
    const unknownDelivery = { ...s10, hardwarePath: { ...s10.hardwarePath!, delivered: null } } as ResolutionView;
    const unknownDoc = draw(unknownDelivery, 's10-delivery-unknown.svg');
    expect(faults(unknownDoc)).toEqual([]);
    expect(stateOf(unknownDoc, 'hardware', 'its')).toBe('unknown');
    expect(withAttribute(unknownDoc, 'data-verdict', 'hardware').map(visibleText)).toEqual([
      'unknown (no hostItsBase)',
    ]);
  });

  it('S2 delivered: no fault, a walk 0xfffff040 -> 0x8090040 at stage 1, the translation frame at the ITS', () => {
    const doc = draw(records.s2, 's2-delivered.svg');
    expect(faults(doc)).toEqual([]);
    expect(visibleText(cell(doc, 'upstream', 'stage-1'))).toContain('0xfffff040 -> 0x8090040');
    expect(visibleText(cell(doc, 'upstream', 'its'))).toContain('vITS translation frame +0x40');
    expect(withAttribute(doc, 'data-verdict', 'upstream').map(visibleText)).toEqual(['delivered to 0x8090040']);
  });
});

describe('S13, accel, vSTE abort (R11): the route exists, the hardware path is blocked', () => {
  it('outlines the blocked stage 1 of the hardware path, marks the ITS not reached, and says so', () => {
    const doc = draw(records.s13, 's13-hw-blocked.svg');
    expect(faults(doc).map((f) => `${f.getAttribute('data-column')}/${f.getAttribute('data-row')}`)).toEqual([
      'hardware/stage-1',
    ]);
    expect(stateOf(doc, 'hardware', 'its')).toBe('not-reached');
    expect(stateOf(doc, 'upstream', 'kvm-route')).toBe('ok');
    expect(withAttribute(doc, 'data-verdict', 'upstream').map(visibleText)).toEqual([
      'route installed, hardware path blocked',
    ]);
    expect(visibleText(doc)).toContain("On the hardware path the device's write 0x8000040 is blocked");
  });
});

describe('hostile text', () => {
  it('escapes ids, addresses and messages: they come out as text, never as markup', () => {
    const hostile = `<script>alert(1)</script>&"'`;
    const s15 = records.s15;
    const r = {
      ...s15,
      vm: hostile,
      device: `dev${hostile}`,
      diagnostics: [...s15.diagnostics, { code: hostile, severity: 'error', message: hostile }],
      trail: s15.trail.map((s) => ({ ...s, action: `${s.action} ${hostile}` })),
      fault: { ...s15.fault!, type: `F_${hostile}` },
    } as ResolutionView;
    const svg = resolutionPicture(r);
    expect(svg).not.toContain('<script');
    expect(svg).toContain('&lt;script&gt;alert(1)&lt;/script&gt;&amp;&quot;&#39;');
    const doc = expectWellFormedPicture(svg);
    expect(all(doc, 'script')).toEqual([]);
    // The text round-trips: a reader sees exactly what was stored.
    expect(doc.getElementsByTagName('title')[0]!.textContent).toContain(`in VM ${hostile}`);
    expect(visibleText(doc)).toContain(`F_${hostile}`);
  });
});
