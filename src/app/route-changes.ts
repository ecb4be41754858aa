// The programmed vectors whose route differs between two states of a VM: what a re-import or a
// stretch of history did to the machine's interrupts. Each vector is resolved on both states (a
// device that is not there on one side has no route there: null) and listed when the routes differ.

import type { Route, Semantics } from '../domain/resolve/types.js';
import type { VmState } from '../domain/topology/types.js';
import { programmedVectors } from './resolve-msi.js';
import { resolveToJson } from './resolution-cache.js';

export interface RouteChange {
  device: string;
  vector: number;
  /** The semantics both sides were resolved under (the VM's declared build picks it unless asked). */
  semantics: Semantics;
  /** null: the device is not in the VM on that side (or the vector not programmed there). */
  before: Route | null;
  after: Route | null;
}

const bigintSafe = (value: unknown) =>
  JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v));

function routesOf(state: VmState | undefined, semantics: Semantics | undefined) {
  const routes = new Map<string, { route: Route; semantics: Semantics }>();
  if (state === undefined) return routes;
  for (const msi of programmedVectors(state)) {
    const { resolution } = resolveToJson(state, msi, semantics);
    routes.set(`${msi.deviceId}\u0000${msi.vector}`, { route: resolution.route, semantics: resolution.semantics });
  }
  return routes;
}

/**
 * The vectors whose route changed from `before` to `after`, devices by id, vectors by number.
 * Without `semantics`, each side under the one its declared build picks.
 */
export function routeChanges(
  before: VmState | undefined,
  after: VmState | undefined,
  semantics?: Semantics,
): RouteChange[] {
  const a = routesOf(before, semantics);
  const b = routesOf(after, semantics);
  const keys = [...new Set([...a.keys(), ...b.keys()])];
  const changes: RouteChange[] = [];
  for (const key of keys) {
    const [device, vector] = key.split('\u0000') as [string, string];
    const x = a.get(key);
    const y = b.get(key);
    if (x !== undefined && y !== undefined && bigintSafe(x.route) === bigintSafe(y.route)) continue;
    changes.push({
      device,
      vector: Number(vector),
      semantics: (y ?? x)!.semantics,
      before: x?.route ?? null,
      after: y?.route ?? null,
    });
  }
  return changes.sort((p, q) => p.device.localeCompare(q.device) || p.vector - q.vector);
}
