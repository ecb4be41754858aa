// `doorbell sync --libvirt URI` against a real libvirt: Debian's virsh with the test driver
// (test:///ABSOLUTE/PATH/node.xml, no daemon) reading the node files of test/fixtures/sync (their
// README says what each domain is and what changes between node-v1 and node-v2).

import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { vmIdOfDomain } from '../../src/cli/virsh';
import { listenForCli, runCli } from '../helpers/cli';
import { eventCount, startTestApp, type TestApp } from '../helpers/test-app';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'sync');
const fixture = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');

const hasVirsh = (() => {
  try {
    execFileSync('virsh', ['--version'], { encoding: 'utf8', timeout: 20_000 });
    return true;
  } catch {
    return false;
  }
})();
if (!hasVirsh) console.log('sync: no virsh on this machine (apt-get install libvirt-clients), the sync suite skips');

interface Row {
  domain: string;
  vm: string | null;
  action: string;
  changes: string[];
  routesChanged: number;
  eventsAppended: number;
  note: string;
}
interface SyncJson {
  dryRun: boolean;
  orphans: string;
  eventsAppended: number;
  results: Row[];
}

async function sync(env: Record<string, string>, args: string[]) {
  const run = await runCli(['--json', 'sync', ...args], env);
  const answer = JSON.parse(run.stdout) as SyncJson;
  const byDomain = Object.fromEntries(answer.results.map((r) => [r.domain, r]));
  return { ...run, answer, byDomain };
}

/** Each domain's action, as a plain record (one expectation shows the whole table). */
const actions = (byDomain: Record<string, Row>) =>
  Object.fromEntries(Object.entries(byDomain).map(([domain, r]) => [domain, r.action]));

describe.skipIf(!hasVirsh)('doorbell sync --libvirt (virsh, test driver)', () => {
  let t: TestApp;
  let env: Record<string, string>;
  // One connection whose node file changes between syncs, as a host's domains do: it holds
  // node-v1.xml, then node-v2.xml.
  const dir = mkdtempSync(join(tmpdir(), 'doorbell-sync-'));
  const node = join(dir, 'node.xml');
  const URI = `test://${node}`;

  beforeAll(async () => {
    t = await startTestApp();
    env = await listenForCli(t);
    writeFileSync(node, fixture('node-v1.xml'));
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await t.close();
  });

  it('--dry-run of the first sync plans every new domain and writes nothing', async () => {
    const run = await sync(env, ['--libvirt', URI, '--dry-run']);
    expect(run.answer.dryRun).toBe(true);
    expect(actions(run.byDomain)).toEqual({
      'lab-a': 'new',
      'lab-b': 'new',
      'lab-c': 'new',
      'lab-d': 'new',
      'lab-e': 'new',
      'lab-f': 'refused',
      'x86-build': 'skipped',
    });
    // Events each import would append, counted from node-v1.xml: VmDefined, one BusAdded per root
    // port, SmmuAdded for <iommu>, one DeviceAttached per hostdev or rng.
    expect(run.byDomain['lab-a']?.changes).toEqual(['4 events']); // 1 + 2 ports + 1 hostdev
    expect(run.byDomain['lab-b']?.changes).toEqual(['5 events']); // 1 + 2 ports + 2 hostdevs
    expect(run.byDomain['lab-e']?.changes).toEqual(['6 events']); // 1 + 2 ports + smmu + 2 rngs
    expect(run.byDomain['lab-f']?.note).toMatch(/^422 VFIO_BEHIND_EMULATED_SMMU: line \d+, column \d+: R8: /);
    expect(run.answer.eventsAppended).toBe(0);
    expect(await eventCount(t)).toBe(0);
    expect(run.code).toBe(1); // lab-f is refused
  });

  it('a first sync imports every aarch64 virt domain; a refused one does not stop the others', async () => {
    const run = await sync(env, ['--libvirt', URI]);
    expect(actions(run.byDomain)).toEqual({
      'lab-a': 'new',
      'lab-b': 'new',
      'lab-c': 'new',
      'lab-d': 'new',
      'lab-e': 'new',
      'lab-f': 'refused',
      'x86-build': 'skipped',
    });
    // lab-f: a VFIO hostdev behind the machine-wide emulated SMMUv3, refused as QEMU refuses it (R8).
    expect(run.byDomain['lab-f']?.note).toMatch(/^422 VFIO_BEHIND_EMULATED_SMMU: line \d+, column \d+ \(<hostdev/);
    expect(run.byDomain['x86-build']?.note).toBe('arch x86_64: only aarch64 domains are taken');
    // 4 + 5 + 4 + 4 + 6 events, as counted in the dry run above.
    expect(run.answer.eventsAppended).toBe(23);
    expect(await eventCount(t)).toBe(23);
    expect(run.code).toBe(1);
    const vms = (await t.http.get('/v1/vms?limit=100').expect(200)).body as { results: { id: string }[] };
    expect(vms.results.map((v) => v.id).sort()).toEqual(['lab-a', 'lab-b', 'lab-c', 'lab-d', 'lab-e']);
    // Each VM remembers where it came from: the events' reason names the connection and the domain.
    const events = (await t.http.get('/v1/vms/lab-c/events').expect(200)).body as {
      results: { metadata: { reason?: string; importedFrom?: { format: string } } }[];
    };
    expect(events.results[0]?.metadata.reason).toBe(`doorbell sync --libvirt ${URI}: domain lab-c`);
    expect(events.results[0]?.metadata.importedFrom?.format).toBe('libvirt-xml');
  });

  it('a second sync of the same node appends nothing', async () => {
    const before = await eventCount(t);
    const run = await sync(env, ['--libvirt', URI]);
    expect(actions(run.byDomain)).toMatchObject({
      'lab-a': 'unchanged',
      'lab-b': 'unchanged',
      'lab-c': 'unchanged',
      'lab-d': 'unchanged',
      'lab-e': 'unchanged',
    });
    expect(run.answer.eventsAppended).toBe(0);
    expect(await eventCount(t)).toBe(before);
  });

  it('the node changed: exactly the added hostdev, the removed one, the added root port, the domain gone', async () => {
    writeFileSync(node, fixture('node-v2.xml'));
    const dry = await sync(env, ['--libvirt', URI, '--dry-run']);
    const before = await eventCount(t);
    const run = await sync(env, ['--libvirt', URI]);
    for (const answer of [dry, run])
      expect(actions(answer.byDomain)).toEqual({
        'lab-a': 'changed',
        'lab-b': 'changed',
        'lab-c': 'changed',
        'lab-d': 'orphaned',
        'lab-e': 'unchanged',
        'lab-f': 'refused',
        'x86-build': 'skipped',
        'sbsa-1': 'skipped',
      });
    // The --dry-run before wrote nothing; the sync itself appended the changes.
    expect(dry.answer.eventsAppended).toBe(0);
    // From node-v1 to node-v2 (fixtures README): lab-a gains hostdev nic1, lab-b loses nic0,
    // lab-c gains the root port of controller index 2 (libvirt's alias for it: pci.2).
    expect(run.byDomain['lab-a']?.changes).toEqual(['+device nic1']);
    expect(run.byDomain['lab-b']?.changes).toEqual(['-device nic0']);
    expect(run.byDomain['lab-c']?.changes).toEqual(['+bus pci.2']);
    expect(dry.byDomain['lab-a']?.changes).toEqual(['+device nic1']);
    expect(run.byDomain['lab-e']?.changes).toEqual([]);
    expect(run.byDomain['lab-d']?.note).toMatch(/VM kept \(--orphans keep, the default/);
    expect(run.byDomain['sbsa-1']?.note).toBe('machine sbsa-ref: only the virt machine is taken');
    expect(await eventCount(t)).toBe(before + run.answer.eventsAppended);
    expect(run.answer.eventsAppended).toBe(3); // DeviceAttached, DeviceDetached, BusAdded
    const devices = (await t.http.get('/v1/vms/lab-b/devices').expect(200)).body as { results: { id: string }[] };
    expect(devices.results.map((d) => d.id)).toEqual(['nic1']);

    // ... and the same node again appends nothing.
    const again = await sync(env, ['--libvirt', URI]);
    expect(again.answer.eventsAppended).toBe(0);
    expect(await eventCount(t)).toBe(before + run.answer.eventsAppended);
  });

  it('--orphans decommission takes the VM of a domain gone out of service, once', async () => {
    const dry = await sync(env, ['--libvirt', URI, '--orphans', 'decommission', '--dry-run']);
    expect(dry.byDomain['lab-d']).toMatchObject({ action: 'orphaned', note: 'domain gone; would be decommissioned' });
    expect(((await t.http.get('/v1/vms/lab-d').expect(200)).body as { status: string }).status).toBe('active');

    const run = await sync(env, ['--libvirt', URI, '--orphans', 'decommission']);
    expect(run.byDomain['lab-d']).toMatchObject({ action: 'orphaned', eventsAppended: 1 });
    expect(((await t.http.get('/v1/vms/lab-d').expect(200)).body as { status: string }).status).toBe('decommissioned');
    const again = await sync(env, ['--libvirt', URI, '--orphans', 'decommission']);
    expect(again.byDomain['lab-d']).toBeUndefined();
  });

  it('--match picks domains; a VM of the same id made another way is not touched', async () => {
    const run = await sync(env, ['--libvirt', URI, '--match', '^lab-[ab]$']);
    expect(Object.keys(run.byDomain).sort()).toEqual(['lab-a', 'lab-b']);
    // The same domains seen through another connection are not that connection's VMs.
    const other = `test://${join(FIXTURES, 'node-v2.xml')}`;
    const foreign = await sync(env, ['--libvirt', other, '--match', '^lab-a$']);
    expect(foreign.byDomain['lab-a']).toMatchObject({ action: 'refused' });
    expect(foreign.byDomain['lab-a']?.note).toContain('was not brought in by a sync of');
    expect(foreign.code).toBe(1);
  });

  it('prints a table and says the orphan policy', async () => {
    const run = await runCli(['sync', '--libvirt', URI, '--dry-run'], env);
    expect(run.stdout).toMatch(/domain\s+│\s+vm\s+│\s+action\s+│\s+changes\s+│\s+routes changed/);
    expect(run.stdout).toMatch(/│ sbsa-1\s+│\s+│ skipped/);
    expect(run.stdout).toContain('dry run: nothing written; orphans: keep');
  });

  it('wrong usage and an unreachable libvirt exit 2', async () => {
    expect((await runCli(['sync', '--libvirt', URI, '--orphans', 'delete'], env)).code).toBe(2);
    expect((await runCli(['sync', '--libvirt', URI, '--match', '('], env)).code).toBe(2);
    const missing = await runCli(['sync', '--libvirt', 'test:///nonexistent/node.xml'], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('virsh -c test:///nonexistent/node.xml list --all --name failed');
  });
});

describe.skipIf(!hasVirsh)('doorbell sync --guest-profile --probe-qemu', () => {
  let t: TestApp;
  let env: Record<string, string>;
  const dir = mkdtempSync(join(tmpdir(), 'doorbell-sync-'));

  beforeAll(async () => {
    t = await startTestApp();
    env = await listenForCli(t);
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await t.close();
  });

  /** A QEMU that answers as Debian's 7.2.22 does (read from the real binary), and logs each run. */
  function fakeQemu(): { path: string; runs: () => number } {
    const path = join(dir, 'qemu-system-aarch64');
    const log = `${path}.runs`;
    writeFileSync(log, '');
    const version = { qemu: { major: 7, minor: 2, micro: 22 }, package: 'Debian 1:7.2+dfsg-7+deb12u18+b3' };
    writeFileSync(
      path,
      `#!${process.execPath}
const fs = require('node:fs');
fs.appendFileSync(${JSON.stringify(log)}, 'run\\n');
if (process.argv.includes('--version')) { console.log('QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)'); process.exit(0); }
const out = (m) => process.stdout.write(JSON.stringify(m) + '\\n');
out({ QMP: { version: ${JSON.stringify(version)}, capabilities: [] } });
require('node:readline').createInterface({ input: process.stdin }).on('line', (line) => {
  const { execute } = JSON.parse(line);
  if (execute === 'query-version') out({ return: ${JSON.stringify(version)} });
  else if (execute === 'device-list-properties') out({ return: [{ name: 'primary-bus', type: 'link<PCI>' }] });
  else { out({ return: {} }); if (execute === 'quit') process.exit(0); }
});
`,
    );
    chmodSync(path, 0o755);
    return { path, runs: () => readFileSync(log, 'utf8').split('\n').filter(Boolean).length };
  }

  it('declares the profile and the build, probing each distinct <emulator> once; says when it could not', async () => {
    const qemu = fakeQemu();
    // node-v1 with lab-a..lab-c on the fake binary and lab-d on a path that does not exist.
    const node = join(dir, 'node.xml');
    const text = fixture('node-v1.xml')
      .replace(/(<name>lab-d<\/name>[\s\S]*?<emulator>)[^<]*/, '$1/nonexistent/qemu-system-aarch64')
      .replaceAll('<emulator>/usr/bin/qemu-system-aarch64</emulator>', `<emulator>${qemu.path}</emulator>`);
    writeFileSync(node, text);
    const run = await sync(env, [
      '--libvirt',
      `test://${node}`,
      '--match',
      '^lab-[a-d]$',
      '--guest-profile',
      'linux-dma',
      '--probe-qemu',
    ]);
    expect(actions(run.byDomain)).toEqual({ 'lab-a': 'new', 'lab-b': 'new', 'lab-c': 'new', 'lab-d': 'new' });
    // One probe of the shared binary: two runs (--version, then the QMP session) for three domains.
    expect(qemu.runs()).toBe(2);
    expect(run.byDomain['lab-a']?.note).toBe(`build probed from ${qemu.path}`);
    expect(run.byDomain['lab-d']?.note).toMatch(/^build not declared: cannot run \/nonexistent\/qemu-system-aarch64/);

    const vm = (await t.http.get('/v1/vms/lab-a').expect(200)).body as {
      guest: { profile: string } | null;
      qemu: { version: string | null };
    };
    expect(vm.guest?.profile).toBe('linux-dma');
    expect(vm.qemu.version).toBe('7.2.22');
    const undeclared = (await t.http.get('/v1/vms/lab-d').expect(200)).body as { qemu: { version: string | null } };
    expect(undeclared.qemu.version).toBeNull();
  });

  it("a domain whose name needs quoting (spaces, quotes) is read, and its VM id is the name's slug", async () => {
    const node = join(dir, 'quoted.xml');
    writeFileSync(
      node,
      fixture('node-v1.xml').replace('<name>lab-a</name>', '<name>Lab &quot;A&quot; 1&apos;s</name>'),
    );
    const run = await sync(env, ['--libvirt', `test://${node}`, '--match', '^Lab ']);
    expect(run.answer.results).toMatchObject([{ domain: 'Lab "A" 1\'s', vm: 'lab-a-1-s', action: 'new' }]);
  });

  it('--interval syncs again until SIGTERM, then exits with the last pass', async () => {
    const node = join(dir, 'interval.xml');
    writeFileSync(node, fixture('node-v1.xml'));
    const child = spawn(
      process.execPath,
      ['dist/cli.js', '--json', 'sync', '--libvirt', `test://${node}`, '--match', '^lab-e$', '--interval', '1'],
      { cwd: join(import.meta.dirname, '..', '..'), env: { ...process.env, ...env } },
    );
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    // Two passes (one JSON line each), then the signal.
    while (out.split('\n').filter(Boolean).length < 2) await new Promise((r) => setTimeout(r, 50));
    const exited = new Promise<number | null>((ok) => child.once('exit', (code) => ok(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const passes = out
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as SyncJson & { pass: number });
    expect(passes[0]?.pass).toBe(1);
    expect(passes[1]?.pass).toBe(2);
    expect(passes[0]?.results[0]?.action).toBe('new');
    expect(passes[1]?.results[0]?.action).toBe('unchanged');
  });

  it('--interval outlives a service that does not answer, and exits with that pass', async () => {
    const child = spawn(
      process.execPath,
      ['dist/cli.js', 'sync', '--libvirt', `test://${join(FIXTURES, 'node-v1.xml')}`, '--interval', '1'],
      { cwd: join(import.meta.dirname, '..', '..'), env: { ...process.env, DOORBELL_URL: 'http://127.0.0.1:9' } },
    );
    let err = '';
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });
    while (!err.includes('pass 2:')) await new Promise((r) => setTimeout(r, 50));
    const exited = new Promise<number | null>((ok) => child.once('exit', (code) => ok(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(3);
    expect(err).toMatch(/^doorbell: pass 1: cannot reach http:\/\/127\.0\.0\.1:9 .*; again in 1 s$/m);
  });

  it('an unknown profile is wrong usage', async () => {
    expect((await runCli(['sync', '--libvirt', 'test:///default', '--guest-profile', 'windows'], env)).code).toBe(2);
  });
});

describe.skipIf(!hasVirsh)('doorbell sync: a change that makes a vector lose its interrupts', () => {
  let t: TestApp;
  let env: Record<string, string>;
  const dir = mkdtempSync(join(tmpdir(), 'doorbell-sync-'));
  const node = join(dir, 'node.xml');
  const URI = `test://${node}`;

  beforeAll(async () => {
    t = await startTestApp();
    env = await listenForCli(t);
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await t.close();
  });

  it('the lab puts the SMMUv3 in front of a device whose guest programmed the ITS directly: exit 4', async () => {
    // lab-c of node-v1 without its <iommu>: rng0 on root port pci.1, no vIOMMU.
    const withSmmu = fixture('node-v1.xml');
    const withoutSmmu = withSmmu.replace(/(<name>lab-c<\/name>[\s\S]*?)\s*<iommu model='smmuv3'\/>/, '$1');
    expect(withoutSmmu).not.toBe(withSmmu);
    writeFileSync(node, withoutSmmu);
    expect((await sync(env, ['--libvirt', URI, '--match', '^lab-c$'])).byDomain['lab-c']?.action).toBe('new');
    // Without an IOMMU the guest writes the vITS doorbell's GPA itself: GITS_TRANSLATER of the
    // virt board is 0x08080000 + 0x10000 + 0x40 = 0x8090040 (hw/arm/virt.c VIRT_GIC_ITS), so the
    // vector is installed.
    await t.http
      .put('/v1/vms/lab-c/devices/rng0/msi-vectors/0')
      .send({ address: '0x8090040', data: '0x1' })
      .expect(200);
    const route = await t.http.get('/v1/vms/lab-c/devices/rng0/msi-vectors/0/route').expect(200);
    expect(route.body.route.installed).toBe(true);

    // The lab adds <iommu model='smmuv3'/>: the machine SMMU now translates rng0's DMA, and the
    // guest's 0x8090040 is an IOVA: the device's STE is the default (stage 1) and no stage-1
    // mapping covers it, so the walk faults (F_TRANSLATION) and the vector loses its interrupts.
    writeFileSync(node, withSmmu);
    const before = await eventCount(t);
    const dry = await sync(env, ['--libvirt', URI, '--match', '^lab-c$', '--dry-run']);
    expect(dry.code).toBe(4);
    expect(await eventCount(t)).toBe(before);
    const run = await sync(env, ['--libvirt', URI, '--match', '^lab-c$']);
    expect(run.code).toBe(4);
    expect(run.byDomain['lab-c']).toMatchObject({ action: 'changed', routesChanged: 1 });
    expect(run.byDomain['lab-c']?.changes).toContain('+smmu iommu0');
    expect(run.byDomain['lab-c']?.note).toBe('1 vectors lose their interrupts');
    const after = await t.http.get('/v1/vms/lab-c/devices/rng0/msi-vectors/0/route').expect(200);
    expect(after.body.route).toMatchObject({ installed: false, cause: 'fault' });
  });
});

describe('the VM id of a domain', () => {
  it('is a slug of the name', () => {
    expect(vmIdOfDomain('lab-a')).toBe('lab-a');
    expect(vmIdOfDomain('Web Server #2')).toBe('web-server-2');
    expect(vmIdOfDomain('_build.arm64')).toBe('build.arm64');
    expect(vmIdOfDomain('x'.repeat(80))).toHaveLength(64);
  });
});
