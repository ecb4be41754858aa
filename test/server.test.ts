// The production start as an operator runs it: `npm start` runs node on the built dist/ (no tsx),
// the first start prints the admin token once and writes it beside the database (mode 0600), a
// bad setting is one line and exit code 1, and SIGTERM to the npm process stops node itself
// within the shutdown timeout. `npm test` builds dist/ before the tests run.

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function run(
  command: string,
  args: string[],
  env: Record<string, string>,
  keepDir = false,
): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  if (!keepDir) dir = mkdtempSync(join(tmpdir(), 'doorbell-start-'));
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...process.env, DOORBELL_DB: join(dir, 'doorbell.db'), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * A request as a client sends it: a 503 with Retry-After (the load shedding of a machine busy
 * with other work, such as a start under a loaded CI) is tried again after the time it asks,
 * at most five times.
 */
async function fetchRetrying(url: string, init?: RequestInit): Promise<Response> {
  for (let attempt = 1; ; attempt += 1) {
    const response = await fetch(url, init);
    const retryAfter = Number(response.headers.get('retry-after'));
    if (response.status !== 503 || attempt === 5 || !(retryAfter >= 0)) return response;
    await new Promise((resolve) => setTimeout(resolve, retryAfter * 1000));
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('npm start', () => {
  it('serves with node alone, and SIGTERM to npm stops node within the shutdown timeout', async () => {
    const server = run('npm', ['start', '--silent'], {
      PORT: '0',
      HOST: '127.0.0.1',
      DOORBELL_SHUTDOWN_TIMEOUT_MS: '5000',
    });
    const up = await until(
      'the server to listen',
      () => /"pid":(\d+).*doorbell is up: API (http:\/\/127\.0\.0\.1:\d+)\/v1/.exec(server.output()) ?? undefined,
    );
    const nodePid = Number(up[1]);
    expect(nodePid).not.toBe(server.child.pid);
    // First start: the admin token, printed once and kept beside the database for its owner only.
    const file = join(dir, 'doorbell.db.admin-token');
    const token = readFileSync(file, 'utf8').trim();
    expect(token).toMatch(/^dbt_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(server.output().split(token).length - 1).toBe(1);
    expect((await fetchRetrying(`${up[2]}/v1/vms`)).status).toBe(401);
    const response = await fetchRetrying(`${up[2]}/v1/vms`, { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);

    server.child.kill('SIGTERM');
    const started = Date.now();
    await until('node to exit', () => (alive(nodePid) ? undefined : true), 5_000);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await server.exited).toBe(0);
    expect(server.output()).toContain('database closed; bye');
  });

  it('prints no token on a later start of the same database', async () => {
    const first = run('node', ['dist/server.js'], { PORT: '0', HOST: '127.0.0.1' });
    await until('the first start', () => (first.output().includes('doorbell is up') ? true : undefined));
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(first.output()).toContain('created the admin token');
    const second = run('node', ['dist/server.js'], { PORT: '0', HOST: '127.0.0.1' }, true);
    await until('the second start', () => (second.output().includes('doorbell is up') ? true : undefined));
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    expect(second.output()).not.toContain('admin token');
    expect(second.output()).not.toMatch(/dbt_/);
  });

  it('refuses DOORBELL_AUTH=off unless HOST is a loopback address, in one line', async () => {
    const server = run('node', ['dist/server.js'], { PORT: '0', HOST: '0.0.0.0', DOORBELL_AUTH: 'off' });
    expect(await server.exited).toBe(1);
    expect(server.output().trim()).toBe(
      'doorbell: DOORBELL_AUTH=off is accepted only with a loopback HOST (127.0.0.1, ::1 or localhost), not "0.0.0.0"',
    );
  });

  it('a bad setting is one clear line and exit code 1', async () => {
    const server = run('node', ['dist/server.js'], { PORT: 'abc' });
    expect(await server.exited).toBe(1);
    expect(server.output().trim()).toBe('doorbell: PORT must be a TCP port number (0-65535), not "abc"');
  });
});
