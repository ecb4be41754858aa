// A fleet sweep of an imported lab (issue 19, "the fleet view answers"): the accel command line
// imported three times, with the build and linux-dma, with the build only, and with nothing. The
// verdicts stay the contract's; reason and vectorsFrom say what each rests on, and the chart
// draws the VMs with nothing to judge apart. Values derived in the comments.

import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../helpers/test-app';
import { expectWellFormedPicture, withAttribute } from '../../pictures/svg-inspect';

const LAB = readFileSync(new URL('../../fixtures/import/two-accel-smmus.cmdline', import.meta.url), 'utf8');

let t: TestApp;
// biome-ignore lint/suspicious/noExplicitAny: response bodies, read field by field as a client would
type Json = Record<string, any>;
let sweep: Json;

beforeAll(async () => {
  t = await startTestApp();
  const imports: Json[] = [
    { vm: 'lab-dma', qemu: { version: '11.0.0' }, guest: { profile: 'linux-dma', vectors: { dev0: 3, dev1: 2 } } },
    { vm: 'lab-built', qemu: { version: '11.0.0' } },
    { vm: 'lab-bare' },
  ];
  for (const body of imports)
    await t.http
      .post('/v1/vm-imports')
      .send({ format: 'qemu-cmdline', source: LAB, ...body })
      .expect(201);
  sweep = (await t.http.post('/v1/fleet-sweeps').send({}).expect(201)).body;
});
afterAll(async () => t.close());

const entry = (vm: string) => (sweep.results as Json[]).find((r) => r.vm === vm)!;

describe('a fleet sweep of an imported lab', () => {
  it('lab-dma: 5 vectors assumed from linux-dma, none lost under upstream (its own and the target): ok', () => {
    // dev0 3 + dev1 2 declared; 0xFFFFF040 each; upstream (get_msi_direct_gpa) routes 0x08090040.
    expect(entry('lab-dma')).toMatchObject({
      verdict: 'ok',
      counts: { vectors: 5, interruptsLost: 0 },
      vectorsFrom: { recorded: 0, assumed: 5, profile: 'linux-dma' },
      reason:
        "5 vectors (5 assumed from linux-dma): none loses its interrupts under upstream, its own behaviour and the target's",
    });
  });

  it('lab-built: the build known, no profile: ok by the rule, but nothing judged, and the reason says so', () => {
    expect(entry('lab-built')).toMatchObject({ verdict: 'ok', counts: { vectors: 0 } });
    expect(entry('lab-built').reason).toMatch(
      /^no programmed vectors and no guest profile to imply them: nothing was judged/,
    );
  });

  it('lab-bare: unknown-build (Q8, nothing declared) with nothing judged, both said', () => {
    expect(entry('lab-bare')).toMatchObject({ verdict: 'unknown-build', behaviour: 'unknown' });
    expect(entry('lab-bare').reason).toMatch(
      /^no QEMU build declared, so its MSI behaviour is unknown .*; no programmed vectors and no guest profile/,
    );
  });

  it('totals count the VMs without vectors and where the vectors came from', () => {
    expect(sweep.totals).toMatchObject({
      vms: 3,
      vectors: 5,
      byVerdict: { ok: 2, 'unknown-build': 1 },
      vmsWithoutVectors: 2,
      vectorsFrom: { recorded: 0, assumed: 5 },
    });
  });

  it('the chart draws lab-built and lab-bare as nothing judged, apart from lab-dma', async () => {
    const svg = await t.http.get(new URL(sweep.picture).pathname).buffer(true).expect(200);
    const doc = expectWellFormedPicture(svg.body.toString());
    const drawn = withAttribute(doc, 'data-verdict').map((s) => [
      s.getAttribute('data-verdict'),
      s.getAttribute('data-count'),
      s.getAttribute('data-nothing-judged'),
    ]);
    // 11.0.0: lab-dma judged ok, lab-built ok over nothing; no build: lab-bare unknown over nothing.
    expect(drawn).toEqual([
      ['ok', '1', null],
      ['ok', '1', 'true'],
      ['unknown-build', '1', 'true'],
    ]);
  });
});
