// A fleet sweep as POST/GET /v1/fleet-sweeps returns it (contract v1.2, "Fleet sweep"), read
// leniently: only what the chart needs; `results` may be one page of the sweep.

export const VERDICTS = [
  'loses-interrupts',
  'broken-by-target',
  'fixed-by-target',
  'ok',
  'unknown-build',
  'no-accel',
] as const;
export type Verdict = (typeof VERDICTS)[number];

export interface QemuBuildView {
  readonly version?: string | null;
  readonly package?: string | null;
  readonly behaviour?: string;
  readonly rule?: string;
}

export interface FleetCountsView {
  readonly vectors: number;
  readonly routesInstalled?: number;
  readonly interruptsLost: number;
  readonly misrouted?: number;
}

export interface FleetResultView {
  readonly vm: string;
  readonly version?: number;
  readonly qemu: QemuBuildView | null;
  readonly behaviour: string;
  readonly counts?: FleetCountsView;
  readonly countsUnderTarget?: FleetCountsView;
  /** One of VERDICTS; another string (a verdict added later) is drawn as it is. */
  readonly verdict: string;
  /** What the verdict rests on (absent in sweeps recorded before issue 19). */
  readonly reason?: string;
  readonly vectorsFrom?: { readonly recorded: number; readonly assumed: number; readonly profile: string | null };
}

/** A VM with no vector to judge: its verdict says nothing of its interrupts, and the chart draws it apart. */
export const nothingJudged = (r: FleetResultView) => r.counts !== undefined && r.counts.vectors === 0;

export interface FleetSweepView {
  readonly id?: string;
  readonly target?: QemuBuildView | null;
  readonly createdAt?: string;
  readonly totals?: {
    readonly vms: number;
    readonly vectors: number;
    readonly byBehaviour?: Readonly<Record<string, number>>;
    readonly byVerdict?: Readonly<Record<string, number>>;
    readonly vmsWithoutVectors?: number;
  };
  readonly results: readonly FleetResultView[];
}
