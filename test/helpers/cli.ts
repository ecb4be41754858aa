// Running `doorbell` (node dist/cli.js) as a user does, against a test service that listens on a
// free loopback port.

import { execFile } from 'node:child_process';
import { join } from 'node:path';
import type { TestApp } from './test-app';

const ROOT = join(import.meta.dirname, '..', '..');

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs dist/cli.js asynchronously: the service under test lives in this process and must keep serving. */
export function runCli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['dist/cli.js', ...args],
      { cwd: ROOT, env: { ...process.env, ...env }, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Makes the test service listen on 127.0.0.1 and answers the environment the CLI needs for it. */
export async function listenForCli(t: TestApp): Promise<Record<string, string>> {
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  const address = t.app.server.address();
  if (address === null || typeof address === 'string') throw new Error('not listening on TCP');
  return { DOORBELL_URL: `http://127.0.0.1:${address.port}`, DOORBELL_TOKEN: t.adminToken };
}
