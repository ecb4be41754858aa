// npm run bench: the three measurements of issue 3, printed as JSON.
//   (a) resolve over HTTP (records persisted) vs a bare fastify route validating a similar body;
//   (b) in-process resolve latency with 10 vs 100,000 mappings on the device;
//   (c) rebuilding a VM's state from 200,000 stored events.
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
import { emulatedWithMappings } from './fixtures';

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

const results = {
  node: process.version,
  a_httpResolveVsBareFastify: await httpBenchmark(),
  b_resolveLatency: latencyBenchmark(),
  c_rebuild: await rebuildBenchmark(),
};
console.log(JSON.stringify(results, null, 2));
