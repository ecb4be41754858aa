// `doorbell diff` against a listening service: a re-import that puts an SMMU in front of a NIC
// whose guest never mapped the doorbell. Before, the MSI reached the vITS untranslated (route
// installed at 0x8090040, devid 0x200: bus 2, 00.0); after, the SMMU's default stage-1 config
// translates it and finds no mapping, so KVM installs no route: the vector lost its interrupts,
// and the command exits 4.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenForCli, runCli } from '../helpers/cli';
import { startTestApp, type TestApp } from '../helpers/test-app';

const WITHOUT_SMMU = `qemu-system-aarch64 -machine virt,gic-version=3,accel=kvm -m 4G -nodefaults \\
  -device pxb-pcie,id=pcie.1,bus_nr=1,bus=pcie.0,addr=0x1 \\
  -device pcie-root-port,id=pcie.port1,bus=pcie.1,chassis=1,addr=0x0 \\
  -device virtio-net-pci,bus=pcie.port1,id=net0
`;
const WITH_SMMU = WITHOUT_SMMU.replace(
  '  -device pcie-root-port',
  '  -device arm-smmuv3,primary-bus=pcie.1,id=smmuv3.0 \\\n  -device pcie-root-port',
);

let t: TestApp;
let env: Record<string, string>;
let imported: number;
beforeAll(async () => {
  t = await startTestApp();
  env = await listenForCli(t);
  imported = (
    await t.http.post('/v1/vm-imports').send({ vm: 'lab1', format: 'qemu-cmdline', source: WITHOUT_SMMU }).expect(201)
  ).body.version;
  await t.http.put('/v1/vms/lab1/devices/net0/msi-vectors/0').send({ address: '0x8090040', data: '0x5' }).expect(200);
  await t.http.post('/v1/vms/lab1/imports').send({ format: 'qemu-cmdline', source: WITH_SMMU }).expect(200);
}, 60_000);
afterAll(async () => t.close());

describe('doorbell diff', () => {
  it('prints the SMMU added and the vector that lost its route, and exits 4', async () => {
    const run = await runCli(['diff', 'lab1'], env);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(4);
    expect(run.stdout).toMatch(/add\s+│\s+smmu smmuv3\.0/);
    expect(run.stdout).toMatch(/net0\/0\s+│\s+upstream\s+│\s+0x8090040 devid 0x200\s+│\s+none \(fault\)\s+│\s+yes/);
    expect(run.stdout).toContain(
      `lab1 from version ${imported + 1} to ${imported + 2}: 1 part(s) changed, 1 route(s) changed, 1 lost`,
    );
  });

  it('--json prints the diff as the API answers it; an empty range changes nothing and exits 0', async () => {
    const run = await runCli(['--json', 'diff', 'lab1', '--from', '1', '--to', '1'], env);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ vm: 'lab1', from: 1, to: 1, changes: [], routes: [] });
  });

  it('a version the VM does not have is refused by the server: exit 1, the parameter named', async () => {
    const run = await runCli(['diff', 'lab1', '--to', '99'], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('to: VM lab1 has versions 1 to');
  });
});
