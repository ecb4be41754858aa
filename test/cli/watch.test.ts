// `doorbell watch` following the change feed of a listening service.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenForCli, runCli } from '../helpers/cli';
import { startTestApp, type TestApp } from '../helpers/test-app';

let t: TestApp;
let env: Record<string, string>;

beforeAll(async () => {
  t = await startTestApp();
  env = await listenForCli(t);
});
afterAll(() => t.close());

/**
 * Waits until the service has this many change feeds open (its own gauge), rather than guessing
 * how long a CLI process takes to start on a busy machine.
 */
async function streamsOpen(count: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const metrics = (await t.http.get('/metrics').expect(200)).text;
    const open = Number(/^doorbell_event_streams (\d+)$/m.exec(metrics)?.[1] ?? 0);
    if (open >= count) return;
    if (Date.now() > deadline) throw new Error(`${open} change feeds open after 20 s, waiting for ${count}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('doorbell watch', () => {
  it('prints the events appended while it listens, one JSON line each, and exits after --count', async () => {
    const watching = runCli(['--json', 'watch', '--vm', 'watched', '--count', '3'], env);
    // The feed starts at "now": append only once the watcher's stream is open.
    await streamsOpen(1);
    await t.http.post('/v1/vms').send({ id: 'watched' }).expect(201);
    await t.http.post('/v1/vms').send({ id: 'not-watched' }).expect(201);
    await t.http.post('/v1/vms/watched/buses').send({ id: 'pcie.1', type: 'pxb-pcie', busNr: 1, bus: 'pcie.0' });
    await t.http.post('/v1/vms/watched/smmus').send({ id: 'smmuv3.0', primaryBus: 'pcie.1', accel: true });
    const run = await watching;
    expect(run.code).toBe(0);
    const events = run.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string; position: number });
    expect(events.map((e) => e.type)).toEqual(['VmDefined', 'BusAdded', 'SmmuAdded']);
    expect(events.map((e) => e.position)).toEqual([...events.map((e) => e.position)].sort((a, b) => a - b));
  });

  it('replays history after --after, exactly once each', async () => {
    const history = (await t.http.get('/v1/vms/watched/events').expect(200)).body.results as { position: number }[];
    const run = await runCli(['--json', 'watch', '--vm', 'watched', '--after', '0', '--count', '3'], env);
    expect(run.code).toBe(0);
    const positions = run.stdout
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { position: number }).position);
    expect(positions).toEqual(history.map((e) => e.position));
  });
});

describe('doorbell watch --type', () => {
  it('prints only the events of the types named (repeatable), from history after --after', async () => {
    // The VM "watched" holds VmDefined, BusAdded, SmmuAdded (the first test): two types named.
    const run = await runCli(
      [
        '--json',
        'watch',
        '--vm',
        'watched',
        '--type',
        'SmmuAdded',
        '--type',
        'VmDefined',
        '--after',
        '0',
        '--count',
        '2',
      ],
      env,
    );
    expect(run.code).toBe(0);
    const types = run.stdout
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { type: string }).type);
    expect(types).toEqual(['VmDefined', 'SmmuAdded']);
  });
});

describe('doorbell watch across a dropped connection', () => {
  it('resumes with Last-Event-ID: every event once, in order', async () => {
    const watching = runCli(['--json', 'watch', '--vm', 'cut', '--count', '5'], env);
    await streamsOpen(1);
    await t.http.post('/v1/vms').send({ id: 'cut' }).expect(201);
    await t.http.post('/v1/vms/cut/buses').send({ id: 'pcie.1', type: 'pxb-pcie', busNr: 1, bus: 'pcie.0' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    // The server drops every connection, the stream's included; then more events come.
    t.app.server.closeAllConnections();
    await t.http.post('/v1/vms/cut/buses').send({ id: 'pcie.2', type: 'pxb-pcie', busNr: 8, bus: 'pcie.0' });
    await t.http.post('/v1/vms/cut/smmus').send({ id: 'smmuv3.0', primaryBus: 'pcie.1' });
    await t.http.post('/v1/vms/cut/smmus').send({ id: 'smmuv3.1', primaryBus: 'pcie.2' });
    const run = await watching;
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/resuming/);
    const events = run.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { streamVersion: number });
    expect(events.map((e) => e.streamVersion)).toEqual([1, 2, 3, 4, 5]);
  });
});
