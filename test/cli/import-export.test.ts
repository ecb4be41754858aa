// `doorbell import` over a folder of generated lab files and `doorbell export` back, against a
// listening service.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenForCli, runCli } from '../helpers/cli';
import { startTestApp, type TestApp } from '../helpers/test-app';

/** A command line in the shape of the domain reference's Part B example, with `ports` passthrough devices. */
function commandLine(ports: number): string {
  const lines = [
    'qemu-system-aarch64 -machine virt,gic-version=3,accel=kvm -nodefaults -cpu host -smp 4 -m 16G \\',
    '  -object iommufd,id=iommufd0 \\',
    '  -device pxb-pcie,id=pcie.1,bus_nr=1,bus=pcie.0,addr=0x1 \\',
    '  -device arm-smmuv3,primary-bus=pcie.1,id=smmuv3.0,accel=on,oas=48 \\',
  ];
  for (let k = 1; k <= ports; k++) {
    lines.push(`  -device pcie-root-port,id=pcie.port${k},bus=pcie.1,chassis=${k},addr=0x${(k - 1).toString(16)} \\`);
    lines.push(
      `  -device vfio-pci,host=0019:${(k + 5).toString(16).padStart(2, '0')}:00.0,bus=pcie.port${k},iommufd=iommufd0,id=dev${k} \\`,
    );
  }
  lines.push('  -nographic');
  return `${lines.join('\n')}\n`;
}

/** A libvirt domain in the shape of Part B's example: one pxb, one root port, one VF. */
function domainXml(name: string, host: number): string {
  return `<domain type='kvm'>
  <name>${name}</name>
  <memory unit='GiB'>16</memory>
  <features><acpi/><gic version='3'/></features>
  <devices>
    <controller type='pci' index='0' model='pcie-root'/>
    <controller type='pci' index='1' model='pcie-expander-bus'>
      <target busNr='1'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x0'/>
    </controller>
    <controller type='pci' index='2' model='pcie-root-port'>
      <target chassis='1' port='0x0'/>
      <address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>
    </controller>
    <hostdev mode='subsystem' type='pci' managed='yes'>
      <driver iommufd='yes'/>
      <source><address domain='0x0019' bus='0x${host.toString(16).padStart(2, '0')}' slot='0x00' function='0x0'/></source>
      <address type='pci' domain='0x0000' bus='0x02' slot='0x00' function='0x0'/>
    </hostdev>
    <iommu model='smmuv3'><driver pciBus='1' accel='on' oas='48'/></iommu>
  </devices>
</domain>
`;
}

let t: TestApp;
let env: Record<string, string>;
let dir: string;

beforeAll(async () => {
  t = await startTestApp();
  env = await listenForCli(t);
  dir = mkdtempSync(join(tmpdir(), 'doorbell-cli-'));
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await t.close();
});

describe('doorbell import', () => {
  it('imports a folder of 50 files, command lines and libvirt domains, and prints a summary table', async () => {
    const lab = join(dir, 'lab');
    mkdirSync(lab);
    const files: string[] = [];
    for (let i = 0; i < 50; i++) {
      const file = i % 5 === 4 ? join(lab, `xml-${i}.xml`) : join(lab, `cmd-${i}.sh`);
      writeFileSync(file, file.endsWith('.xml') ? domainXml(`xml-${i}`, 6 + (i % 8)) : commandLine(1 + (i % 4)));
      files.push(file);
    }
    const run = await runCli(['import', ...files], env);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('50 imported, 0 refused');
    expect(run.stdout.split('\n').filter((line) => line.includes('created'))).toHaveLength(50);

    const vms = await t.http.get('/v1/vms?limit=1000').expect(200);
    const ids = (vms.body.results as { id: string }[]).map((vm) => vm.id);
    for (const file of ['cmd-0', 'cmd-3', 'xml-4', 'xml-49']) expect(ids).toContain(file);
    // Part B: the first passthrough device behind pxb bus 1 sits on bus 2: stream id 0x200.
    for (const vm of ['cmd-3', 'xml-4']) {
      const devices = await t.http.get(`/v1/vms/${vm}`).expect(200);
      const first = (devices.body.devices as { id: string; streamId: string }[])[0];
      expect(first?.streamId).toBe('0x200');
    }
  });

  it('goes on past a refused file, names it on stderr and exits 1; --json gives each outcome', async () => {
    const good = join(dir, 'good-one.sh');
    const bad = join(dir, 'bad-one.sh');
    writeFileSync(good, commandLine(2));
    // A second device behind pcie.port1 without addr=: the lowest free slot is 1, and a PCIe root
    // port's secondary bus takes device 0 only (QEMU, hw/pci/pci.c do_pci_register_device: "parent
    // device only allows plugging into slot 0"): SLOT_NOT_VALID, 422.
    writeFileSync(
      bad,
      `${commandLine(1)} -device vfio-pci,host=0019:07:00.0,bus=pcie.port1,iommufd=iommufd0,id=dev9\n`,
    );
    const before = (await t.http.get('/v1/events?limit=1').expect(200)).body.count as number;
    const run = await runCli(['import', good, bad], env);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('1 imported, 1 refused');
    // stderr names the refused file, its status and code, and nothing else.
    expect(run.stderr.split('\n').filter((line) => line !== '')).toEqual([
      expect.stringMatching(
        new RegExp(`^doorbell: ${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: .*422 SLOT_NOT_VALID`),
      ),
    ]);
    const goodEvents = (await t.http.get('/v1/vms/good-one/events?limit=1').expect(200)).body.count as number;
    expect(goodEvents).toBeGreaterThan(0);
    expect((await t.http.get('/v1/events?limit=1').expect(200)).body.count - before).toBe(goodEvents);
    await t.http.get('/v1/vms/bad-one').expect(404);

    // --json: each outcome, the refused one with its status; nothing more is written.
    const again = await runCli(['--json', 'import', '--vm', 'bad-two', bad], env);
    expect(again.code).toBe(1);
    expect((JSON.parse(again.stdout) as { vm: string; status: number }[]).map((o) => [o.vm, o.status])).toEqual([
      ['bad-two', 422],
    ]);
  });
});

describe('doorbell export', () => {
  it('prints a command line that imports back to the same devices', async () => {
    const exported = await runCli(['export', 'cmd-3', '--format', 'qemu'], env);
    expect(exported.code).toBe(0);
    const file = join(dir, 'round-trip.sh');
    writeFileSync(file, exported.stdout);
    expect((await runCli(['import', file], env)).code).toBe(0);
    const streamIds = async (vm: string) =>
      ((await t.http.get(`/v1/vms/${vm}`).expect(200)).body.devices as { streamId: string }[]).map((d) => d.streamId);
    expect(await streamIds('round-trip')).toEqual(await streamIds('cmd-3'));
  });

  it('prints a libvirt domain (--format libvirt) that imports back to the same devices', async () => {
    const exported = await runCli(['export', 'xml-4', '--format', 'libvirt'], env);
    expect(exported.code).toBe(0);
    expect(exported.stdout).toMatch(/^<domain type='kvm'>/m);
    const file = join(dir, 'round-trip.xml');
    writeFileSync(file, exported.stdout);
    expect((await runCli(['import', '--vm', 'round-trip-xml', file], env)).code).toBe(0);
    const devices = async (vm: string) =>
      ((await t.http.get(`/v1/vms/${vm}`).expect(200)).body.devices as { driver: string; streamId: string }[]).map(
        (d) => [d.driver, d.streamId],
      );
    // Part B: the VF behind the root port on pxb bus 1 sits on bus 2, stream id 0x200.
    expect(await devices('round-trip-xml')).toEqual([['vfio-pci', '0x200']]);
    expect(await devices('round-trip-xml')).toEqual(await devices('xml-4'));
  });

  it('--as-of prints the VM as it was after that many events', async () => {
    // cmd-0 has one root port and one device; its first events define the VM and its pxb.
    const events = (await t.http.get('/v1/vms/cmd-0/events?limit=1000').expect(200)).body.results as {
      streamVersion: number;
      type: string;
    }[];
    const beforeDevices = events.find((e) => e.type === 'DeviceAttached')!.streamVersion - 1;
    const then = await runCli(['export', 'cmd-0', '--format', 'qemu', '--as-of', String(beforeDevices)], env);
    expect(then.code).toBe(0);
    expect(then.stdout).toContain('pxb-pcie');
    expect(then.stdout).not.toContain('vfio-pci');
    const now = await runCli(['export', 'cmd-0', '--format', 'qemu'], env);
    expect(now.stdout).toContain('vfio-pci');
    // A version the VM never reached is refused with the server's problem on stderr, exit 1.
    const never = await runCli(['export', 'cmd-0', '--as-of', '9999'], env);
    expect(never.code).toBe(1);
    expect(never.stderr).toMatch(/VERSION_NOT_FOUND/);
  });
});
