// npm run bench: the measurements of issues 3 and 14, printed as JSON.
//   (a) resolve over HTTP (records persisted) vs a bare fastify route validating a similar body;
//   (b) in-process resolve latency with 10 vs 100,000 mappings on the device;
//   (c) rebuilding a VM's state from 200,000 stored events;
//   (d) a fleet sweep of 1,000 VMs x 32 vectors vs single-VM sweeps, in resolutions per second;
//   (e) the median time to draw a path picture and a topology picture.
// BENCH_SECONDS (default 10) sets the length of each HTTP run.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { createStores } from '../src/db/stores';
import { resolve } from '../src/domain/resolve/resolve';
import { replay } from '../src/domain/topology/replay';
import { fleetVm, emulatedWithMappings } from './fixtures';
import { fleetSweep } from '../src/app/fleet-sweep';
import { recordJson, resolveToJson } from '../src/app/resolution-cache';
import { sweepVm } from '../src/app/resolve-msi';
import { vmResource } from '../src/api/representations';
import { bigintsToHex } from '../src/domain/address';
import { resolutionPicture } from '../src/pictures/resolution-picture';
import type { ResolutionView } from '../src/pictures/resolution-view';
import { topologyPicture } from '../src/pictures/topology-picture';
import type { VmView } from '../src/pictures/topology-view';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = 50;
const metadata = { occurredAt: new Date().toISOString(), actor: 'bench', requestId: 'bench' };

// ---- (a) HTTP ---------------------------------------------------------------------------

async function startServer(which: 'doorbell' | 'bare'): Promise<{ url: string; child: ChildProcess }> {
  const script = fileURLToPath(new URL('./servers.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script, which], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((ok, fail) => {
    child.stdout!.once('data', (chunk: Buffer) => ok(chunk.toString().trim()));
    child.once('exit', (code) => fail(new Error(`${which} server exited with ${code}`)));
  });
  return { url, child };
}

async function load(url: string): Promise<{ requestsPerSecond: number; p50Ms: number; p99Ms: number; non2xx: number }> {
  const result = await autocannon({
    url: `${url}/v1/vms/s10/msi-resolutions`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ device: 'hostdev0', vector: 0 }),
    connections: CONNECTIONS,
    duration: SECONDS,
  });
  return {
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
  };
}

async function httpBenchmark() {
  const measure = async (which: 'doorbell' | 'bare') => {
    const { url, child } = await startServer(which);
    try {
      await autocannon({
        url: `${url}/v1/vms/s10/msi-resolutions`,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ device: 'hostdev0', vector: 0 }),
        connections: 10,
        duration: 2,
      }); // warm-up
      return await load(url);
    } finally {
      child.kill('SIGTERM');
    }
  };
  const bare = await measure('bare');
  const doorbell = await measure('doorbell');
  return {
    connections: CONNECTIONS,
    seconds: SECONDS,
    doorbell,
    bareFastify: bare,
    ratio: round(doorbell.requestsPerSecond / bare.requestsPerSecond),
    target: '>= 0.5',
  };
}

// ---- (b) in-process resolve -------------------------------------------------------------

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

// ---- (c) rebuild ------------------------------------------------------------------------

async function rebuildBenchmark(eventCount = 200_000) {
  const dir = mkdtempSync(join(tmpdir(), 'doorbell-rebuild-'));
  const stores = createStores(join(dir, 'doorbell.db'));
  try {
    const vmId = 'big';
    const commands = [...emulatedWithMappings(vmId, eventCount - 5)];
    const chunk = 5_000;
    for (let i = 0; i < commands.length; i += chunk) {
      stores.transaction(() => {
        for (const c of commands.slice(i, i + chunk)) stores.vms.execute(vmId, c, { metadata });
      });
    }
    const stored = stores.events.version(vmId);
    const start = process.hrtime.bigint();
    const state = stores.vms.rebuild(vmId);
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

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

// ---- (d) fleet sweep ---------------------------------------------------------------------

/** The builds of the bench fleet, by share: most on 11.0.0, some on NVIDIA's 10.1.0 package, a few undeclared. */
function fleetBuild(i: number): object | undefined {
  if (i % 20 === 0) return undefined;
  return i % 20 < 4 ? { package: 'Debian 1:10.1.0+nvidia1-unstable' } : { version: '11.0.0' };
}

async function fleetSweepBenchmark(vmCount = 1_000, vectors = 32) {
  const dir = mkdtempSync(join(tmpdir(), 'doorbell-fleet-'));
  const stores = createStores(join(dir, 'doorbell.db'));
  try {
    const ids = Array.from({ length: vmCount }, (_, i) => `vm-${String(i).padStart(4, '0')}`);
    const warm = Array.from({ length: 20 }, (_, i) => `warm-${i}`);
    for (const [i, id] of [...ids, ...warm].entries()) {
      stores.transaction(() => {
        for (const c of fleetVm(id, vectors, fleetBuild(i))) stores.vms.execute(id, c, { metadata });
      });
    }
    const baseUrl = 'http://localhost:8080';
    // Warm-up, on VMs of their own: both paths compiled before they are timed.
    for (const id of warm.slice(0, 10)) await sweepVm(stores, { vmId: id, baseUrl });
    await fleetSweep(stores, { vm: warm.slice(10), baseUrl });

    // Single-VM sweeps, one VM after another, each VM resolved for the first time (no memo).
    const singles = ids.slice(0, 100);
    let start = process.hrtime.bigint();
    for (const id of singles) await sweepVm(stores, { vmId: id, baseUrl });
    const singleSeconds = Number(process.hrtime.bigint() - start) / 1e9;
    const singleRate = (singles.length * vectors) / singleSeconds;

    // The fleet sweep: every vector under the VM's own behaviour and under the target's (11.0.0).
    start = process.hrtime.bigint();
    const answer = await fleetSweep(stores, { vm: ids, baseUrl });
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

// ---- (e) pictures -------------------------------------------------------------------------

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
  const resolution = JSON.parse(recordJson(undefined, 's10', resolved)) as ResolutionView;
  const vm = bigintsToHex(vmResource(state, 'http://localhost:8080')) as unknown as VmView;
  return {
    pathPictureMedianMs: medianMs(() => resolutionPicture(resolution)),
    topologyPictureMedianMs: medianMs(() => topologyPicture(vm)),
  };
}

const results = {
  node: process.version,
  a_httpResolveVsBareFastify: await httpBenchmark(),
  b_resolveLatency: latencyBenchmark(),
  c_rebuild: await rebuildBenchmark(),
  d_fleetSweep: await fleetSweepBenchmark(),
  e_pictures: pictureBenchmark(),
};
console.log(JSON.stringify(results, null, 2));
