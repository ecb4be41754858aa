// `doorbell`, the command line, run as a user runs it (node dist/cli.js) against a listening
// service: what it prints and the exit codes scripts rely on.

import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenForCli, runCli } from '../helpers/cli';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { acceleratedS10 } from '../helpers/topology';

const ROOT = join(import.meta.dirname, '..', '..');

let t: TestApp;
let env: Record<string, string>;

beforeAll(async () => {
  t = await startTestApp();
  env = await listenForCli(t);
  await acceleratedS10(t, 's10');
});
afterAll(() => t.close());

describe('doorbell sweep', () => {
  it('prints a row per vector with the route under each QEMU behaviour', async () => {
    const run = await runCli(['sweep', 's10'], env);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const row = run.stdout.split('\n').find((line) => line.includes('hostdev0/0'));
    expect(row).toBeDefined();
    // pre-fix routes to the gIOVA, address-space and upstream to the vITS doorbell.
    const cells = row!
      .split('│')
      .map((c) => c.trim())
      .filter(Boolean);
    expect(cells).toEqual(['hostdev0/0', '0xfffff040', '0xfffff040', '0x8090040', '0x8090040', 'yes', 'no']);
    expect(run.stdout).toContain('1 vectors, 0 losing interrupts');
  });

  it('exits 4 when a vector loses its interrupts, and --json prints the whole sweep', async () => {
    const run = await runCli(['--json', 'sweep', 's10', '--semantics', 'pre-fix'], env);
    expect(run.code).toBe(4);
    const sweep = JSON.parse(run.stdout) as { semantics: string; results: { diagnostics: { code: string }[] }[] };
    expect(sweep.semantics).toBe('pre-fix');
    expect(sweep.results).toHaveLength(1);
    expect(sweep.results[0]!.diagnostics.map((d) => d.code)).toContain('INTERRUPTS_LOST');
  });
});

describe('exit codes', () => {
  it('1 when the server refuses, with its problem on stderr', async () => {
    const run = await runCli(['sweep', 'no-such-vm'], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/404 VM_NOT_FOUND/);
    expect(run.stdout).toBe('');
  });

  it('1 without a token, naming the 401', async () => {
    const run = await runCli(['sweep', 's10'], { ...env, DOORBELL_TOKEN: '' });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/401/);
  });

  it('2 for a wrong command line', async () => {
    expect((await runCli(['sweep'], env)).code).toBe(2);
    expect((await runCli(['frobnicate'], env)).code).toBe(2);
    expect((await runCli(['sweep', 's10', '--semantics', 'newest'], env)).code).toBe(2);
    expect((await runCli(['watch', '--count', '0'], env)).code).toBe(2);
    const missing = await runCli(['import', join(ROOT, 'no-such-file.xml')], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot read .*no-such-file\.xml: ENOENT/);
  });

  it('3 when nothing listens at --server', async () => {
    const run = await runCli(['--server', 'http://127.0.0.1:9', 'sweep', 's10'], env);
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/cannot reach http:\/\/127\.0\.0\.1:9/);
  });

  it('0 for --help', async () => {
    const run = await runCli(['--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Exit codes: 0 ok/);
  });
});
