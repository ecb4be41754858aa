// Runs the bench's doorbell server under `node --cpu-prof` while autocannon drives one of the
// bench's loads at it (the same 50 connections), then prints where its main thread spent its
// time (scripts/profile-summary.ts).
//   npx tsx scripts/profile-server.ts resolve|route|commands|echo [seconds] [N]
// commands: bench item (c), each connection programming the vectors of its own VM (one
// MsiVectorProgrammed event a request). echo: the bench's anchor (bare fastify, validated echo)
// under its own load.

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { COMMAND_VMS, programVectorsOn, S10_VM } from '../bench/fixtures';

const [which = 'resolve', seconds = '5', top = '20'] = process.argv.slice(2);
const dir = mkdtempSync(join(tmpdir(), 'doorbell-prof-'));
const servers = fileURLToPath(new URL('../bench/servers.ts', import.meta.url));
const child = spawn(
  process.execPath,
  ['--cpu-prof', '--cpu-prof-dir', dir, '--import', 'tsx', servers, which === 'echo' ? 'bare' : 'doorbell'],
  {
    stdio: ['ignore', 'pipe', 'inherit'],
  },
);
const url = await new Promise<string>((ok) => child.stdout!.once('data', (c: Buffer) => ok(c.toString().trim())));
const options: autocannon.Options =
  which === 'commands'
    ? programVectorsOn(url, 0, COMMAND_VMS)
    : which === 'route'
      ? { url: `${url}/v1/vms/${S10_VM}/devices/hostdev0/msi-vectors/0/route`, method: 'GET' }
      : {
          url: which === 'echo' ? `${url}/echo` : `${url}/v1/vms/${S10_VM}/msi-resolutions`,
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ device: 'hostdev0', vector: 0 }),
        };
await autocannon({ ...options, connections: 50, duration: 1 });
/**
 * The server's CPU time (user + system, all its threads) in µs, from /proc: less sensitive to the
 * machine's other load than requests per second, which is what a cut should lower per request.
 */
const cpuUs = () => {
  const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100; // utime, stime in clock ticks (USER_HZ 100)
};
const from = process.hrtime.bigint() / 1000n;
const cpuBefore = cpuUs();
const result = await autocannon({ ...options, connections: 50, duration: Number(seconds) });
const cpu = cpuUs() - cpuBefore;
console.log(
  `${which}: ${Math.round(result.requests.average)} requests/s, non-2xx ${result.non2xx}, server CPU ${Math.round(cpu / result.requests.total)} µs a request`,
);
if (which === 'resolve' || which === 'commands') {
  // The record writer's group commits: how many records a commit held and how long it took.
  const metrics = await (await fetch(`${url}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics)?.[1] ?? Number.NaN);
  const batches = value('doorbell_record_writer_batch_size_count');
  console.log(
    `record writer: ${batches} commits, ${(value('doorbell_record_writer_batch_size_sum') / batches).toFixed(1)} records a commit, ${((1000 * value('doorbell_record_writer_commit_seconds_sum')) / value('doorbell_record_writer_commit_seconds_count')).toFixed(2)} ms a commit (warm-up included)`,
  );
}
child.kill('SIGINT');
await new Promise((r) => child.once('exit', r));
// One profile per thread, main thread first (its name ends in .0.001.cpuprofile): the worker
// threads (the record writer, tsx's loader) with their top 5 only.
const profiles = readdirSync(dir)
  .filter((f) => f.endsWith('.cpuprofile'))
  .sort((a, b) => Number(a.split('.').at(-3)) - Number(b.split('.').at(-3)));
const summary = fileURLToPath(new URL('./profile-summary.ts', import.meta.url));
for (const [i, profile] of profiles.entries()) {
  console.log(`${i === 0 ? 'main thread' : `thread ${i}`}: ${join(dir, profile)}`);
  spawnSync(process.execPath, ['--import', 'tsx', summary, join(dir, profile), i === 0 ? top : '5', String(from)], {
    stdio: 'inherit',
  });
}
