// The README's second form of the first session ("The same question for a VM you already run"),
// run as written: every `npx doorbell` line of its shell block, through dist/cli.js, against a
// fresh service. Each row of the sweeps is derived by hand below, from the rules of linux-dma
// (docs/domain/guest-profiles.md) and the QEMU behaviours (domain reference §9.1, S10).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliRun, listenForCli, runCli } from '../helpers/cli';
import { CORPUS_DIR, describeWithCorpus } from '../helpers/corpus';
import { startTestApp, type TestApp } from '../helpers/test-app';

const ROOT = join(import.meta.dirname, '..', '..');
const SECTION = '### The same question for a VM you already run';

/** The block's `npx doorbell` commands, continuations joined and comments dropped, as argument lists. */
function readmeCommands(): string[][] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const block = readme.split(SECTION)[1]?.split('```sh')[1]?.split('```')[0];
  if (block === undefined) throw new Error(`README.md has no shell block under "${SECTION}"`);
  return block
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((line) => line.replace(/\s+#.*$/, '').trim())
    .filter((line) => line.startsWith('npx doorbell '))
    .map((line) => line.slice('npx doorbell '.length).split(/\s+/));
}

/** The cells of each table row (cli-table3 draws │ between them). */
const rows = (stdout: string) =>
  stdout
    .split('\n')
    .filter((line) => line.includes('│'))
    .map((line) =>
      line
        .split('│')
        .map((c) => c.trim())
        .filter(Boolean),
    );

let t: TestApp;
let env: Record<string, string>;
const runs: { args: string[]; run: CliRun }[] = [];
beforeAll(async () => {
  t = await startTestApp();
  env = await listenForCli(t);
  for (const args of readmeCommands()) runs.push({ args, run: await runCli(args, env) });
}, 120_000);
afterAll(() => t.close());

const runOf = (first: string, ...more: string[]) => {
  const found = runs.find(({ args }) => args[0] === first && more.every((m) => args.includes(m)));
  if (found === undefined) throw new Error(`the README runs no "doorbell ${first} ${more.join(' ')}"`);
  return found.run;
};

describe("the README's second session, as written", () => {
  it('has the five commands: two imports, two sweeps, a fleet sweep', () => {
    expect(runs.map(({ args }) => args[0])).toEqual(['import', 'sweep', 'sweep', 'import', 'fleet-sweep']);
    expect(runs.filter(({ args }) => args[0] === 'import').map(({ run }) => [run.code, run.stderr])).toEqual([
      [0, ''],
      [0, ''],
    ]);
  });

  it('imports lab1 with 11.0.0 and linux-dma; lab0 gets the line naming the binary to probe', () => {
    const lab1 = runOf('import', 'lab1').stdout;
    // The summary row: created, QEMU 11.0.0 is upstream (Q5), the profile declared.
    expect(rows(lab1)[1]).toEqual(expect.arrayContaining(['lab1', 'created', '11.0.0 (upstream)', 'linux-dma']));
    expect(runOf('import', 'lab0').stdout).toContain(
      'lab0: no QEMU build declared; the source names qemu-system-aarch64: doorbell probe-qemu qemu-system-aarch64 --vm lab0',
    );
  });

  it('sweep lab1 (upstream, the declared build): five vectors, routed to the doorbell, none lost', () => {
    const run = runOf('sweep', 'lab1');
    expect(run.code).toBe(0);
    // Vectors: dev0 3 and dev1 2, as --guest-vectors declares (a vfio-pci's MSI-X table size is on
    // the host: vectorCount, rule vectors-vfio); data = event ids 0..n-1 (its_alloc_device_irq).
    // Address: linux-dma gives each device a DMA domain (arm_smmu_make_cdtable_ste: STE s1, 4K);
    // iommu_dma_get_msi_page maps the doorbell page 0x08090000 at the top 4 KiB page below 4 GiB,
    // 0x1_0000_0000 - 0x1000 = 0xFFFFF000; its_irq_compose_msi_msg adds GITS_TRANSLATER's 0x40:
    // 0xfffff040. pre-fix took that as a gPA and routed 0xfffff040; address-space walks the implied
    // stage 1 (0xFFFFF000 -> 0x08090000) to 0x8090040; upstream (get_msi_direct_gpa) routes the
    // vITS doorbell 0x8090040 whatever the IOVA. pre-fix != upstream: misrouted yes. Lost: no.
    const row = (v: string) => [v, '0xfffff040', '0xfffff040', '0x8090040', '0x8090040', 'yes', 'no'];
    expect(rows(run.stdout).slice(1)).toEqual([
      row('dev0/0'),
      row('dev0/1'),
      row('dev0/2'),
      row('dev1/0'),
      row('dev1/1'),
    ]);
    expect(run.stdout).toContain('5 vectors, 0 losing interrupts');
  });

  it('sweep lab1 --semantics pre-fix: 0xfffff040 is guest RAM (-m 16G), so all five lose their interrupts (exit 4)', () => {
    const run = runOf('sweep', 'lab1', 'pre-fix');
    // RAM spans 0x40000000 .. 0x43FFFFFFF (16 GiB): 0xfffff040 is RAM, not the ITS; the route is
    // installed there and KVM finds no ITS behind it (vgic_msi_to_its): lost, every vector.
    expect(run.code).toBe(4);
    expect(
      rows(run.stdout)
        .slice(1)
        .map((r) => [r[0], r.at(-1)]),
    ).toEqual([
      ['dev0/0', 'yes'],
      ['dev0/1', 'yes'],
      ['dev0/2', 'yes'],
      ['dev1/0', 'yes'],
      ['dev1/1', 'yes'],
    ]);
    expect(run.stdout).toContain('5 vectors, 5 losing interrupts');
  });

  it('fleet-sweep: lab1 ok on 5 assumed vectors; lab0 unknown-build with nothing judged, and why', () => {
    const run = runOf('fleet-sweep');
    expect(run.code).toBe(0);
    // lab0: nothing declared (Q8, unknown) and no profile: no vector to judge. lab1: 11.0.0 is the
    // target's behaviour too (upstream), L = T = 0 over its 5 vectors -> ok.
    expect(rows(run.stdout).slice(1)).toEqual([
      ['lab0', 'none declared (unknown)', 'unknown-build, nothing judged', '0', '0', '0'],
      ['lab1', '11.0.0 (upstream)', 'ok', '5 (5 assumed)', '0', '0'],
    ]);
    expect(run.stdout).toContain(
      'lab0: no QEMU build declared, so its MSI behaviour is unknown and the counts are made as upstream routes them;',
    );
    expect(run.stdout).toContain('no programmed vectors and no guest profile to imply them: nothing was judged');
    expect(run.stdout).toContain(
      'lab1: 5 vectors (5 assumed from linux-dma): none loses its interrupts under upstream, its own behaviour and the target',
    );
    expect(run.stdout).toContain('2 VMs, 5 vectors, 1 with nothing to judge');
  });
});

describeWithCorpus("the cover letter's own line (../shared/corpus)", () => {
  it('qemu-devel-smmuv3-accel-v7-grace.args sweeps to the same five rows as the README fixture', async () => {
    // The fixture is this line's topology without its NUMA, memory-backend and generic-initiator
    // options: pcie.1 (bus_nr 1) -> pcie.port1 (bus 2) -> dev0 at 02:00.0; pcie.2 (bus_nr 8) ->
    // pcie.port2 (bus 9) -> dev1; -m size=16G. So the same devices, the same RAM, the same rows.
    const line = join(CORPUS_DIR, 'qemu', 'qemu-devel-smmuv3-accel-v7-grace.args');
    const declared = ['--qemu-version', '11.0.0', '--guest-profile', 'linux-dma', '--guest-vectors', 'dev0=3,dev1=2'];
    const imported = await runCli(['import', line, '--vm', 'grace', ...declared], env);
    expect([imported.code, imported.stderr]).toEqual([0, '']);
    const own = await runCli(['sweep', 'grace'], env);
    const fixture = runOf('sweep', 'lab1');
    expect(rows(own.stdout)).toEqual(rows(fixture.stdout));
  });
});
