// A fleet sweep's VMs grouped by QEMU build, and within a build by verdict: the rows and bar
// segments of the fleet chart.

import {
  VERDICTS,
  type FleetResultView,
  type FleetSweepView,
  nothingJudged,
  type QemuBuildView,
} from './fleet-view.js';

export interface VerdictSegment {
  readonly verdict: string;
  /** The VMs of this verdict that had no vector to judge (drawn pale, apart from those judged). */
  readonly nothingJudged: boolean;
  readonly vms: readonly string[];
  /** The reason of the first VM, for the tooltip. */
  readonly reason?: string;
}

export interface BuildRow {
  /** Stable key of the build: version and package. */
  readonly key: string;
  readonly label: string;
  readonly behaviour: string;
  readonly rule: string | undefined;
  readonly segments: readonly VerdictSegment[];
  readonly vms: number;
  readonly vectors: number;
  readonly interruptsLost: number;
  /** VMs with no vector to judge. */
  readonly withoutVectors: number;
}

/** Verdicts in chart order (worst first), then any the contract does not list yet. */
export function verdictOrder(results: readonly FleetResultView[]): string[] {
  const extra = [...new Set(results.map((r) => r.verdict))]
    .filter((v) => !(VERDICTS as readonly string[]).includes(v))
    .sort();
  return [...VERDICTS, ...extra];
}

export function buildLabel(qemu: QemuBuildView | null | undefined): string {
  const version = qemu?.version ?? null;
  const pkg = qemu?.package ?? null;
  if (version === null && pkg === null) return 'no build declared';
  return [version ?? 'version unknown', pkg].filter((p) => p !== null).join(' ');
}

const compareVersionsDescending = (a: string | null | undefined, b: string | null | undefined) => {
  if (!a || !b) return a ? -1 : b ? 1 : 0;
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pb[i] ?? 0) - (pa[i] ?? 0);
  return 0;
};

/** One row per build, newest version first; segments in verdict order, empty ones left out. */
export function buildRows(sweep: FleetSweepView): BuildRow[] {
  const order = verdictOrder(sweep.results);
  const byBuild = new Map<string, FleetResultView[]>();
  for (const result of sweep.results) {
    const key = JSON.stringify([result.qemu?.version ?? null, result.qemu?.package ?? null]);
    byBuild.set(key, [...(byBuild.get(key) ?? []), result]);
  }
  return [...byBuild.entries()]
    .map(([key, results]): BuildRow => {
      const first = results[0]!;
      return {
        key,
        label: buildLabel(first.qemu),
        behaviour: first.behaviour,
        rule: first.qemu?.rule,
        segments: order
          .flatMap((verdict) =>
            [false, true].map((empty): VerdictSegment => {
              const these = results.filter((r) => r.verdict === verdict && nothingJudged(r) === empty);
              return { verdict, nothingJudged: empty, vms: these.map((r) => r.vm), reason: these[0]?.reason };
            }),
          )
          .filter((s) => s.vms.length > 0),
        vms: results.length,
        vectors: results.reduce((n, r) => n + (r.counts?.vectors ?? 0), 0),
        interruptsLost: results.reduce((n, r) => n + (r.counts?.interruptsLost ?? 0), 0),
        withoutVectors: results.filter(nothingJudged).length,
      };
    })
    .sort(
      (a, b) => compareVersionsDescending(JSON.parse(a.key)[0], JSON.parse(b.key)[0]) || a.label.localeCompare(b.label),
    );
}
