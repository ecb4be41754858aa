// `doorbell probe-qemu [BINARY]` as a user runs it: against Debian's qemu-system-aarch64 7.2 when
// the machine has it, and against fake binaries (small node scripts, test/helpers/fake-qemu.ts) that answer as
// an 11.0 build, as 7.2.22 does, or not at all.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { declarationOf } from '../../src/cli/probe-qemu';
import { listenForCli, runCli } from '../helpers/cli';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { type FakeAnswers, writeFakeQemu } from '../helpers/fake-qemu';
import { command } from '../helpers/topology';

const dir = mkdtempSync(join(tmpdir(), 'doorbell-probe-'));
const fakeQemu = (name: string, answers: FakeAnswers) => writeFakeQemu(dir, name, answers);

/** An 11.0-like build: arm-smmuv3 with smmu_per_bus, accel and msi-gpa (QEMU 11.0.0's properties). */
const QEMU_11 = fakeQemu('qemu-11.0', {
  versionText: 'QEMU emulator version 11.0.0\nCopyright (c) 2003-2026 Fabrice Bellard and the QEMU Project developers',
  version: { qemu: { major: 11, minor: 0, micro: 0 }, package: '' },
  properties: [
    { name: 'primary-bus', type: 'link<PCI>' },
    { name: 'smmu_per_bus', type: 'bool' },
    { name: 'stage', type: 'str' },
    { name: 'accel', type: 'bool' },
    { name: 'msi-gpa', type: 'uint64' },
  ],
});

/** The answers Debian 12's qemu-system-aarch64 7.2.22 gives (read from the real binary). */
const QEMU_7_2 = fakeQemu('qemu-7.2', {
  versionText: 'QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)',
  version: { qemu: { major: 7, minor: 2, micro: 22 }, package: 'Debian 1:7.2+dfsg-7+deb12u18+b3' },
  properties: [
    { name: 'primary-bus', type: 'link<PCI>' },
    { 'default-value': 0, name: 'bus_num', type: 'uint8' },
  ],
});

const HANGS = fakeQemu('qemu-hangs', {
  versionText: 'QEMU emulator version 11.0.0',
  version: { qemu: { major: 11, minor: 0, micro: 0 }, package: '' },
  properties: [],
  hang: true,
});

const hasDebianQemu = (() => {
  try {
    return execFileSync('qemu-system-aarch64', ['--version'], { encoding: 'utf8', timeout: 20_000 }).startsWith(
      'QEMU emulator version',
    );
  } catch {
    return false;
  }
})();
if (!hasDebianQemu) console.log('probe-qemu: no qemu-system-aarch64 on this machine, the Debian 7.2 test skips');

/** The capability table's rows as [capability, creates]. */
function creates(stdout: string): Record<string, string> {
  const rows = stdout
    .split('\n')
    .map((line) =>
      line
        .split('│')
        .map((c) => c.trim())
        .filter(Boolean),
    )
    .filter((cells) => cells.length === 4 && cells[0] !== 'capability');
  return Object.fromEntries(rows.map((cells) => [cells[0], cells[1]]));
}

let t: TestApp;
let env: Record<string, string>;

beforeAll(async () => {
  t = await startTestApp();
  env = await listenForCli(t);
});
afterAll(() => t.close());

describe.skipIf(!hasDebianQemu)("Debian's qemu-system-aarch64 (7.2)", () => {
  it('behaviour none (Q3, the property probe), machine SMMU only: no -device arm-smmuv3, no accel', async () => {
    const run = await runCli(['probe-qemu'], env);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/behaviour\s+│ none/);
    expect(creates(run.stdout)).toMatchObject({
      'machine-smmuv3': 'yes',
      'device-smmuv3': 'no',
      'smmuv3-accel': 'no',
    });
    // The --version text and QMP agree: 7.2.22 from the package series 7.2, no conflict row.
    expect(run.stdout).not.toContain('conflict');
  });
});

describe('an 11.0-like binary (accel and msi-gpa)', () => {
  it('prints Q1 upstream and every capability, and --json the declaration it would send', async () => {
    const table = await runCli(['probe-qemu', QEMU_11], env);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/rule\s+│ Q1: property probe/);
    expect(Object.values(creates(table.stdout))).toEqual(['yes', 'yes', 'yes', 'yes', 'yes']);

    const run = await runCli(['--json', 'probe-qemu', QEMU_11], env);
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout);
    expect(out.classification).toMatchObject({ version: '11.0.0', behaviour: 'upstream', rule: 'Q1', conflicts: [] });
    expect(out.qemu.queryVersion).toEqual({ qemu: { major: 11, minor: 0, micro: 0 }, package: '' });
    expect(out.capabilities.map((c: { capability: string; can: boolean }) => [c.capability, c.can])).toEqual([
      ['machine-smmuv3', true],
      ['device-smmuv3', true],
      ['smmuv3-accel', true],
      ['virtio-iommu', true],
      ['virtio-iommu-acpi', true],
    ]);
    expect(out.declared).toBeNull();
  });

  it('--vm declares it on the VM (PUT /v1/vms/{vm}/qemu): the VM then reads Q1 upstream', async () => {
    await command(t, 'post', '/v1/vms', { id: 'probed' });
    const run = await runCli(['probe-qemu', QEMU_11, '--vm', 'probed'], env);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('declared on VM probed');
    const vm = (await t.http.get('/v1/vms/probed').expect(200)).body;
    expect(vm.qemu).toMatchObject({ version: '11.0.0', behaviour: 'upstream', rule: 'Q1' });
  });
});

describe('--vm on a VM the build cannot hold', () => {
  it("7.2.22's answers on a VM with an SMMU on pcie.1: exit 1, the server's 422 QEMU_BUILD_LACKS_CAPABILITY", async () => {
    await command(t, 'post', '/v1/vms', { id: 'two-rc' });
    await command(t, 'post', '/v1/vms/two-rc/buses', { id: 'pcie.1', type: 'pxb-pcie', busNr: 1 });
    await command(t, 'post', '/v1/vms/two-rc/smmus', { id: 'smmuv3.1', primaryBus: 'pcie.1' });
    const run = await runCli(['probe-qemu', QEMU_7_2, '--vm', 'two-rc'], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/422 QEMU_BUILD_LACKS_CAPABILITY/);
    expect(run.stdout).toBe('');
  });
});

describe('a binary that does not answer', () => {
  it('hangs after the greeting: exit 1 within the timeout, the step named, the process killed', async () => {
    const started = Date.now();
    const run = await runCli(['probe-qemu', HANGS, '--timeout', '1'], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('gave no answer within 1 s (waiting for the answer to qmp_capabilities); killed it');
    expect(Date.now() - started).toBeLessThan(15_000);
    const pid = Number(readFileSync(`${HANGS}.pid`, 'utf8'));
    expect(() => process.kill(pid, 0)).toThrow();
  });

  it('a binary that cannot be run: exit 2', async () => {
    const run = await runCli(['probe-qemu', join(dir, 'no-such-qemu')], env);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('cannot run');
  });
});

describe('declarationOf: what the answers become', () => {
  it('DeviceNotFound for arm-smmuv3 is declared as an empty property list (no such type)', () => {
    const qemu = declarationOf(
      'QEMU emulator version 2.11.0\n',
      { return: { qemu: { major: 2, minor: 11, micro: 0 }, package: '' } },
      { error: { class: 'DeviceNotFound', desc: "Device 'arm-smmuv3' not found" } },
    );
    expect(qemu).toEqual({
      versionText: 'QEMU emulator version 2.11.0',
      queryVersion: { qemu: { major: 2, minor: 11, micro: 0 }, package: '' },
      smmuProperties: [],
    });
  });

  it('another error leaves the properties out: nothing is known of them', () => {
    const qemu = declarationOf(
      'QEMU emulator version 10.2.0',
      { error: { class: 'CommandNotFound', desc: 'no' } },
      { error: { class: 'GenericError', desc: 'odd' } },
    );
    expect(qemu).toEqual({ versionText: 'QEMU emulator version 10.2.0' });
  });
});
