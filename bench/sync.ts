// Bench item (l): `doorbell sync --libvirt` of 200 unchanged domains. A libvirt test-driver node
// file with 200 aarch64 virt domains (each: 2 root ports, the machine SMMUv3, 2 virtio-rng behind
// it) is written here; a first sync imports them, then each timed sync finds every domain
// unchanged: the figure is its wall time (the CLI process, virsh included) and the events it
// appended, which must be 0. Skipped when virsh is not installed.

import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SYNC_DOMAINS = 200;

export function domainXml(i: number): string {
  const port = (index: number, slot: number) => `
      <controller type='pci' index='${index}' model='pcie-root-port'>
        <target chassis='${index}' port='0x${(slot * 8).toString(16)}'/>
        <address type='pci' domain='0x0000' bus='0x00' slot='0x${slot.toString(16).padStart(2, '0')}' function='0x0'/>
      </controller>`;
  const rng = (alias: string, bus: number) => `
      <rng model='virtio'>
        <backend model='random'>/dev/urandom</backend>
        <alias name='ua-${alias}'/>
        <address type='pci' domain='0x0000' bus='0x${bus.toString(16).padStart(2, '0')}' slot='0x00' function='0x0'/>
      </rng>`;
  return `  <domain type='kvm'>
    <name>bench-${String(i).padStart(3, '0')}</name>
    <uuid>5eb0c0de-0000-4000-8000-${i.toString(16).padStart(12, '0')}</uuid>
    <memory unit='GiB'>4</memory>
    <os><type arch='aarch64' machine='virt'>hvm</type></os>
    <features><acpi/><gic version='3'/></features>
    <devices>
      <emulator>/usr/bin/qemu-system-aarch64</emulator>
      <controller type='pci' index='0' model='pcie-root'/>${port(1, 1)}${port(2, 2)}${rng('rng0', 1)}${rng('rng1', 2)}
      <iommu model='smmuv3'/>
    </devices>
  </domain>
`;
}

function hasVirsh(): boolean {
  try {
    execFileSync('virsh', ['--version'], { timeout: 20_000 });
    return true;
  } catch {
    return false;
  }
}

/** Runs the CLI (from source, as the bench runs) and answers its JSON and wall time. */
function syncOnce(url: string, uri: string): Promise<{ ms: number; eventsAppended: number; actions: string[] }> {
  const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
  const started = performance.now();
  return new Promise((ok, fail) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', cli, '--server', url, '--json', 'sync', '--libvirt', uri],
      { maxBuffer: 64 * 1024 * 1024, timeout: 600_000 },
      (error, stdout, stderr) => {
        const ms = performance.now() - started;
        if (error !== null) return fail(new Error(`sync failed: ${stderr || error.message}`));
        const answer = JSON.parse(stdout) as { eventsAppended: number; results: { action: string }[] };
        ok({ ms, eventsAppended: answer.eventsAppended, actions: answer.results.map((r) => r.action) });
      },
    );
  });
}

/** `startServer` and `eventTotal` are run.ts's: a doorbell child process, and the log's length. */
export async function syncBenchmark(
  startServer: () => Promise<{ url: string; child: { kill: (signal: NodeJS.Signals) => void } }>,
  eventTotal: (url: string) => Promise<number>,
  rounds: number,
) {
  if (!hasVirsh()) return { skipped: 'no virsh on this machine (apt-get install libvirt-clients)' };
  const dir = mkdtempSync(join(tmpdir(), 'doorbell-bench-sync-'));
  const node = join(dir, 'node.xml');
  writeFileSync(node, `<node>\n${Array.from({ length: SYNC_DOMAINS }, (_, i) => domainXml(i)).join('')}</node>\n`);
  const uri = `test://${node}`;
  const { url, child } = await startServer();
  try {
    const first = await syncOnce(url, uri);
    if (first.actions.filter((a) => a === 'new').length !== SYNC_DOMAINS)
      throw new Error(`the first sync did not import all ${SYNC_DOMAINS} domains: ${first.actions.join(',')}`);
    const samples: number[] = [];
    let appended = 0;
    for (let r = 0; r < rounds; r++) {
      const before = await eventTotal(url);
      const run = await syncOnce(url, uri);
      if (run.actions.some((a) => a !== 'unchanged')) throw new Error(`not all unchanged: ${run.actions.join(',')}`);
      appended += (await eventTotal(url)) - before;
      samples.push(run.ms);
    }
    samples.sort((a, b) => a - b);
    return {
      domains: SYNC_DOMAINS,
      firstSyncMs: Math.round(first.ms),
      medianMs: Math.round(samples[samples.length >> 1]!),
      eventsAppended: appended,
    };
  } finally {
    child.kill('SIGINT');
    rmSync(dir, { recursive: true, force: true });
  }
}
