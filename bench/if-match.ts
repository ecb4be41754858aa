// npm run load:if-match: 50 writers x 40 conditional commands on one VM against the built server
// (node dist/server.js, production settings but no rate limit) on 127.0.0.1 and a temp database,
// each writer with its own write token, retrying 412s as the README says. Prints the latencies as
// JSON. Bounded: 2,000 commands, then the server is stopped and its database removed.

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { percentile, runWriters } from './if-match-writers';

const WRITERS = Number(process.env.WRITERS ?? 50);
const COMMANDS = Number(process.env.COMMANDS ?? 40);
const dir = mkdtempSync(join(tmpdir(), 'doorbell-if-match-'));
const dbPath = join(dir, 'doorbell.db');
const child = spawn(process.execPath, ['dist/server.js'], {
  cwd: join(import.meta.dirname, '..'),
  env: { ...process.env, PORT: '0', HOST: '127.0.0.1', DOORBELL_DB: dbPath, DOORBELL_RATE_LIMIT: '0' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
let output = '';
child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
const exited = new Promise((resolve) => child.once('exit', resolve));

try {
  let base: string | undefined;
  for (const deadline = Date.now() + 20_000; base === undefined; ) {
    base = /doorbell is up: API (http:\/\/127\.0\.0\.1:\d+)\/v1/.exec(output)?.[1];
    if (Date.now() > deadline) throw new Error(`server did not start: ${output}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const admin = readFileSync(`${dbPath}.admin-token`, 'utf8').trim();
  const send = async (method: string, path: string, body: object, token = admin) => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const json = (await response.json()) as Record<string, unknown>;
    if (response.status >= 300) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(json)}`);
    return json;
  };
  await send('POST', '/v1/vms', { id: 'load', hostItsBase: '0x202100000' });
  await send('POST', '/v1/vms/load/buses', { id: 'pcie.1', type: 'pxb-pcie', busNr: 1 });
  await send('POST', '/v1/vms/load/smmus', { id: 'smmuv3.0', primaryBus: 'pcie.1', accel: true });
  await send('POST', '/v1/vms/load/buses', {
    id: 'pcie.port1',
    type: 'pcie-root-port',
    bus: 'pcie.1',
    secondaryBusNr: 2,
  });
  await send('POST', '/v1/vms/load/devices', {
    id: 'hostdev0',
    driver: 'vfio-pci',
    bus: 'pcie.port1',
    slot: 0,
    host: '0019:06:00.0',
    iommufd: 'iommufd0',
  });
  const tokens: string[] = [];
  for (let w = 0; w < WRITERS; w++)
    tokens.push((await send('POST', '/v1/tokens', { name: `writer-${w}`, scopes: ['write'] })).token as string);

  const result = await runWriters({
    base,
    tokens,
    vm: 'load',
    device: 'hostdev0',
    writers: WRITERS,
    commandsPerWriter: COMMANDS,
  });
  const ms = (values: number[]) => ({
    p50: Number(percentile(values, 50).toFixed(1)),
    p90: Number(percentile(values, 90).toFixed(1)),
    p99: Number(percentile(values, 99).toFixed(1)),
    max: Number(Math.max(...values).toFixed(1)),
  });
  console.log(
    JSON.stringify(
      {
        writers: WRITERS,
        commandsPerWriter: COMMANDS,
        acknowledged: result.acknowledged.length,
        requests: result.attempts,
        preconditionFailed: result.preconditionFailures,
        unexpected: result.unexpected,
        seconds: Number((result.wallMs / 1000).toFixed(1)),
        commandsPerSecond: Number((result.acknowledged.length / (result.wallMs / 1000)).toFixed(0)),
        requestMs: ms(result.attemptMs),
        commandMsRetriesIncluded: ms(result.commandMs),
      },
      null,
      2,
    ),
  );
} finally {
  child.kill('SIGTERM');
  await exited;
  rmSync(dir, { recursive: true, force: true });
}
