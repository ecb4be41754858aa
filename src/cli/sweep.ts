// doorbell sweep VM: every programmed vector resolved (POST .../msi-sweeps, every page), shown as
// one row per vector with the route each QEMU behaviour installs.

import type { Client } from './client.js';
import { EXIT } from './exit-codes.js';
import { printJson, printTable } from './output.js';

/** The KVM route as the OpenAPI document describes it: a union discriminated by `installed`. */
type Route = { installed: true; address: string } | { installed: false; cause: string };

interface SweepResult {
  device: string;
  vector?: number;
  input: { address: string; data: string };
  diagnostics: { code: string }[];
  comparison: { 'pre-fix': Route; 'address-space': Route; upstream: Route; misroutedBeforeFix: boolean };
}

interface SweepPage {
  id: string;
  vm: string;
  semantics: string;
  asOfVersion: number;
  counts: Record<string, number>;
  next: string | null;
  results: SweepResult[];
}

export const isLost = (r: SweepResult) => r.diagnostics.some((d) => d.code === 'INTERRUPTS_LOST');

const routeText = (route: Route) => (route.installed ? route.address : `none (${route.cause})`);

export async function sweepVm(
  client: Client,
  vm: string,
  options: { semantics?: string; asOf?: number; json?: boolean },
): Promise<number> {
  const body: Record<string, unknown> = {};
  if (options.semantics !== undefined) body.semantics = options.semantics;
  if (options.asOf !== undefined) body.asOf = options.asOf;
  const first = await client.json<SweepPage>('POST', `/v1/vms/${encodeURIComponent(vm)}/msi-sweeps`, body);
  const results = [...first.results];
  for (let next = first.next; next !== null; ) {
    const page = await client.json<SweepPage>('GET', next);
    results.push(...page.results);
    next = page.next;
  }

  if (options.json) printJson({ ...first, next: null, results });
  else {
    printTable(
      ['vector', 'address', 'pre-fix', 'address-space', 'upstream', 'misrouted', 'lost'],
      results.map((r) => [
        `${r.device}/${r.vector ?? '-'}`,
        r.input.address,
        routeText(r.comparison['pre-fix']),
        routeText(r.comparison['address-space']),
        routeText(r.comparison.upstream),
        r.comparison.misroutedBeforeFix ? 'yes' : 'no',
        isLost(r) ? 'yes' : 'no',
      ]),
    );
    const lost = results.filter(isLost).length;
    process.stdout.write(
      `sweep ${first.id}: ${vm} at version ${first.asOfVersion}, ${first.semantics}: ` +
        `${results.length} vectors, ${lost} losing interrupts\n`,
    );
    if (results.length === 0) process.stdout.write(`${await nothingToSweep(client, vm)}\n`);
  }
  return results.some(isLost) ? EXIT.findings : EXIT.ok;
}

interface GuestView {
  profile: string;
  devices: { device: string; vectors: number; applies: boolean; notes: string[] }[];
}

/** Why a VM has no vector to sweep, in the words of the fleet sweep's reason (issue 19). */
async function nothingToSweep(client: Client, vm: string): Promise<string> {
  const { guest } = await client.json<{ guest: GuestView | null }>('GET', `/v1/vms/${encodeURIComponent(vm)}`);
  if (guest === null)
    return `nothing was judged: ${vm} has no programmed vectors and no guest profile to imply them (doorbell import --guest-profile, or PUT /v1/vms/${vm}/guest)`;
  // Each device's note on its vector count (or why the profile does not apply).
  const why = guest.devices.map((d) => d.notes.find((n) => /^(vectors-|gicv2m)/.test(n)) ?? `${d.device}: no note`);
  return `nothing was judged: the guest profile ${guest.profile} implies no vectors here (${why.join('; ')})`;
}
