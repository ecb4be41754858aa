// doorbell sync --libvirt URI: keeps the VMs of the service equal to the aarch64 virt domains of a
// libvirt connection. Each domain is its VM (id: vmIdOfDomain of its name). A new domain is
// imported (POST /v1/vm-imports), a known one re-imported (POST /v1/vms/{vm}/imports, which
// answers `changes: []` and appends nothing when nothing changed), and a VM whose domain is gone
// is kept or decommissioned (DELETE /v1/vms/{vm}) by --orphans.
//
// Every write is one request, and every request is one atomic append on the service: a sync
// stopped half-way (an error, a signal, a lost connection) leaves each VM wholly at its old
// version or wholly at its new one, and the next sync carries on from there.
//
// Which VMs a sync owns: every write carries `X-Reason: doorbell sync --libvirt URI: domain NAME`,
// kept in the events' metadata. The VMs whose VmDefined carries that reason for this URI are the
// ones this sync created; only those are re-imported or treated as orphans. A VM of the same id
// made another way (by `doorbell import`, by hand) is never touched: its domain is refused.

import { SingleBar } from 'cli-progress';
import { GUEST_PROFILE_IDS } from '../domain/guest/profiles.js';
import { CommandListError, decideAll } from '../domain/topology/decide-all.js';
import { ERROR_CATALOGUE } from '../errors/catalogue.js';
import type { Command } from '../domain/topology/types.js';
import { planImport } from '../interchange/draft.js';
import { parseLibvirtXml } from '../interchange/libvirt-xml/parse.js';
import { describeAt } from '../interchange/report.js';
import { type Client, HttpError } from './client.js';
import { CliError, EXIT, type ExitCode } from './exit-codes.js';
import { printTable } from './output.js';
import { type ProbedDeclaration, probeDeclaration } from './probe-qemu.js';
import { type DomainFacts, domainFacts, dumpXmlAll, listDomains, skipReason, vmIdOfDomain } from './virsh.js';

export const ORPHAN_POLICIES = ['keep', 'decommission'] as const;
export type OrphanPolicy = (typeof ORPHAN_POLICIES)[number];
export { GUEST_PROFILE_IDS };

export interface SyncOptions {
  libvirt: string;
  orphans: OrphanPolicy;
  dryRun?: boolean;
  /** Seconds between passes; without it, one pass. */
  interval?: number;
  match?: string;
  guestProfile?: string;
  probeQemu?: boolean;
  /** Seconds each probe run may take. */
  probeTimeout?: number;
  concurrency: number;
  json?: boolean;
  signal?: AbortSignal;
}

export type SyncAction = 'new' | 'changed' | 'unchanged' | 'orphaned' | 'skipped' | 'refused';

/** One line of the table (and one item of --json). */
export interface SyncRow {
  domain: string;
  vm: string | null;
  action: SyncAction;
  /** What changed, one entry per change (`+device dev2`, `-bus pcie.port3`, `~smmu smmuv3.0`). */
  changes: string[];
  /** Vectors whose route changed, and how many of them lose their interrupts. */
  routesChanged: number;
  losesInterrupts: number;
  /** Events this pass appended for the domain (0 in a dry run). */
  eventsAppended: number;
  /** Why skipped or refused, what happened to an orphan, what the probe said. */
  note: string;
}

/** A change as the re-import (and the diff) answer it. */
interface Change {
  op: 'add' | 'remove' | 'change';
  kind: string;
  id: string;
}

/** A route as answered: installed with an address, or not with a cause. */
interface Route {
  installed?: boolean;
}

interface ReimportAnswer {
  changes: Change[];
  routes: { device: string; vector: number; before: Route | null; after: Route | null }[];
  events: unknown[];
}

const SIGN: Record<Change['op'], string> = { add: '+', remove: '-', change: '~' };

/** The reason every write of this sync carries, and how a later pass finds its VMs again. */
const reasonPrefix = (uri: string) => `doorbell sync --libvirt ${uri}: domain `;

export async function syncLibvirt(client: Client, options: SyncOptions): Promise<number> {
  if (options.guestProfile !== undefined && !(GUEST_PROFILE_IDS as readonly string[]).includes(options.guestProfile))
    throw new CliError(EXIT.usage, `--guest-profile must be one of ${GUEST_PROFILE_IDS.join(', ')}`);
  let match: RegExp | undefined;
  try {
    match = options.match === undefined ? undefined : new RegExp(options.match);
  } catch (error) {
    throw new CliError(EXIT.usage, `--match: ${(error as Error).message}`);
  }
  let code: number = EXIT.ok;
  for (let pass = 1; ; pass++) {
    try {
      const rows = await syncOnce(client, options, match);
      code = exitCodeOf(rows);
      print(rows, options, pass);
    } catch (error) {
      // A sync on a schedule outlives a restart of the service or a refused listing: it says so
      // and tries again at the next pass. Wrong usage (virsh missing, a bad URI) still stops it.
      if (options.interval === undefined || !(error instanceof CliError) || error.exitCode === EXIT.usage) throw error;
      code = error.exitCode;
      process.stderr.write(`doorbell: pass ${pass}: ${error.message}; again in ${options.interval} s\n`);
    }
    if (options.interval === undefined || options.signal?.aborted) return code;
    if (!(await sleep(options.interval * 1000, options.signal))) return code;
  }
}

/** 4 when a change makes a vector lose its interrupts (the finding wins: it is why one syncs), else 1 when a domain was refused. */
function exitCodeOf(rows: SyncRow[]): ExitCode {
  if (rows.some((r) => r.losesInterrupts > 0)) return EXIT.findings;
  if (rows.some((r) => r.action === 'refused')) return EXIT.refused;
  return EXIT.ok;
}

/** Waits, or stops waiting at the signal; answers false when stopped. */
function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', stop);
      resolve(true);
    }, ms);
    const stop = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal?.addEventListener('abort', stop, { once: true });
  });
}

interface OwnedVm {
  vm: string;
  domain: string;
  version: number;
}

/** The service's active VMs with their versions, and which of them this URI's syncs created (by domain). */
async function vmsOfService(client: Client, uri: string) {
  const versions = new Map<string, number>();
  for (let path: string | null = '/v1/vms?status=active&limit=1000'; path !== null; ) {
    const page: { next: string | null; results: { id: string; version: number }[] } = await client.json('GET', path);
    for (const vm of page.results) versions.set(vm.id, vm.version);
    path = page.next;
  }
  const prefix = reasonPrefix(uri);
  const owned = new Map<string, OwnedVm>();
  for (let path: string | null = '/v1/events?type=VmDefined&limit=1000'; path !== null; ) {
    const page: { next: string | null; results: { streamId: string; metadata: { reason?: string } }[] } =
      await client.json('GET', path);
    for (const event of page.results) {
      const reason = event.metadata.reason;
      const version = versions.get(event.streamId);
      if (reason?.startsWith(prefix) && version !== undefined)
        owned.set(event.streamId, { vm: event.streamId, domain: reason.slice(prefix.length), version });
    }
    path = page.results.length === 0 ? null : page.next;
  }
  return { versions, owned };
}

async function syncOnce(client: Client, options: SyncOptions, match: RegExp | undefined): Promise<SyncRow[]> {
  const uri = options.libvirt;
  const names = (await listDomains(uri)).filter((name) => match === undefined || match.test(name));
  const [service, xmls] = await Promise.all([vmsOfService(client, uri), dumpXmlAll(uri, names)]);
  const probes = new Map<string, Promise<ProbedDeclaration | string>>();
  const claimed = new Map<string, string>();

  const bar = progressBar(names.length, options.json === true);
  const rows: SyncRow[] = new Array(names.length);
  const jobs = names.map((name, index) => ({ name, index }));
  const worker = async () => {
    for (let job = jobs.shift(); job !== undefined; job = jobs.shift()) {
      const xml = xmls.get(job.name) ?? new Error('virsh answered nothing for it');
      rows[job.index] = await syncDomain(client, options, job.name, xml, { service, probes, claimed });
      bar?.increment(1, { domain: job.name });
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency, names.length) }, worker));
  bar?.stop();

  const present = new Set(names);
  for (const owned of service.owned.values()) {
    if (present.has(owned.domain) || (match !== undefined && !match.test(owned.domain))) continue;
    rows.push(await orphan(client, options, owned));
  }
  return rows;
}

const row = (domain: string, vm: string | null, action: SyncAction, note = ''): SyncRow => ({
  domain,
  vm,
  action,
  changes: [],
  routesChanged: 0,
  losesInterrupts: 0,
  eventsAppended: 0,
  note,
});

interface PassState {
  service: Awaited<ReturnType<typeof vmsOfService>>;
  /** One probe per distinct <emulator> path: the declaration, or why there is none. */
  probes: Map<string, Promise<ProbedDeclaration | string>>;
  /** VM id -> the domain that took it in this pass (two names can make one id). */
  claimed: Map<string, string>;
}

async function syncDomain(
  client: Client,
  options: SyncOptions,
  name: string,
  xml: string | Error,
  pass: PassState,
): Promise<SyncRow> {
  if (xml instanceof Error) return row(name, null, 'refused', `virsh dumpxml: ${xml.message}`);
  let facts: DomainFacts;
  try {
    facts = domainFacts(name, xml);
  } catch (error) {
    return row(name, null, 'refused', `the XML virsh gave: ${(error as Error).message}`);
  }
  const skipped = skipReason(facts);
  if (skipped !== null) return row(name, null, 'skipped', skipped);
  const vm = vmIdOfDomain(name);
  const other = pass.claimed.get(vm);
  if (other !== undefined) return row(name, vm, 'refused', `VM id ${vm} is already domain ${other}'s; rename one`);
  pass.claimed.set(vm, name);

  const owned = pass.service.owned.get(vm);
  if (owned !== undefined && owned.domain !== name)
    return row(name, vm, 'refused', `VM ${vm} belongs to domain ${owned.domain} of this connection; rename one`);
  if (owned === undefined && pass.service.versions.has(vm))
    return row(name, vm, 'refused', `VM ${vm} exists and was not brought in by a sync of ${options.libvirt}`);
  try {
    return owned === undefined
      ? await importNew(client, options, name, vm, xml, facts, pass)
      : await reimport(client, options, name, owned, xml);
  } catch (error) {
    if (error instanceof HttpError) return row(name, vm, 'refused', refusal(error));
    throw error;
  }
}

/** The service's answer in a line: status, code and detail (the detail names the part of the source). */
const refusal = ({ problem }: HttpError) =>
  `${problem.status} ${problem.code ?? problem.title ?? ''}: ${problem.detail ?? ''}`.trim();

const headersFor = (options: SyncOptions, domain: string) => ({
  'x-reason': `${reasonPrefix(options.libvirt)}${domain}`,
});

async function importNew(
  client: Client,
  options: SyncOptions,
  name: string,
  vm: string,
  source: string,
  facts: DomainFacts,
  pass: PassState,
): Promise<SyncRow> {
  const notes: string[] = [];
  let qemu: ProbedDeclaration | undefined;
  if (options.probeQemu) {
    const probed = await probeOnce(options, facts.emulator, pass.probes);
    if (typeof probed === 'string') notes.push(`build not declared: ${probed}`);
    else {
      qemu = probed;
      notes.push(`build probed from ${facts.emulator}`);
    }
  }
  const guest = options.guestProfile === undefined ? undefined : { profile: options.guestProfile };
  if (options.dryRun) {
    const planned = planLocally(vm, source, qemu, guest);
    if (typeof planned === 'string') return row(name, vm, 'refused', planned);
    return { ...row(name, vm, 'new', notes.join('; ')), changes: [`${planned} events`] };
  }
  const body = { vm, format: 'libvirt-xml', source, ...(qemu && { qemu }), ...(guest && { guest }) };
  const response = await client.send('POST', '/v1/vm-imports', { body, headers: headersFor(options, name) });
  const answer = (await response.json()) as { events?: unknown[] };
  const events = answer.events?.length ?? 0;
  return { ...row(name, vm, 'new', notes.join('; ')), changes: [`${events} events`], eventsAppended: events };
}

/**
 * The dry run of a new domain: POST /v1/vm-imports has no dry run, so the plan is made here with
 * the service's own code (the same parser, plan and domain rules, on an empty VM): the number of
 * events the import would append, or why the service would refuse it.
 */
function planLocally(vm: string, source: string, qemu: unknown, guest: unknown): number | string {
  let plan: ReturnType<typeof planImport> | undefined;
  try {
    plan = planImport(vm, parseLibvirtXml(source));
    const [first, ...rest] = plan.commands;
    const commands =
      first?.type === 'DefineVm'
        ? [{ ...first, ...(qemu !== undefined && { qemu }), ...(guest !== undefined && { guest }) } as Command, ...rest]
        : plan.commands;
    return decideAll(commands, undefined).length;
  } catch (error) {
    // Worded as the service words the refusal: status, code, and the part of the source.
    const code = (error as { code?: string }).code as keyof typeof ERROR_CATALOGUE | undefined;
    if (code === undefined || ERROR_CATALOGUE[code] === undefined) throw error;
    const at = error instanceof CommandListError ? `${describeAt(plan?.at[error.index] ?? null)}: ` : '';
    return `${ERROR_CATALOGUE[code].status} ${code}: ${at}${(error as Error).message}`;
  }
}

function probeOnce(
  options: SyncOptions,
  emulator: string | undefined,
  probes: PassState['probes'],
): Promise<ProbedDeclaration | string> {
  if (emulator === undefined) return Promise.resolve('the domain names no <emulator>');
  let probe = probes.get(emulator);
  if (probe === undefined) {
    probe = probeDeclaration(emulator, (options.probeTimeout ?? 10) * 1000).then(
      (probed) => probed.qemu,
      (error: Error) => (error instanceof CliError ? error.message : String(error)),
    );
    probes.set(emulator, probe);
  }
  return probe;
}

async function reimport(
  client: Client,
  options: SyncOptions,
  name: string,
  owned: OwnedVm,
  source: string,
): Promise<SyncRow> {
  const body = { format: 'libvirt-xml', source, ...(options.dryRun && { dryRun: true }) };
  const response = await client.send('POST', `/v1/vms/${encodeURIComponent(owned.vm)}/imports`, {
    body,
    // If-Match: a VM changed by someone else since this pass read it is refused (412), not overwritten.
    headers: { ...headersFor(options, name), 'if-match': `"${owned.version}"` },
  });
  const answer = (await response.json()) as ReimportAnswer;
  const loses = answer.routes.filter((r) => r.before?.installed === true && r.after?.installed === false);
  return {
    ...row(name, owned.vm, answer.changes.length === 0 ? 'unchanged' : 'changed'),
    changes: answer.changes.map((c) => `${SIGN[c.op] ?? c.op}${c.kind} ${c.id}`),
    routesChanged: answer.routes.length,
    losesInterrupts: loses.length,
    eventsAppended: options.dryRun ? 0 : answer.events.length,
    note: loses.length > 0 ? `${loses.length} vectors lose their interrupts` : '',
  };
}

async function orphan(client: Client, options: SyncOptions, owned: OwnedVm): Promise<SyncRow> {
  const base = row(owned.domain, owned.vm, 'orphaned');
  if (options.orphans === 'keep')
    return {
      ...base,
      note: 'domain gone; VM kept (--orphans keep, the default; decommission with --orphans decommission)',
    };
  if (options.dryRun) return { ...base, note: 'domain gone; would be decommissioned' };
  try {
    await client.send('DELETE', `/v1/vms/${encodeURIComponent(owned.vm)}`, {
      headers: {
        'x-reason': `${reasonPrefix(options.libvirt)}${owned.domain} is gone (--orphans decommission)`,
        'if-match': `"${owned.version}"`,
      },
    });
    return { ...base, eventsAppended: 1, note: 'domain gone; VM decommissioned' };
  } catch (error) {
    if (error instanceof HttpError) return { ...base, action: 'refused', note: refusal(error) };
    throw error;
  }
}

/** A bar on stderr while domains go, only for a person at a terminal. */
function progressBar(total: number, json: boolean): SingleBar | undefined {
  if (json || total < 2 || !process.stderr.isTTY) return undefined;
  const bar = new SingleBar({
    format: 'syncing [{bar}] {value}/{total} {domain}',
    stream: process.stderr,
    hideCursor: true,
    clearOnComplete: true,
  });
  bar.start(total, 0, { domain: '' });
  return bar;
}

/** The changes of a row, at most four of them: the JSON has them all. */
function changesText(changes: string[]): string {
  return changes.length <= 4 ? changes.join(', ') : `${changes.slice(0, 4).join(', ')}, ... (${changes.length} in all)`;
}

function print(rows: SyncRow[], options: SyncOptions, pass: number): void {
  const appended = rows.reduce((sum, r) => sum + r.eventsAppended, 0);
  if (options.json) {
    const at = new Date().toISOString();
    const summary = { libvirt: options.libvirt, pass, at, dryRun: options.dryRun === true, orphans: options.orphans };
    process.stdout.write(`${JSON.stringify({ ...summary, eventsAppended: appended, results: rows })}\n`);
    return;
  }
  if (options.interval !== undefined) process.stdout.write(`pass ${pass} at ${new Date().toISOString()}\n`);
  printTable(
    ['domain', 'vm', 'action', 'changes', 'routes changed', 'note'],
    rows.map((r) => [
      r.domain,
      r.vm ?? '',
      r.action,
      changesText(r.changes),
      r.losesInterrupts > 0 ? `${r.routesChanged} (${r.losesInterrupts} lose interrupts)` : r.routesChanged,
      r.note,
    ]),
  );
  const count = (action: SyncAction) => rows.filter((r) => r.action === action).length;
  const counts = (['new', 'changed', 'unchanged', 'orphaned', 'skipped', 'refused'] as const)
    .map((a) => `${count(a)} ${a}`)
    .join(', ');
  const mode = options.dryRun ? 'dry run: nothing written' : `${appended} events appended`;
  process.stdout.write(`${rows.length} domains: ${counts}; ${mode}; orphans: ${options.orphans}\n`);
  for (const r of rows.filter((r) => r.action === 'refused'))
    process.stderr.write(`doorbell: ${r.domain}: ${r.note}\n`);
}
