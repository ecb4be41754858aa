// A service process (node dist/server.js) for the suites that kill one: started on a database
// with extra environment, its address read from its start-up line. Needs `npm run build`.

import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');

export interface ServiceProcess {
  child: ChildProcess;
  base: string;
  output: () => string;
  exited: Promise<void>;
}

export async function startService(database: string, env: Record<string, string> = {}): Promise<ServiceProcess> {
  const child = spawn(process.execPath, ['dist/server.js'], {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      DOORBELL_DB: database,
      DOORBELL_AUTH: 'off',
      DOORBELL_RATE_LIMIT: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 20_000;
  for (;;) {
    const up = /doorbell is up: API (http:\/\/127\.0\.0\.1:\d+)\/v1/.exec(output);
    if (up) return { child, base: up[1] as string, output: () => output, exited };
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`service did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A JSON request as a client sends it; a 503 with Retry-After is sent again (at most five times). */
export async function callService(
  base: string,
  method: string,
  path: string,
  body?: object,
  headers: Record<string, string> = {},
) {
  for (let attempt = 1; ; attempt++) {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const retryAfter = Number(response.headers.get('retry-after'));
    if (response.status === 503 && attempt < 5 && retryAfter >= 0) {
      await response.arrayBuffer();
      await new Promise((r) => setTimeout(r, retryAfter * 1000));
      continue;
    }
    const text = await response.text();
    // biome-ignore lint/suspicious/noExplicitAny: test helper reading arbitrary JSON answers
    return { status: response.status, json: (text === '' ? {} : JSON.parse(text)) as any };
  }
}

/** Webhook settings that make a crash suite quick: short attempts, leases and back-off. */
export const FAST_WEBHOOKS = {
  DOORBELL_WEBHOOK_TIMEOUT_MS: '1000',
  DOORBELL_WEBHOOK_LEASE_MS: '2000',
  DOORBELL_WEBHOOK_RETRY_BASE_MS: '50',
};
