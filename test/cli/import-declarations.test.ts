// `doorbell import` declaring the build and the guest profile with each VM (issue 19, item 3):
// --probe-qemu asks the binary the source names (a fake 11.0 build here, test/helpers/fake-qemu.ts),
// --guest-profile and --guest-vectors declare the profile, and the report names the binary.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenForCli, runCli } from '../helpers/cli';
import { writeFakeQemu } from '../helpers/fake-qemu';
import { startTestApp, type TestApp } from '../helpers/test-app';

const dir = mkdtempSync(join(tmpdir(), 'doorbell-import-probe-'));
/** QEMU 11.0.0's answers: arm-smmuv3 with accel and msi-gpa (Q1: upstream). */
const QEMU_11 = writeFakeQemu(dir, 'qemu-11.0', {
  versionText: 'QEMU emulator version 11.0.0',
  version: { qemu: { major: 11, minor: 0, micro: 0 }, package: '' },
  properties: [
    { name: 'primary-bus', type: 'link<PCI>' },
    { name: 'accel', type: 'bool' },
    { name: 'msi-gpa', type: 'uint64' },
  ],
});

/** One accel SMMU with a vfio-pci function behind it, started by `program`. */
const accelLine = (program: string) =>
  `${program} -machine virt,gic-version=3,accel=kvm -m 4G -nodefaults -object iommufd,id=iommufd0 \\
  -device pxb-pcie,id=pcie.1,bus=pcie.0,addr=0x1,bus_nr=1 \\
  -device arm-smmuv3,id=smmuv3.0,primary-bus=pcie.1,accel=on \\
  -device pcie-root-port,id=pcie.port1,bus=pcie.1,addr=0x0,chassis=1 \\
  -device vfio-pci,id=dev0,bus=pcie.port1,host=0019:06:00.0,iommufd=iommufd0\n`;

const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

let t: TestApp;
let env: Record<string, string>;
beforeAll(async () => {
  t = await startTestApp();
  env = await listenForCli(t);
});
afterAll(() => t.close());

describe('doorbell import --probe-qemu --guest-profile', () => {
  it('probes the binary the command line names and declares its build and the profile with the VM', async () => {
    const source = file('nv1.sh', accelLine(QEMU_11));
    const run = await runCli(
      ['--json', 'import', source, '--probe-qemu', '--guest-profile', 'linux-dma', '--guest-vectors', 'dev0=4'],
      env,
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const [outcome] = JSON.parse(run.stdout);
    // The fake answers version 11.0.0 with msi-gpa among the arm-smmuv3 properties: upstream.
    expect(outcome.body.qemu).toMatchObject({ version: '11.0.0', behaviour: 'upstream' });
    expect(outcome.body.guest).toMatchObject({ profile: 'linux-dma' });
    expect(outcome.body.report.emulator).toMatchObject({ binary: QEMU_11, from: 'program', at: { token: 0 } });
    // dev0's 4 declared vectors, as the profile implies them: 0xFFFFF040 (4 KiB pages), data 0..3.
    const vectors = await t.http.get('/v1/vms/nv1/devices/dev0/msi-vectors').expect(200);
    expect(vectors.body.count).toBe(0); // nothing recorded: the vectors are assumed, not stored
    const sweep = (await t.http.post('/v1/vms/nv1/msi-sweeps').send({}).expect(201)).body;
    expect(sweep.results.map((r: { input: { address: string; data: string } }) => r.input)).toEqual([
      { address: '0xfffff040', data: '0x0' },
      { address: '0xfffff040', data: '0x1' },
      { address: '0xfffff040', data: '0x2' },
      { address: '0xfffff040', data: '0x3' },
    ]);
  });

  it('probes the binary given instead; a binary that cannot be run sends nothing (exit 2)', async () => {
    const given = await runCli(
      ['import', file('nv2.sh', accelLine('qemu-system-aarch64')), '--probe-qemu', QEMU_11],
      env,
    );
    expect(given.code).toBe(0);
    expect((await t.http.get('/v1/vms/nv2').expect(200)).body.qemu).toMatchObject({ version: '11.0.0' });
    const missing = await runCli(['import', file('nv3.sh', accelLine(join(dir, 'no-such-qemu'))), '--probe-qemu'], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot run .*no-such-qemu: ENOENT/);
    await t.http.get('/v1/vms/nv3').expect(404);
  });

  it('refuses --probe-qemu with --qemu-version, and --guest-vectors without a profile or not DEVICE=COUNT', async () => {
    const source = file('nv4.sh', accelLine(QEMU_11));
    const both = await runCli(['import', source, '--probe-qemu', '--qemu-version', '11.0.0'], env);
    expect([both.code, both.stderr]).toEqual([
      2,
      'doorbell: --probe-qemu and --qemu-version both declare the build: give one\n',
    ]);
    expect((await runCli(['import', source, '--guest-vectors', 'dev0=2'], env)).code).toBe(2);
    const bad = await runCli(['import', source, '--guest-profile', 'linux-dma', '--guest-vectors', 'dev0'], env);
    expect([bad.code, bad.stderr]).toEqual([2, 'doorbell: --guest-vectors: "dev0" is not DEVICE=COUNT\n']);
    await t.http.get('/v1/vms/nv4').expect(404);
  });

  it('doorbell sweep of a VM with nothing to judge says why: no profile, or a vfio-pci the profile cannot count', async () => {
    await runCli(['import', file('bare.sh', accelLine(QEMU_11))], env);
    const bare = await runCli(['sweep', 'bare'], env);
    expect(bare.code).toBe(0);
    expect(bare.stdout).toContain('0 vectors, 0 losing interrupts');
    expect(bare.stdout).toContain(
      'nothing was judged: bare has no programmed vectors and no guest profile to imply them',
    );
    // linux-dma without --guest-vectors: a vfio-pci's MSI-X table size is on the host (vectors-vfio).
    await runCli(['import', file('uncounted.sh', accelLine(QEMU_11)), '--guest-profile', 'linux-dma'], env);
    const uncounted = await runCli(['sweep', 'uncounted'], env);
    expect(uncounted.stdout).toContain(
      'nothing was judged: the guest profile linux-dma implies no vectors here (vectors-vfio: dev0 is vfio-pci: its MSI-X table size on the host is not in the topology',
    );
  });

  it('probe-qemu --vm without a binary probes the one the VM was imported from (metadata.importedFrom.emulator)', async () => {
    const imported = await runCli(['import', file('later.sh', accelLine(QEMU_11))], env);
    // Imported without a build: the summary names the binary to probe.
    expect(imported.stdout).toContain(`later: no QEMU build declared; the source names ${QEMU_11}`);
    const probed = await runCli(['probe-qemu', '--vm', 'later'], env);
    expect([probed.code, probed.stderr]).toEqual([0, '']);
    expect(probed.stdout).toContain(QEMU_11);
    expect((await t.http.get('/v1/vms/later').expect(200)).body.qemu).toMatchObject({
      version: '11.0.0',
      behaviour: 'upstream',
    });
  });
});
