// doorbell fleet-sweep: every VM (or those named) judged against a target build (POST
// /v1/fleet-sweeps, every page), one row per VM: its build, verdict, the vectors judged and where
// they came from, the interrupts lost under its own behaviour and the target's; then each VM's
// reason, so that an unknown build or a VM with nothing to judge reads as what it is.

import type { Client } from './client.js';
import { EXIT } from './exit-codes.js';
import { printJson, printTable } from './output.js';

interface Counts {
  vectors: number;
  interruptsLost: number;
}

interface FleetResult {
  vm: string;
  qemu: { version: string | null; package: string | null };
  behaviour: string;
  verdict: string;
  counts: Counts;
  countsUnderTarget: Counts;
  reason?: string;
  vectorsFrom?: { recorded: number; assumed: number; profile: string | null };
}

interface FleetPage {
  id: string;
  target: { version: string | null; package: string | null; behaviour: string };
  totals: { vms: number; vectors: number; byVerdict: Record<string, number>; vmsWithoutVectors?: number };
  next: string | null;
  results: FleetResult[];
}

const buildText = (q: { version: string | null; package: string | null }, behaviour: string) =>
  `${[q.version ?? (q.package === null ? 'none declared' : ''), q.package].filter(Boolean).join(' ')} (${behaviour})`;

const vectorsText = (r: FleetResult) => {
  const from = r.vectorsFrom;
  if (from === undefined || r.counts.vectors === 0) return String(r.counts.vectors);
  const parts = [from.recorded > 0 && `${from.recorded} recorded`, from.assumed > 0 && `${from.assumed} assumed`];
  return `${r.counts.vectors} (${parts.filter(Boolean).join(', ')})`;
};

/** The verdict as a person should read it: an `ok` over no vector judged nothing. */
const verdictText = (r: FleetResult) => (r.counts.vectors === 0 ? `${r.verdict}, nothing judged` : r.verdict);

export async function fleetSweep(
  client: Client,
  options: { targetVersion?: string; vm?: string[]; json?: boolean },
): Promise<number> {
  const body: Record<string, unknown> = {};
  if (options.targetVersion !== undefined) body.target = { version: options.targetVersion };
  if (options.vm !== undefined) body.vm = options.vm;
  const first = await client.json<FleetPage>('POST', '/v1/fleet-sweeps', body);
  const results = [...first.results];
  for (let next = first.next; next !== null; ) {
    const page = await client.json<FleetPage>('GET', next);
    results.push(...page.results);
    next = page.next;
  }
  if (options.json) printJson({ ...first, next: null, results });
  else {
    printTable(
      ['vm', 'qemu', 'verdict', 'vectors', 'lost (own)', 'lost (target)'],
      results.map((r) => [
        r.vm,
        buildText(r.qemu, r.behaviour),
        verdictText(r),
        vectorsText(r),
        r.counts.interruptsLost,
        r.countsUnderTarget.interruptsLost,
      ]),
    );
    for (const r of results) if (r.reason !== undefined) process.stdout.write(`${r.vm}: ${r.reason}\n`);
    const empty = first.totals.vmsWithoutVectors ?? results.filter((r) => r.counts.vectors === 0).length;
    process.stdout.write(
      `fleet sweep ${first.id}: ${first.totals.vms} VMs, ${first.totals.vectors} vectors, ${empty} with nothing to judge; ` +
        `target ${buildText(first.target, first.target.behaviour)}\n`,
    );
  }
  return results.some((r) => r.counts.interruptsLost > 0) ? EXIT.findings : EXIT.ok;
}
