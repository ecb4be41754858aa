// A fleet sweep's judgement of one VM (contract v1.2, "Fleet sweep"): its programmed vectors
// counted under its own QEMU behaviour and under the target build's, and the verdict that follows.

import type { QemuBehaviour } from '../qemu-build/rules.js';
import type { Resolution } from '../resolve/types.js';

export const FLEET_VERDICTS = [
  'ok',
  'loses-interrupts',
  'fixed-by-target',
  'broken-by-target',
  'unknown-build',
  'no-accel',
] as const;
export type FleetVerdict = (typeof FLEET_VERDICTS)[number];

export interface FleetCounts {
  vectors: number;
  routesInstalled: number;
  /** As a VM sweep counts it: no route, a route that misses the doorbell (INTERRUPTS_LOST), or a blocked hardware path. */
  interruptsLost: number;
  /** A route installed to another address than the upstream route's. */
  misrouted: number;
}

/** The interrupts of this vector never reach the guest. `delivered: null` (unknown host ITS) is not lost. */
export const losesInterrupts = (r: Resolution): boolean =>
  r.diagnostics.some((d) => d.code === 'INTERRUPTS_LOST') || r.hardwarePath?.delivered === false;

const misroutes = (r: Resolution): boolean => {
  const { route } = r;
  const upstream = r.comparison.upstream;
  return (
    route.installed &&
    upstream.installed &&
    (route.address !== upstream.address || route.data !== upstream.data || route.devid !== upstream.devid)
  );
};

export function fleetCountsOf(resolutions: readonly Resolution[]): FleetCounts {
  let routesInstalled = 0;
  let interruptsLost = 0;
  let misrouted = 0;
  for (const r of resolutions) {
    if (r.route.installed) routesInstalled++;
    if (losesInterrupts(r)) interruptsLost++;
    if (misroutes(r)) misrouted++;
  }
  return { vectors: resolutions.length, routesInstalled, interruptsLost, misrouted };
}

/**
 * no-accel when the behaviour is none; unknown-build when it is unknown; otherwise, with L the
 * interrupts lost under the VM's own behaviour and T under the target's: ok (0, 0),
 * fixed-by-target (L > 0, T = 0), broken-by-target (L = 0, T > 0), loses-interrupts (both > 0).
 */
export function fleetVerdictOf(behaviour: QemuBehaviour, lostOwn: number, lostUnderTarget: number): FleetVerdict {
  if (behaviour === 'none') return 'no-accel';
  if (behaviour === 'unknown') return 'unknown-build';
  if (lostOwn === 0) return lostUnderTarget === 0 ? 'ok' : 'broken-by-target';
  return lostUnderTarget === 0 ? 'fixed-by-target' : 'loses-interrupts';
}
