// npm run bench: throughput and latency figures, each as a ratio to an anchor measured in the
// same run, as medians of BENCH_ROUNDS (default 3) alternating rounds of BENCH_SECONDS (default 5)
// each. Prints JSON, then a short table: each figure with its anchor's own figures beside it,
// and whether it meets its target ("MISSING" when it does not).
//   (a) POST msi-resolutions (records persisted) vs a bare fastify route that validates a small
//       body and echoes it: target >= 0.5;
//   (c) durable commands/s over HTTP, 50 connections on 50 VMs, vs the same HTTP echo (the
//       ceiling a command can approach): target >= 0.4. Beside it the old anchor, one
//       better-sqlite3 transaction per event with synchronous=FULL on a file in the same folder
//       (it swings with the disk, 221 to 5,134 a second between runs), and the old ratio to it;
//   (d) bytes stored per resolution record: target <= 1,200;
//   (b) GET .../msi-vectors/{n}/route (nothing stored, from the memo) vs the same anchor: >= 0.8;
//   (e) in-process resolve p50 with 100,000 vs 10 mappings (<= 1.5), and rebuilding a VM from
//       200,000 stored events (>= 100,000 events/s).
//   (f) a fleet sweep of 1,000 VMs x 32 vectors vs single-VM sweeps, in resolutions per second (>= 0.8);
//   (g) the median time to draw a path picture and a topology picture;
//   (h) POST /v1/vm-imports of a 64-device command line (8 pxb-pcie with accel SMMUs, 64 root
//       ports, 64 vfio-pci), one import at a time over HTTP: the median ms;
//   (k) POST /v1/vms/{vm}/imports of the same 64-device VM with one change (its last vfio-pci
//       gone), over HTTP, vs a fresh import of it: the median ms of each and their ratio (<= 1.5).
//   (i) SSE fan-out: 100 listeners on GET /v1/events/stream while commands append at a steady
//       rate (BENCH_SSE_RATE, default 500 a second): events/s delivered over all listeners, and
//       the share of the events appended that every listener received.
//   (j) durable commands/s over HTTP on two nodes sharing one PostgreSQL database vs 50 pg clients
//       doing one INSERT per autocommit transaction on the same server: target >= 1.0; beside it
//       Emmett's PostgreSQL store under the same load when it is installed (bench/postgres.ts).
//   (l) `doorbell sync --libvirt` of 200 unchanged domains (virsh test driver): the median wall
//       time, and the events it appended (must be 0) (bench/sync.ts).
//   (m) a fleet sweep of 200 VMs imported from the accel command line with linux-dma (every STE,
//       stage-1 page and vector assumed from the profile) vs the same 200 with that guest state
//       recorded (SteConfigured, IovaMapped, MsiVectorProgrammed): time and ratio (>= 0.8).

import { type ChildProcess, spawn } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import Database from 'better-sqlite3';
import { resolveMsi } from '../src/app/resolve-msi';
import { createServices, type Services } from '../src/app/services';
import { createStores } from '../src/db/index';
import type { SqliteStores } from '../src/db/sqlite/stores';
import { resolve } from '../src/domain/resolve/resolve';
import { replay } from '../src/domain/topology/replay';
import { COMMAND_VMS, emulatedWithMappings, fleetVm, programVectorsOn, S10_COMMANDS, S10_VM } from './fixtures';
import { emmettAppends, HALF, insertPerTransaction, PG_ADMIN_URL, pgAnswers, seededDoorbellDatabase } from './postgres';
import { syncBenchmark } from './sync';
import { fleetSweep } from '../src/app/fleet-sweep';
import { importVm } from '../src/app/import-vm';
import type { Command } from '../src/domain/topology/types';
import { resolveToJson } from '../src/app/resolution-cache';
import { DEFAULT_SWEEP_PAGE, sweepVm } from '../src/app/resolve-msi';
import { vmResource } from '../src/api/representations';
import { recordText } from '../src/db/shared/record-text';
import { bigintsToHex } from '../src/domain/address';
import { resolutionPicture } from '../src/pictures/resolution-picture';
import type { ResolutionView } from '../src/pictures/resolution-view';
import { topologyPicture } from '../src/pictures/topology-picture';
import type { VmView } from '../src/pictures/topology-view';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = 50;
const metadata = { occurredAt: new Date().toISOString(), actor: 'bench', requestId: 'bench' };

const round = (value: number) => Math.round(value * 1000) / 1000;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;

// ---- HTTP ---------------------------------------------------------------------------------

async function startServer(
  which: 'doorbell' | 'bare',
  env: Record<string, string> = {},
): Promise<{ url: string; child: ChildProcess }> {
  const script = fileURLToPath(new URL('./servers.ts', import.meta.url));
  // BENCH_CPU_PROF=<folder>: each server writes a V8 CPU profile there when it stops (SIGINT), for
  // scripts/profile-summary.ts.
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', script, which], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
  });
  const url = await new Promise<string>((ok, fail) => {
    child.stdout!.once('data', (chunk: Buffer) => ok(chunk.toString().trim()));
    child.once('exit', (code) => fail(new Error(`${which} server exited with ${code}`)));
  });
  return { url, child };
}

interface Load {
  /** Two PostgreSQL nodes: the log head's hold times over the measured seconds (summariseHolds). */
  logHead?: Record<string, number>;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
}

async function load(options: autocannon.Options, seconds = SECONDS): Promise<Load> {
  const result = await autocannon({ connections: CONNECTIONS, duration: seconds, ...options });
  return {
    requestsPerSecond: Math.round(result.requests.average),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
  };
}

/** Starts a server, warms it up with the same load for a second, measures, stops it. */
async function measure(which: 'doorbell' | 'bare', options: (url: string) => autocannon.Options): Promise<Load> {
  const { url, child } = await startServer(which);
  try {
    await load(options(url), 1);
    return await load(options(url));
  } finally {
    child.kill('SIGINT');
  }
}

const json = { 'content-type': 'application/json' };
const echo = (url: string): autocannon.Options => ({
  url: `${url}/echo`,
  method: 'POST',
  headers: json,
  body: JSON.stringify({ device: 'hostdev0', vector: 0 }),
});
const resolveS10 = (url: string): autocannon.Options => ({
  url: `${url}/v1/vms/${S10_VM}/msi-resolutions`,
  method: 'POST',
  headers: json,
  body: JSON.stringify({ device: 'hostdev0', vector: 0 }),
});
/** Each connection programs the vectors of its own VM, one MsiVectorProgrammed event a request. */
const programVectors = (url: string) => programVectorsOn(url, 0, COMMAND_VMS);

async function rounds<T extends Record<string, number>>(one: () => Promise<T>): Promise<{ rounds: T[]; median: T }> {
  const all: T[] = [];
  for (let i = 0; i < ROUNDS; i++) all.push(await one());
  const keys = Object.keys(all[0]!) as (keyof T)[];
  return { rounds: all, median: Object.fromEntries(keys.map((k) => [k, median(all.map((r) => r[k] as number))])) as T };
}

async function resolveVsEcho() {
  const result = await rounds(async () => {
    const anchor = await measure('bare', echo);
    const doorbell = await measure('doorbell', resolveS10);
    if (doorbell.non2xx > 0) throw new Error(`resolve answered ${doorbell.non2xx} non-2xx`);
    return {
      doorbell: doorbell.requestsPerSecond,
      echo: anchor.requestsPerSecond,
      doorbellP99Ms: doorbell.p99Ms,
      ratio: round(doorbell.requestsPerSecond / anchor.requestsPerSecond),
    };
  });
  return { ...result.median, rounds: result.rounds, target: '>= 0.5' };
}

const liveRoute = (url: string): autocannon.Options => ({
  url: `${url}/v1/vms/${S10_VM}/devices/hostdev0/msi-vectors/0/route`,
  method: 'GET',
});

async function routeVsEcho() {
  const result = await rounds(async () => {
    const anchor = await measure('bare', echo);
    const doorbell = await measure('doorbell', liveRoute);
    if (doorbell.non2xx > 0) throw new Error(`route answered ${doorbell.non2xx} non-2xx`);
    return {
      doorbell: doorbell.requestsPerSecond,
      echo: anchor.requestsPerSecond,
      doorbellP99Ms: doorbell.p99Ms,
      ratio: round(doorbell.requestsPerSecond / anchor.requestsPerSecond),
    };
  });
  return { ...result.median, rounds: result.rounds, target: '>= 0.8' };
}

/** One better-sqlite3 transaction per event, synchronous=FULL, WAL, for SECONDS. */
function sqliteTransactionPerEvent(): number {
  const dir = mkdtempSync(join(tmpdir(), 'doorbell-anchor-'));
  const db = new Database(join(dir, 'anchor.db'));
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec('create table events (position integer primary key, stream_id text not null, data text not null)');
    const insert = db.prepare('insert into events (stream_id, data) values (?, ?)');
    const append = db.transaction((i: number) => insert.run(`cmd${i % COMMAND_VMS}`, '{"vector":0}'));
    const end = Date.now() + SECONDS * 1000;
    let count = 0;
    while (Date.now() < end) append.immediate(count++);
    return Math.round(count / SECONDS);
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function commandsVsEcho() {
  const result = await rounds(async () => {
    const anchor = await measure('bare', echo);
    const transactions = sqliteTransactionPerEvent();
    const doorbell = await measure('doorbell', programVectors);
    if (doorbell.non2xx > 0) throw new Error(`commands answered ${doorbell.non2xx} non-2xx`);
    return {
      commandsPerSecond: doorbell.requestsPerSecond,
      echo: anchor.requestsPerSecond,
      p99Ms: doorbell.p99Ms,
      ratio: round(doorbell.requestsPerSecond / anchor.requestsPerSecond),
      transactionsPerSecond: transactions,
      transactionRatio: round(doorbell.requestsPerSecond / transactions),
    };
  });
  return { ...result.median, rounds: result.rounds, target: '>= 0.4', transactionTarget: '>= 3 (old anchor)' };
}

// ---- (j) two nodes on one PostgreSQL database ------------------------------------------------

/** Two doorbell nodes on one fresh, seeded database; half the connections (and VMs) on each. */
async function twoNodesCommands(): Promise<Load> {
  const database = await seededDoorbellDatabase();
  const nodes = await Promise.all([1, 2].map(() => startServer('doorbell', { BENCH_DOORBELL_DB: database.url })));
  try {
    const both = (seconds: number) =>
      Promise.all(nodes.map(({ url }, i) => load(programVectorsOn(url, i * HALF, HALF), seconds)));
    await both(1);
    const scrape = () => Promise.all(nodes.map(({ url }) => holdHistograms(url)));
    const before = await scrape();
    const [one, two] = await both(SECONDS);
    const after = await scrape();
    return {
      logHead: summariseHolds(before, after),
      requestsPerSecond: one!.requestsPerSecond + two!.requestsPerSecond,
      p50Ms: Math.max(one!.p50Ms, two!.p50Ms),
      p99Ms: Math.max(one!.p99Ms, two!.p99Ms),
      non2xx: one!.non2xx + two!.non2xx,
    };
  } finally {
    for (const { child } of nodes) child.kill('SIGINT');
    await new Promise((r) => setTimeout(r, 500));
    await database.drop();
  }
}

type Histogram = { buckets: Map<string, number>; sum: number; count: number };

/**
 * A node's histograms of the log head's hold (doorbell_pg_log_head_hold_seconds), of planning
 * (doorbell_pg_append_plan_seconds, before the head is taken) and its count of plans refused at
 * commit (doorbell_pg_append_replans_total), from GET /metrics.
 */
async function holdHistograms(url: string): Promise<Record<'hold' | 'plan', Histogram> & { replans: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const read = (name: string): Histogram => {
    const buckets = new Map<string, number>();
    let sum = 0;
    let count = 0;
    for (const line of text.split('\n')) {
      const bucket = line.match(new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\S+)`));
      if (bucket) buckets.set(bucket[1]!, Number(bucket[2]));
      else if (line.startsWith(`${name}_sum `)) sum = Number(line.split(' ')[1]);
      else if (line.startsWith(`${name}_count `)) count = Number(line.split(' ')[1]);
    }
    return { buckets, sum, count };
  };
  const replans = Number(text.match(/^doorbell_pg_append_replans_total (\S+)$/m)?.[1] ?? 0);
  return {
    hold: read('doorbell_pg_log_head_hold_seconds'),
    plan: read('doorbell_pg_append_plan_seconds'),
    replans,
  };
}

/**
 * The holds of the measured seconds over both nodes (after minus before): how many, the mean, and
 * the bucket bounds under which half and 99 % of them fell, in ms.
 */
function summariseHolds(
  before: (Record<'hold' | 'plan', Histogram> & { replans: number })[],
  after: (Record<'hold' | 'plan', Histogram> & { replans: number })[],
) {
  const summary = (kind: 'hold' | 'plan') => {
    const buckets = new Map<string, number>();
    let sum = 0;
    let count = 0;
    after.forEach((node, i) => {
      sum += node[kind].sum - before[i]![kind].sum;
      count += node[kind].count - before[i]![kind].count;
      for (const [le, n] of node[kind].buckets)
        buckets.set(le, (buckets.get(le) ?? 0) + n - (before[i]![kind].buckets.get(le) ?? 0));
    });
    const under = (share: number) => {
      for (const [le, n] of [...buckets].sort((x, y) => Number(x[0]) - Number(y[0])))
        if (n >= share * count) return Number(le) * 1000;
      return Number.NaN;
    };
    return { count, meanMs: count > 0 ? round((sum / count) * 1000) : 0, p50Ms: under(0.5), p99Ms: under(0.99) };
  };
  const hold = summary('hold');
  const plan = summary('plan');
  return {
    holds: hold.count,
    holdMeanMs: hold.meanMs,
    holdP50AtMostMs: hold.p50Ms,
    holdP99AtMostMs: hold.p99Ms,
    planMeanMs: plan.meanMs,
    planP99AtMostMs: plan.p99Ms,
    plans: plan.count,
    replans: after.reduce((sum, node, i) => sum + node.replans - before[i]!.replans, 0),
  };
}

async function postgresTwoNodes() {
  if (!(await pgAnswers())) return { skipped: `no PostgreSQL server answers at ${PG_ADMIN_URL}` };
  const result = await rounds(async () => {
    const anchor = await insertPerTransaction(SECONDS);
    const doorbell = await twoNodesCommands();
    if (doorbell.non2xx > 0) throw new Error(`commands answered ${doorbell.non2xx} non-2xx`);
    const emmett = await emmettAppends(SECONDS);
    return {
      commandsPerSecond: doorbell.requestsPerSecond,
      insertsPerSecond: anchor,
      emmettAppendsPerSecond: emmett,
      emmettRatio: round(emmett / anchor),
      p99Ms: doorbell.p99Ms,
      ...doorbell.logHead,
      ratio: round(doorbell.requestsPerSecond / anchor),
    };
  });
  return { ...result.median, rounds: result.rounds, target: '>= 1.0' };
}

// ---- (d) record size ----------------------------------------------------------------------

/**
 * Bytes the database file grows by per resolution record, over `records` records: `repeated`
 * asks the same question each time (an inventory polling an unchanged VM: the records share one
 * body), `distinct` gives each a different MSI data value, so every body is different.
 */
async function bytesPerRecord(kind: 'repeated' | 'distinct', records = 2_000) {
  const dir = mkdtempSync(join(tmpdir(), 'doorbell-records-'));
  const path = join(dir, 'doorbell.db');
  const stores = await createStores(path);
  const services = createServices(stores);
  try {
    await services.vms.executeAll(S10_VM, S10_COMMANDS, { metadata });
    const size = () => {
      (stores as typeof stores & Partial<Pick<SqliteStores, 'database'>>).database!.sqlite.pragma(
        'wal_checkpoint(TRUNCATE)',
      );
      return statSync(path).size;
    };
    const before = size();
    let json = 0;
    for (let i = 0; i < records; i += 100) {
      const msi = (j: number) =>
        kind === 'repeated'
          ? { device: 'hostdev0', vector: 0 }
          : { device: 'hostdev0', address: 0xfffff040n, data: BigInt(i + j) };
      const answers = await Promise.all(
        Array.from({ length: 100 }, (_, j) =>
          resolveMsi(services, { vmId: S10_VM, msi: msi(j), semantics: 'upstream', baseUrl: 'http://127.0.0.1:8080' }),
        ),
      );
      json += answers.reduce((n, a) => n + Buffer.byteLength(a.body), 0);
    }
    return {
      records,
      jsonBytesPerRecord: Math.round(json / records),
      storedBytesPerRecord: Math.round((size() - before) / records),
    };
  } finally {
    await stores.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function recordSize() {
  const repeated = await bytesPerRecord('repeated');
  const distinct = await bytesPerRecord('distinct');
  return {
    repeated,
    distinct,
    storedBytesPerRecord: distinct.storedBytesPerRecord,
    target: '<= 1200 (distinct bodies)',
  };
}

// ---- (e) in-process resolve and rebuild ---------------------------------------------------

function resolveLatency(mappings: number) {
  const state = replay(emulatedWithMappings(`vm-${mappings}`, mappings))!;
  const request = { deviceId: 'net0', vector: 0 };
  for (let i = 0; i < 2_000; i++) resolve(state, request, 'upstream');
  const samples: number[] = [];
  for (let i = 0; i < 20_000; i++) {
    const start = process.hrtime.bigint();
    resolve(state, request, 'upstream');
    samples.push(Number(process.hrtime.bigint() - start) / 1000);
  }
  samples.sort((a, b) => a - b);
  return {
    mappings,
    p50Us: round(samples[samples.length >> 1]!),
    p99Us: round(samples[Math.floor(samples.length * 0.99)]!),
  };
}

function latencyBenchmark() {
  const small = resolveLatency(10);
  const large = resolveLatency(100_000);
  return { small, large, p50Ratio: round(large.p50Us / small.p50Us), target: '<= 1.5' };
}

async function rebuildBenchmark(eventCount = 200_000) {
  const dir = mkdtempSync(join(tmpdir(), 'doorbell-rebuild-'));
  const stores = await createStores(join(dir, 'doorbell.db'));
  const services = createServices(stores);
  try {
    const vmId = 'big';
    const commands = [...emulatedWithMappings(vmId, eventCount - 5)];
    const chunk = 5_000;
    for (let i = 0; i < commands.length; i += chunk)
      await services.vms.executeAll(vmId, commands.slice(i, i + chunk), { metadata });
    const stored = await stores.events.version(vmId);
    const start = process.hrtime.bigint();
    const state = await services.vms.rebuild(vmId);
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    if (state?.version !== stored) throw new Error('rebuild did not reach the last event');
    return {
      events: stored,
      seconds: round(seconds),
      eventsPerSecond: Math.round(stored / seconds),
      target: '>= 100000',
    };
  } finally {
    await stores.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- (f) fleet sweep ---------------------------------------------------------------------

/** The builds of the bench fleet, by share: most on 11.0.0, some on NVIDIA's 10.1.0 package, a few undeclared. */
function fleetBuild(i: number): object | undefined {
  if (i % 20 === 0) return undefined;
  return i % 20 < 4 ? { package: 'Debian 1:10.1.0+nvidia1-unstable' } : { version: '11.0.0' };
}

async function fleetSweepBenchmark(vmCount = 1_000, vectors = 32) {
  const dir = mkdtempSync(join(tmpdir(), 'doorbell-fleet-'));
  const stores = await createStores(join(dir, 'doorbell.db'));
  const services = createServices(stores);
  try {
    const ids = Array.from({ length: vmCount }, (_, i) => `vm-${String(i).padStart(4, '0')}`);
    const warm = Array.from({ length: 20 }, (_, i) => `warm-${i}`);
    for (const [i, id] of [...ids, ...warm].entries()) {
      await services.vms.executeAll(id, [...fleetVm(id, vectors, fleetBuild(i))], { metadata });
    }
    const baseUrl = 'http://localhost:8080';
    // Warm-up, on VMs of their own: both paths compiled before they are timed.
    for (const id of warm.slice(0, 10))
      await sweepVm(services, { vmId: id, baseUrl, limit: DEFAULT_SWEEP_PAGE, offset: 0 });
    await fleetSweep(services, { vm: warm.slice(10), baseUrl });

    // Single-VM sweeps, one VM after another, each VM resolved for the first time (no memo).
    const singles = ids.slice(0, 100);
    let start = process.hrtime.bigint();
    for (const id of singles) await sweepVm(services, { vmId: id, baseUrl, limit: DEFAULT_SWEEP_PAGE, offset: 0 });
    const singleSeconds = Number(process.hrtime.bigint() - start) / 1e9;
    const singleRate = (singles.length * vectors) / singleSeconds;

    // The fleet sweep: every vector under the VM's own behaviour and under the target's (11.0.0).
    start = process.hrtime.bigint();
    const answer = await fleetSweep(services, { vm: ids, baseUrl });
    const fleetSeconds = Number(process.hrtime.bigint() - start) / 1e9;
    const totals = (JSON.parse(answer.body) as { totals: { vms: number; vectors: number } }).totals;
    if (totals.vms !== vmCount || totals.vectors !== vmCount * vectors)
      throw new Error(`fleet sweep saw ${totals.vms} VMs, ${totals.vectors} vectors`);
    const fleetRate = (2 * totals.vectors) / fleetSeconds;
    return {
      vms: vmCount,
      vectorsPerVm: vectors,
      singleVmSweep: {
        vms: singles.length,
        seconds: round(singleSeconds),
        resolutionsPerSecond: Math.round(singleRate),
      },
      fleetSweep: {
        seconds: round(fleetSeconds),
        // The contract resolves each vector twice (own behaviour, target); a VM whose behaviour is the target's computes it once.
        resolutionsPerSecond: Math.round(fleetRate),
        vectorsPerSecond: Math.round(fleetRate / 2),
      },
      ratio: round(fleetRate / singleRate),
      vectorRatio: round(fleetRate / 2 / singleRate),
      target: 'ratio >= 0.8',
    };
  } finally {
    await stores.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- (m) fleet sweep of imported VMs with guest profiles ---------------------------------

const ACCEL_LAB = readFileSync(new URL('../test/fixtures/import/two-accel-smmus.cmdline', import.meta.url), 'utf8');
const LAB_VECTORS = 16;

/**
 * What linux-dma implies for dev0 and dev1 of the accel line, recorded instead (the same facts:
 * STE s1 with the default CD, the doorbell page at 0xFFFFF000 and the RMR 1:1, vectors at
 * 0xFFFFF040 with data 0..15), so that both fleets resolve the same vectors the same way.
 */
function recordedGuestState(): Command[] {
  return ['dev0', 'dev1'].flatMap((deviceId): Command[] => [
    { type: 'ConfigureSte', deviceId, config: 's1' },
    { type: 'MapIova', deviceId, stage: 1, iova: 0xffff_f000n, output: 0x0809_0000n, size: 0x1000n },
    { type: 'MapIova', deviceId, stage: 1, iova: 0x0800_0000n, output: 0x0800_0000n, size: 0x10_0000n },
    ...Array.from(
      { length: LAB_VECTORS },
      (_, n): Command => ({
        type: 'ProgramMsiVector',
        deviceId,
        vector: n,
        address: 0xffff_f040n,
        data: BigInt(n),
      }),
    ),
  ]);
}

async function importLab(services: Services, vm: string, i: number, profile: boolean) {
  const qemu = fleetBuild(i);
  await importVm(services, {
    vmId: vm,
    format: 'qemu-cmdline',
    source: ACCEL_LAB,
    ...(qemu === undefined ? {} : { qemu }),
    ...(profile ? { guest: { profile: 'linux-dma', vectors: { dev0: LAB_VECTORS, dev1: LAB_VECTORS } } } : {}),
    represent: () => ({ body: {}, location: '' }),
    metadata,
  });
  if (!profile) await services.vms.executeAll(vm, recordedGuestState(), { metadata });
}

async function profileFleetBenchmark(vmCount = 200) {
  const dir = mkdtempSync(join(tmpdir(), 'doorbell-profile-fleet-'));
  const stores = await createStores(join(dir, 'doorbell.db'));
  const services = createServices(stores);
  try {
    const name = (kind: string, i: number) => `${kind}-${String(i).padStart(3, '0')}`;
    const assumed = Array.from({ length: vmCount }, (_, i) => name('assumed', i));
    const recorded = Array.from({ length: vmCount }, (_, i) => name('recorded', i));
    for (let i = 0; i < vmCount; i++) {
      await importLab(services, assumed[i]!, i, true);
      await importLab(services, recorded[i]!, i, false);
    }
    const baseUrl = 'http://localhost:8080';
    const sweep = async (vm: string[]) => {
      const start = process.hrtime.bigint();
      const answer = await fleetSweep(services, { vm, baseUrl });
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const { totals } = JSON.parse(answer.body) as {
        totals: { vectors: number; byVerdict: Record<string, number>; vectorsFrom: Record<string, number> };
      };
      return { seconds, totals };
    };
    // Warm-up on a few VMs of each kind, so that both paths are compiled before they are timed.
    for (let i = 0; i < 3; i++) {
      await sweep(assumed.slice(0, 20));
      await sweep(recorded.slice(0, 20));
    }
    // The first sweep of each fleet (the profile's layer computed for each VM), then alternating rounds.
    const firstAssumed = await sweep(assumed);
    const firstRecorded = await sweep(recorded);
    // Both fleets must be judged alike: the same vectors, the same verdicts; only where they came from differs.
    if (
      firstAssumed.totals.vectors !== vmCount * 2 * LAB_VECTORS ||
      JSON.stringify(firstAssumed.totals.byVerdict) !== JSON.stringify(firstRecorded.totals.byVerdict) ||
      firstAssumed.totals.vectorsFrom.assumed !== firstAssumed.totals.vectors ||
      firstRecorded.totals.vectorsFrom.recorded !== firstRecorded.totals.vectors
    )
      throw new Error(`the fleets differ: ${JSON.stringify([firstAssumed.totals, firstRecorded.totals])}`);
    // Each round sweeps both fleets three times, alternating, and sums: a shared machine's noise
    // falls on both alike.
    const times = await rounds(async () => {
      let assumedSeconds = 0;
      let recordedSeconds = 0;
      for (let pair = 0; pair < 3; pair++) {
        assumedSeconds += (await sweep(assumed)).seconds;
        recordedSeconds += (await sweep(recorded)).seconds;
      }
      return { assumedSeconds: assumedSeconds / 3, recordedSeconds: recordedSeconds / 3 };
    });
    return {
      vms: vmCount,
      vectorsPerVm: 2 * LAB_VECTORS,
      byVerdict: firstAssumed.totals.byVerdict,
      first: {
        assumedSeconds: round(firstAssumed.seconds),
        recordedSeconds: round(firstRecorded.seconds),
        ratio: round(firstRecorded.seconds / firstAssumed.seconds),
      },
      assumedSeconds: round(times.median.assumedSeconds),
      recordedSeconds: round(times.median.recordedSeconds),
      // Sweeps per second with profiles / with recorded state: the recorded time over the assumed one.
      ratio: round(times.median.recordedSeconds / times.median.assumedSeconds),
      target: 'ratio >= 0.8',
    };
  } finally {
    await stores.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- (g) pictures -------------------------------------------------------------------------

function medianMs(draw: () => string, runs = 300): number {
  for (let i = 0; i < 50; i++) draw();
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    draw();
    samples.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  samples.sort((a, b) => a - b);
  return round(samples[samples.length >> 1]!);
}

function pictureBenchmark() {
  const state = replay(fleetVm('s10', 2, { version: '11.0.0' }))!;
  const resolved = resolveToJson(state, { deviceId: 'hostdev0', vector: 0 });
  const resolution = JSON.parse(recordText(undefined, 's10', resolved.json)) as ResolutionView;
  const vm = bigintsToHex(vmResource(state, 'http://localhost:8080')) as unknown as VmView;
  return {
    pathPictureMedianMs: medianMs(() => resolutionPicture(resolution)),
    topologyPictureMedianMs: medianMs(() => topologyPicture(vm)),
  };
}

/**
 * 8 pxb-pcie, each with an accel SMMU and 8 root ports with a vfio-pci device behind each. `-nic
 * none`: virt creates its default NIC before any -device, in the first free slot of pcie.0 (01.0),
 * where QEMU then refuses the first pxb-pcie, and so does the import.
 */
function cmdline64(): string {
  const lines = [
    'qemu-system-aarch64 -machine virt,gic-version=3,accel=kvm -m 16G -nic none',
    '-object iommufd,id=iommufd0',
  ];
  for (let p = 0; p < 8; p++) {
    const pxb = `pcie.${p + 1}`;
    lines.push(`-device pxb-pcie,id=${pxb},bus_nr=${1 + p * 16},bus=pcie.0,addr=0x${(p + 1).toString(16)}`);
    lines.push(`-device arm-smmuv3,primary-bus=${pxb},id=smmuv3.${p},accel=on`);
    for (let r = 0; r < 8; r++) {
      const n = p * 8 + r;
      lines.push(`-device pcie-root-port,id=rp${n},bus=${pxb},chassis=${n + 1},addr=0x${r.toString(16)}`);
      const host = `0000:${(n + 1).toString(16).padStart(2, '0')}:00.0`;
      lines.push(`-device vfio-pci,host=${host},bus=rp${n},iommufd=iommufd0,id=hostdev${n}`);
    }
  }
  return lines.join(' \\\n  ');
}

async function importBenchmark() {
  const source = cmdline64();
  const { url, child } = await startServer('doorbell');
  try {
    const samples: number[] = [];
    for (let i = 0; i < 20 + 100; i++) {
      const start = process.hrtime.bigint();
      const response = await fetch(`${url}/v1/vm-imports`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ vm: `imported${i}`, format: 'qemu-cmdline', source }),
      });
      const body = (await response.json()) as { devices?: unknown[] };
      if (response.status !== 201 || body.devices?.length !== 64)
        throw new Error(`import answered ${response.status}: ${JSON.stringify(body).slice(0, 300)}`);
      // The first 20 warm the JIT and the database up.
      if (i >= 20) samples.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
    samples.sort((a, b) => a - b);
    return { imports: samples.length, devices: 64, medianMs: round(median(samples)), p99Ms: round(samples[98]!) };
  } finally {
    child.kill('SIGINT');
  }
}

/**
 * (k) A re-import with one change against a fresh import of the same VM, alternating on one
 * server: each round imports the 64-device VM fresh (timed), then re-imports it without its last
 * device (timed), so both see the same database growth.
 */
async function reimportBenchmark() {
  const source = cmdline64();
  const changed = source.replace(
    / \\\n {2}-device vfio-pci,host=0000:40:00\.0,bus=rp63,iommufd=iommufd0,id=hostdev63/,
    '',
  );
  if (changed === source) throw new Error('the one change did not apply');
  const { url, child } = await startServer('doorbell');
  const post = async (path: string, body: object, status: number) => {
    const start = process.hrtime.bigint();
    const response = await fetch(`${url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const answer = (await response.json()) as { changes?: unknown[] };
    if (response.status !== status)
      throw new Error(`${path} answered ${response.status}: ${JSON.stringify(answer).slice(0, 300)}`);
    return { ms: Number(process.hrtime.bigint() - start) / 1e6, answer };
  };
  try {
    const fresh: number[] = [];
    const again: number[] = [];
    for (let i = 0; i < 10 + 60; i++) {
      const imported = await post('/v1/vm-imports', { vm: `reimported${i}`, format: 'qemu-cmdline', source }, 201);
      const reimported = await post(`/v1/vms/reimported${i}/imports`, { format: 'qemu-cmdline', source: changed }, 200);
      if (reimported.answer.changes?.length !== 1) throw new Error('the re-import did not find exactly one change');
      // The first 10 warm the JIT and the database up.
      if (i >= 10) {
        fresh.push(imported.ms);
        again.push(reimported.ms);
      }
    }
    const freshMs = median(fresh);
    const reimportMs = median(again);
    return {
      samples: again.length,
      devices: 64,
      freshImportMedianMs: round(freshMs),
      reimportMedianMs: round(reimportMs),
      ratio: round(reimportMs / freshMs),
    };
  } finally {
    child.kill('SIGINT');
  }
}

// ---- (i) SSE fan-out -------------------------------------------------------------------------

const SSE_LISTENERS = 100;
const SSE_RATE = Number(process.env.BENCH_SSE_RATE ?? 500);

/** A listener that counts the events of a text/event-stream (messages with an id). */
function sseListener(url: string): Promise<{ count: () => number; close: () => void }> {
  return new Promise((ok, fail) => {
    let received = 0;
    let rest = '';
    const request = http.get(`${url}/v1/events/stream`, (response) => {
      if (response.statusCode !== 200) fail(new Error(`stream answered ${response.statusCode}`));
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        const blocks = (rest + chunk).split('\n\n');
        rest = blocks.pop()!;
        for (const block of blocks) if (block.startsWith('id: ')) received += 1;
      });
      ok({ count: () => received, close: () => request.destroy() });
    });
    request.on('error', fail);
  });
}

async function eventTotal(url: string): Promise<number> {
  const response = await fetch(`${url}/v1/events?limit=1`);
  return ((await response.json()) as { count: number }).count;
}

async function sseFanOutBenchmark() {
  const result = await rounds(async () => {
    const { url, child } = await startServer('doorbell');
    try {
      const listeners = await Promise.all(Array.from({ length: SSE_LISTENERS }, () => sseListener(url)));
      const before = await eventTotal(url);
      const started = performance.now();
      await autocannon({ ...programVectors(url), connections: 10, overallRate: SSE_RATE, duration: SECONDS });
      const appended = (await eventTotal(url)) - before;
      // Until every listener has every event (or 10 s more have passed).
      const deadline = performance.now() + 10_000;
      while (listeners.some((l) => l.count() < appended) && performance.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      const seconds = (performance.now() - started) / 1000;
      const delivered = listeners.reduce((n, l) => n + l.count(), 0);
      for (const l of listeners) l.close();
      return {
        appendedPerSecond: Math.round(appended / SECONDS),
        deliveredPerSecond: Math.round(delivered / seconds),
        deliveredShare: round(delivered / (appended * SSE_LISTENERS)),
      };
    } finally {
      child.kill('SIGINT');
    }
  });
  return { listeners: SSE_LISTENERS, rate: SSE_RATE, ...result };
}

const only = process.env.BENCH_ONLY?.split(',');
const wanted = (name: string) => only === undefined || only.includes(name);

const results: Record<string, unknown> = {
  node: process.version,
  cores: availableParallelism(),
  seconds: SECONDS,
  rounds: ROUNDS,
};
if (wanted('a')) results.a_resolveVsEcho = await resolveVsEcho();
if (wanted('c')) results.c_commandsVsEcho = await commandsVsEcho();
if (wanted('d')) results.d_recordSize = await recordSize();
if (wanted('e')) results.e_resolveLatency = latencyBenchmark();
if (wanted('b')) results.b_routeVsEcho = await routeVsEcho();
if (wanted('e')) results.e_rebuild = await rebuildBenchmark();
if (wanted('f')) results.f_fleetSweep = await fleetSweepBenchmark();
if (wanted('g')) results.g_pictures = pictureBenchmark();
if (wanted('h')) results.h_import = await importBenchmark();
if (wanted('k')) results.k_reimport = await reimportBenchmark();
if (wanted('i')) results.i_sseFanOut = await sseFanOutBenchmark();
if (wanted('j')) results.j_postgresTwoNodes = await postgresTwoNodes();
if (wanted('l')) results.l_sync = await syncBenchmark(() => startServer('doorbell'), eventTotal, ROUNDS);
if (wanted('m')) results.m_profileFleetSweep = await profileFleetBenchmark();
console.log(JSON.stringify(results, null, 2));

/** A target: the figure must be at least (>=) or at most (<=) the bound. */
type Target = readonly ['>=' | '<=', number];
const met = (value: number, [op, bound]: Target) => (op === '>=' ? value >= bound : value <= bound);
/** One line of the table: the figure, its target and whether it is met, then what it is measured against. */
const row = (name: string, value: unknown, target?: Target, beside = '') => {
  const verdict =
    target === undefined
      ? ''
      : `${target.join(' ')}  ${typeof value === 'number' && met(value, target) ? 'met' : 'MISSING'}`;
  console.log(`${name.padEnd(52)} ${String(value).padStart(10)}  ${verdict.padEnd(16)}${beside}`);
};
console.log(`\n${availableParallelism()} cores, ${ROUNDS} rounds of ${SECONDS} s, medians`);
const get = (key: string) => results[key] as Record<string, number> | undefined;
const perSecond = (n: number | undefined) => `${n?.toLocaleString('en')}/s`;
const a = get('a_resolveVsEcho');
if (a)
  row(
    '(a) POST msi-resolutions / validated echo',
    a.ratio,
    ['>=', 0.5],
    `${perSecond(a.doorbell)} vs echo ${perSecond(a.echo)}`,
  );
const c = get('c_commandsVsEcho');
if (c) {
  row(
    '(c) durable commands / validated echo',
    c.ratio,
    ['>=', 0.4],
    `${perSecond(c.commandsPerSecond)} vs echo ${perSecond(c.echo)}`,
  );
  row(
    '(c)   old: commands / one transaction per event',
    c.transactionRatio,
    undefined,
    `(was >= 3) vs ${perSecond(c.transactionsPerSecond)} SQLite transactions`,
  );
}
const d = get('d_recordSize');
if (d) row('(d) bytes stored per record, every body distinct', d.storedBytesPerRecord, ['<=', 1200]);
const e = get('e_resolveLatency') as unknown as
  | { p50Ratio: number; small: { p50Us: number }; large: { p50Us: number } }
  | undefined;
if (e)
  row('(e) resolve p50, 100k / 10 mappings', e.p50Ratio, ['<=', 1.5], `${e.large.p50Us} µs vs ${e.small.p50Us} µs`);
const b = get('b_routeVsEcho');
if (b)
  row(
    '(b) GET .../route / validated echo',
    b.ratio,
    ['>=', 0.8],
    `${perSecond(b.doorbell)} vs echo ${perSecond(b.echo)}`,
  );
if (get('e_rebuild')) row('(e) rebuild events/s', get('e_rebuild')!.eventsPerSecond, ['>=', 100_000]);
if (get('f_fleetSweep'))
  row('(f) fleet sweep / single-VM sweeps, resolutions/s', get('f_fleetSweep')!.ratio, ['>=', 0.8]);
if (get('g_pictures')) row('(g) path picture, median ms', get('g_pictures')!.pathPictureMedianMs);
if (get('g_pictures')) row('(g) topology picture, median ms', get('g_pictures')!.topologyPictureMedianMs);
if (get('h_import')) row('(h) import of a 64-device command line, median ms', get('h_import')!.medianMs);
const k = get('k_reimport');
if (k) {
  row('(k) re-import of 64 devices, one change, median ms', k.reimportMedianMs);
  row(
    '(k) re-import / fresh import of the same VM',
    k.ratio,
    ['<=', 1.5],
    `${k.reimportMedianMs} ms vs ${k.freshImportMedianMs} ms`,
  );
}
const sse = results.i_sseFanOut as { median: Record<string, number> } | undefined;
if (sse) row(`(i) SSE events/s appended (asked ${SSE_RATE})`, sse.median.appendedPerSecond);
if (sse) row(`(i) SSE events/s delivered, ${SSE_LISTENERS} listeners`, sse.median.deliveredPerSecond);
if (sse) row('(i) SSE share of appended events delivered', sse.median.deliveredShare, ['>=', 1]);
const m = get('m_profileFleetSweep');
if (m) {
  row(
    '(m) 200 imported VMs: profile / recorded, sweeps/s',
    m.ratio,
    ['>=', 0.8],
    `${m.assumedSeconds} s with linux-dma vs ${m.recordedSeconds} s with recorded guest state`,
  );
}
const j = get('j_postgresTwoNodes');
if (j?.ratio !== undefined) {
  row(
    '(j) 2 nodes on PostgreSQL: commands/s / INSERT per tx',
    j.ratio,
    ['>=', 1.0],
    `${perSecond(j.commandsPerSecond)} vs ${perSecond(j.insertsPerSecond)} pg INSERTs, 50 clients`,
  );
  if (j.emmettAppendsPerSecond !== undefined)
    row(
      "(j) 2 nodes / Emmett's PostgreSQL store",
      round(j.commandsPerSecond! / j.emmettAppendsPerSecond),
      ['>=', 2.5],
      `${perSecond(j.commandsPerSecond)} vs Emmett ${perSecond(j.emmettAppendsPerSecond)} (Emmett / INSERTs ${j.emmettRatio})`,
    );
  if (c) row('(j)   SQLite commands/s, 1 node (item c)', c.commandsPerSecond);
} else if (j) console.log(`(j) skipped: ${(j as unknown as { skipped: string }).skipped}`);
const l = results.l_sync as
  | { medianMs?: number; eventsAppended?: number; domains?: number; skipped?: string }
  | undefined;
if (l?.medianMs !== undefined) {
  row(`(l) sync of ${l.domains} unchanged domains, median ms`, l.medianMs);
  row('(l)   events appended by those syncs', l.eventsAppended, ['<=', 0]);
} else if (l) console.log(`(l) skipped: ${l.skipped}`);
