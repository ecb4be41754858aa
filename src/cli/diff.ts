// doorbell diff VM [--from N] [--to M]: what changed in a VM between two versions (GET
// /v1/vms/{vm}/diff), one row per part added, removed or changed, then the vectors whose route
// changed. Exit 4 when a vector of a device that is still there lost its route.

import type { Client } from './client.js';
import { EXIT } from './exit-codes.js';
import { printJson, printTable } from './output.js';

type Route = { installed: true; address: string; devid: string } | { installed: false; cause: string };

interface Diff {
  vm: string;
  from: number;
  to: number;
  changes: {
    op: string;
    kind: string;
    id: string;
    before?: Record<string, unknown>;
    after?: Record<string, unknown>;
    events: number[];
  }[];
  routes: { device: string; vector: number; semantics: string; before: Route | null; after: Route | null }[];
  picture: string;
}

const show = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value));

function detail(change: Diff['changes'][number]): string {
  const side = change.op === 'remove' ? change.before : change.after;
  if (change.op !== 'change')
    return Object.entries(side ?? {})
      .filter(([, v]) => v !== null && v !== false)
      .map(([k, v]) => `${k}=${show(v)}`)
      .join(' ');
  return Object.keys(change.after ?? {})
    .map((k) => `${k} ${show(change.before?.[k])} -> ${show(change.after?.[k])}`)
    .join(', ');
}

const routeText = (route: Route | null) =>
  route === null ? '-' : route.installed ? `${route.address} devid ${route.devid}` : `none (${route.cause})`;

/** A vector of a device still there that had a route and has none now. */
export const lostRoute = (r: Diff['routes'][number]) => r.before?.installed === true && r.after?.installed === false;

export async function diffVm(
  client: Client,
  vm: string,
  options: { from?: number; to?: number; semantics?: string; json?: boolean },
): Promise<number> {
  const query = new URLSearchParams();
  if (options.from !== undefined) query.set('from', String(options.from));
  if (options.to !== undefined) query.set('to', String(options.to));
  if (options.semantics !== undefined) query.set('semantics', options.semantics);
  const suffix = query.size === 0 ? '' : `?${query}`;
  const diff = await client.json<Diff>('GET', `/v1/vms/${encodeURIComponent(vm)}/diff${suffix}`);
  if (options.json) printJson(diff);
  else {
    if (diff.changes.length > 0)
      printTable(
        ['change', 'part', 'what', 'events'],
        diff.changes.map((c) => [c.op, `${c.kind} ${c.id}`, detail(c), c.events.map((p) => `#${p}`).join(' ')]),
      );
    if (diff.routes.length > 0)
      printTable(
        ['vector', 'semantics', 'before', 'after', 'lost'],
        diff.routes.map((r) => [
          `${r.device}/${r.vector}`,
          r.semantics,
          routeText(r.before),
          routeText(r.after),
          lostRoute(r) ? 'yes' : 'no',
        ]),
      );
    process.stdout.write(
      `${diff.vm} from version ${diff.from} to ${diff.to}: ${diff.changes.length} part(s) changed, ` +
        `${diff.routes.length} route(s) changed, ${diff.routes.filter(lostRoute).length} lost; picture ${diff.picture}\n`,
    );
  }
  return diff.routes.some(lostRoute) ? EXIT.findings : EXIT.ok;
}
