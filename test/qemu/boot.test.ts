// Real QEMU, real firmware: each topology boots on qemu-system-aarch64 (TCG, no OS) with Debian's
// EDK2 (qemu-efi-aarch64, ArmVirtQemu), the suite waits for the firmware to enumerate (QMP
// query-pci until every bridge has a secondary bus), and compares every bus number and device BDF
// with what the import computes for the same command line. Skipped, in one line, when QEMU or the
// firmware is absent. The expected values are also derived by hand in each case's comment.

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replay } from '../../src/domain/topology/replay';
import type { VmState } from '../../src/domain/topology/types';
import { placementOf } from '../../src/domain/translation/topology-facts';
import { type BridgeType, planImport } from '../../src/interchange/draft';
import { parseQemuCmdline } from '../../src/interchange/qemu-cmdline/parse';

const FIRMWARE = ['/usr/share/qemu-efi-aarch64/QEMU_EFI.fd', '/usr/share/AAVMF/AAVMF_CODE.fd'].find(existsSync);
const QEMU = (() => {
  try {
    return execFileSync('sh', ['-c', 'command -v qemu-system-aarch64'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
})();
const AVAILABLE = QEMU !== undefined && FIRMWARE !== undefined;
if (!AVAILABLE)
  console.info('QEMU boot suite skipped: no qemu-system-aarch64 or EDK2 firmware (Debian qemu-efi-aarch64)');

/** One part of a topology, written once and turned into both a -device option and a draft part. */
type Part =
  | { kind: 'pxb'; id: string; busNr: number; slot: number }
  | { kind: 'port'; id: string; bus: string; slot: number; busReserve?: number }
  | { kind: 'bridge'; id: string; type: BridgeType; bus: string; slot: number; busReserve?: number }
  | { kind: 'device'; id: string; bus: string; slot: number };

interface Topology {
  parts: Part[];
  acpi?: boolean;
}

const addr = (slot: number) => `0x${slot.toString(16)}`;

/** The command line: -device options in the order of the parts, each with the chassis QEMU needs. */
function deviceOptions(parts: Part[]): string[] {
  let chassis = 0;
  return parts.map((p): string => {
    switch (p.kind) {
      case 'pxb':
        return `pxb-pcie,id=${p.id},bus_nr=${p.busNr},bus=pcie.0,addr=${addr(p.slot)}`;
      case 'port':
        chassis += 1;
        return `pcie-root-port,id=${p.id},bus=${p.bus},chassis=${chassis},addr=${addr(p.slot)}${p.busReserve ? `,bus-reserve=${p.busReserve}` : ''}`;
      case 'bridge': {
        const needs = p.type === 'xio3130-downstream' ? 'chassis' : p.type === 'pci-bridge' ? 'chassis_nr' : undefined;
        if (needs !== undefined) chassis += 1;
        return `${p.type},id=${p.id},bus=${p.bus},addr=${addr(p.slot)}${needs ? `,${needs}=${chassis}` : ''}${p.busReserve ? `,bus-reserve=${p.busReserve}` : ''}`;
      }
      default:
        return `virtio-rng-pci,id=${p.id},bus=${p.bus},addr=${addr(p.slot)}`;
    }
  });
}

/** The board options of the boot, as the import reads them too (-nodefaults: no default NIC). */
function machineOptions(topology: Topology): string[] {
  return ['-machine', `virt${topology.acpi === false ? ',acpi=off' : ''}`, '-nodefaults'];
}

function cmdline(topology: Topology): string {
  return [
    'qemu-system-aarch64',
    ...machineOptions(topology),
    ...deviceOptions(topology.parts).flatMap((d) => ['-device', d]),
  ].join(' ');
}

/**
 * What the import makes of the same command line QEMU booted. With acpiAsOn, the numbers the
 * import would give with ACPI on (with acpi=off it refuses the pxb-pcie buses, for what the guest
 * sees, not for their numbers).
 */
function importOf(topology: Topology, acpiAsOn = false): VmState {
  const source = cmdline(acpiAsOn ? { ...topology, acpi: undefined } : topology);
  return replay(planImport('vm', parseQemuCmdline(source)).commands)!;
}

interface PciDevice {
  bus: number;
  slot: number;
  function: number;
  qdev_id: string;
  pci_bridge?: { bus: { secondary?: number; subordinate?: number }; devices?: PciDevice[] };
}

/** Every device QEMU reports, by qdev id: its bus, slot, function and (for a bridge) secondary bus. */
function flatten(roots: { bus: number; devices: PciDevice[] }[]): Map<string, PciDevice> {
  const out = new Map<string, PciDevice>();
  const walk = (devices: PciDevice[]) => {
    for (const d of devices) {
      if (d.qdev_id) out.set(d.qdev_id, d);
      if (d.pci_bridge?.devices) walk(d.pci_bridge.devices);
    }
  };
  for (const root of roots) walk(root.devices);
  return out;
}

let workdir: string;
let pflash: string;

/** Boots the topology with no OS and answers query-pci once EDK2 has numbered every bridge. */
async function bootAndQuery(topology: Topology): Promise<Map<string, PciDevice>> {
  const args = [
    ...machineOptions(topology),
    '-cpu',
    'cortex-a57',
    '-m',
    '256',
    '-display',
    'none',
    '-drive',
    `if=pflash,format=raw,readonly=on,file=${pflash}`,
    '-qmp',
    'stdio',
    ...deviceOptions(topology.parts).flatMap((d) => ['-device', d]),
  ];
  const qemu: ChildProcess = spawn(QEMU!, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  qemu.stderr!.on('data', (chunk) => {
    stderr += chunk;
  });
  const lines = createInterface({ input: qemu.stdout! });
  const waiting: ((reply: { return?: unknown; error?: unknown }) => void)[] = [];
  lines.on('line', (line) => {
    const message = JSON.parse(line);
    if ('return' in message || 'error' in message) waiting.shift()?.(message);
  });
  const exited = new Promise<never>((_, reject) =>
    qemu.on('exit', (code) => reject(new Error(`qemu exited (${code}): ${stderr.trim()}`))),
  );
  const execute = (command: string) =>
    Promise.race([
      new Promise<{ return?: unknown; error?: unknown }>((resolve) => {
        waiting.push(resolve);
        qemu.stdin!.write(`${JSON.stringify({ execute: command })}\n`);
      }),
      exited,
    ]);
  try {
    await execute('qmp_capabilities');
    const deadline = Date.now() + 25_000;
    let previous = '';
    for (;;) {
      const reply = (await execute('query-pci')) as { return: { bus: number; devices: PciDevice[] }[] };
      const devices = flatten(reply.return);
      const bridges = [...devices.values()].filter((d) => d.pci_bridge !== undefined);
      const snapshot = JSON.stringify(reply.return);
      // Numbered: every bridge has a secondary bus, and the answer no longer changes.
      if (bridges.every((b) => (b.pci_bridge!.bus.secondary ?? 0) > 0) && snapshot === previous) return devices;
      if (Date.now() > deadline) throw new Error(`EDK2 did not number every bridge within 25 s: ${snapshot}`);
      previous = snapshot;
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    qemu.stdin!.end();
    qemu.kill('SIGKILL');
  }
}

/** Every root port, switch port and bridge's secondary bus, and every device's BDF, as QEMU shows them. */
function seenByQemu(devices: Map<string, PciDevice>, topology: Topology) {
  const buses: Record<string, number | undefined> = {};
  const bdfs: Record<string, string> = {};
  for (const p of topology.parts) {
    const d = devices.get(p.id);
    if (p.kind === 'port' || p.kind === 'bridge') buses[p.id] = d?.pci_bridge?.bus.secondary;
    if (p.kind === 'device' && d) bdfs[p.id] = bdf(d.bus, d.slot, d.function);
  }
  return { buses, bdfs };
}

/** The same, as the import computes them. */
function computedByImport(state: VmState, topology: Topology) {
  const buses: Record<string, number | undefined> = {};
  const bdfs: Record<string, string> = {};
  for (const p of topology.parts) {
    if (p.kind === 'port' || p.kind === 'bridge') buses[p.id] = state.buses.get(p.id)?.number;
    if (p.kind === 'device') {
      const device = state.devices.get(p.id)!;
      const own = placementOf(state, device).ownId;
      bdfs[p.id] = bdf(Number(own >> 8n), Number((own >> 3n) & 0x1fn), Number(own & 7n));
    }
  }
  return { buses, bdfs };
}

const bdf = (bus: number, slot: number, fn: number) =>
  `${bus.toString(16).padStart(2, '0')}:${slot.toString(16).padStart(2, '0')}.${fn}`;

const CASES: { name: string; topology: Topology; expected: Record<string, number> }[] = [
  {
    // pcie.0: rp0 (00:01) = 1, bus-reserve=2 keeps 2-3; rp1 (00:02) = 4.
    // pcie.1 (bus_nr=16): rpA (10:00) = 17, bus-reserve=3 keeps 18-20; rpB (10:01) = 21.
    // pcie.2 (bus_nr=32): rpC (20:00) = 33.
    name: 'EDK2: root ports on pcie.0 and on two pxb-pcie, bus-reserve shifting the next port',
    topology: {
      parts: [
        { kind: 'port', id: 'rp0', bus: 'pcie.0', slot: 1, busReserve: 2 },
        { kind: 'port', id: 'rp1', bus: 'pcie.0', slot: 2 },
        { kind: 'device', id: 'd1', bus: 'rp1', slot: 0 },
        { kind: 'pxb', id: 'pcie.1', busNr: 16, slot: 5 },
        { kind: 'port', id: 'rpA', bus: 'pcie.1', slot: 0, busReserve: 3 },
        { kind: 'device', id: 'dA', bus: 'rpA', slot: 0 },
        { kind: 'port', id: 'rpB', bus: 'pcie.1', slot: 1 },
        { kind: 'pxb', id: 'pcie.2', busNr: 32, slot: 6 },
        { kind: 'port', id: 'rpC', bus: 'pcie.2', slot: 0 },
        { kind: 'device', id: 'dC', bus: 'rpC', slot: 0 },
      ],
    },
    expected: { rp0: 1, rp1: 4, rpA: 17, rpB: 21, rpC: 33 },
  },
  {
    // PciScanBus depth-first: rp1 = 1, up = 2, dn1 = 3, dn2 = 4; rp2 = 5, ppb = 6, pb = 7; rp3 = 8.
    name: 'EDK2: a switch (upstream + 2 downstream) with endpoints, a pcie-pci-bridge with a conventional device and a pci-bridge below it',
    topology: {
      parts: [
        { kind: 'port', id: 'rp1', bus: 'pcie.0', slot: 1 },
        { kind: 'bridge', id: 'up', type: 'x3130-upstream', bus: 'rp1', slot: 0 },
        { kind: 'bridge', id: 'dn1', type: 'xio3130-downstream', bus: 'up', slot: 0 },
        { kind: 'bridge', id: 'dn2', type: 'xio3130-downstream', bus: 'up', slot: 1 },
        { kind: 'device', id: 'n1', bus: 'dn1', slot: 0 },
        { kind: 'device', id: 'n2', bus: 'dn2', slot: 0 },
        { kind: 'port', id: 'rp2', bus: 'pcie.0', slot: 2 },
        { kind: 'bridge', id: 'ppb', type: 'pcie-pci-bridge', bus: 'rp2', slot: 0 },
        { kind: 'device', id: 'e1', bus: 'ppb', slot: 1 },
        { kind: 'bridge', id: 'pb', type: 'pci-bridge', bus: 'ppb', slot: 2 },
        { kind: 'device', id: 'e2', bus: 'pb', slot: 3 },
        { kind: 'port', id: 'rp3', bus: 'pcie.0', slot: 3 },
      ],
    },
    expected: { rp1: 1, up: 2, dn1: 3, dn2: 4, rp2: 5, ppb: 6, pb: 7, rp3: 8 },
  },
  {
    // bus-reserve is MAX(secondary + R, the largest number below): rp1 = 1 with a switch below
    // (up 2, dn1 3, dn2 4) and R=5 keeps up to 6, so rp2 = 7; below rp2, up2 = 8, dn3 = 9, and
    // R=1 (8) is less than 9, so rp3 = 10. A switch behind a pxb-pcie: pcie.1 bus_nr=20, rpX = 21,
    // upX = 22, dnX = 23.
    name: 'EDK2: bus-reserve over a switch keeps the larger of the reservation and the buses below',
    topology: {
      parts: [
        { kind: 'port', id: 'rp1', bus: 'pcie.0', slot: 1, busReserve: 5 },
        { kind: 'bridge', id: 'up', type: 'x3130-upstream', bus: 'rp1', slot: 0 },
        { kind: 'bridge', id: 'dn1', type: 'xio3130-downstream', bus: 'up', slot: 0 },
        { kind: 'bridge', id: 'dn2', type: 'xio3130-downstream', bus: 'up', slot: 1 },
        { kind: 'port', id: 'rp2', bus: 'pcie.0', slot: 2, busReserve: 1 },
        { kind: 'bridge', id: 'up2', type: 'x3130-upstream', bus: 'rp2', slot: 0 },
        { kind: 'bridge', id: 'dn3', type: 'xio3130-downstream', bus: 'up2', slot: 0 },
        { kind: 'device', id: 'n3', bus: 'dn3', slot: 0 },
        { kind: 'port', id: 'rp3', bus: 'pcie.0', slot: 3 },
        { kind: 'pxb', id: 'pcie.1', busNr: 20, slot: 4 },
        { kind: 'port', id: 'rpX', bus: 'pcie.1', slot: 0 },
        { kind: 'bridge', id: 'upX', type: 'x3130-upstream', bus: 'rpX', slot: 0 },
        { kind: 'bridge', id: 'dnX', type: 'xio3130-downstream', bus: 'upX', slot: 0 },
        { kind: 'device', id: 'nX', bus: 'dnX', slot: 0 },
      ],
    },
    expected: { rp1: 1, up: 2, dn1: 3, dn2: 4, rp2: 7, up2: 8, dn3: 9, rp3: 10, rpX: 21, upX: 22, dnX: 23 },
  },
  {
    // A pci-bridge on pcie.0 is numbered among the root ports by slot: rp1 (00:01) = 1, pb0
    // (00:04) = 2, and its bus-reserve=3 (a hot-plug bus: SHPC) keeps up to 5, so rp2 (00:05) = 6.
    // A pci-bridge on a pxb-pcie (bridges are allowed there): pcie.1 bus_nr=10, pbX = 11.
    name: 'EDK2: a pci-bridge on pcie.0 with bus-reserve, and one on a pxb-pcie',
    topology: {
      parts: [
        { kind: 'port', id: 'rp1', bus: 'pcie.0', slot: 1 },
        { kind: 'bridge', id: 'pb0', type: 'pci-bridge', bus: 'pcie.0', slot: 4, busReserve: 3 },
        { kind: 'device', id: 'e3', bus: 'pb0', slot: 5 },
        { kind: 'port', id: 'rp2', bus: 'pcie.0', slot: 5 },
        { kind: 'pxb', id: 'pcie.1', busNr: 10, slot: 6 },
        { kind: 'bridge', id: 'pbX', type: 'pci-bridge', bus: 'pcie.1', slot: 1 },
        { kind: 'device', id: 'eX', bus: 'pbX', slot: 1 },
      ],
    },
    expected: { rp1: 1, pb0: 2, rp2: 6, pbX: 11 },
  },
];

describe.skipIf(!AVAILABLE)('boot on qemu-system-aarch64 + EDK2: the firmware numbers buses as the import does', () => {
  beforeAll(() => {
    workdir = mkdtempSync(join(tmpdir(), 'doorbell-boot-'));
    // pflash units of virt are 64 MiB: a padded copy of the firmware image.
    pflash = join(workdir, 'code.fd');
    copyFileSync(FIRMWARE!, pflash);
    truncateSync(pflash, 64 * 1024 * 1024);
  });
  afterAll(() => rmSync(workdir, { recursive: true, force: true }));

  for (const { name, topology, expected } of CASES) {
    it(name, { timeout: 60_000 }, async () => {
      const state = importOf(topology);
      const computed = computedByImport(state, topology);
      // The import agrees with the numbers derived by hand...
      expect(computed.buses).toEqual(expected);
      // ...and with the firmware, bus by bus and device by device.
      expect(seenByQemu(await bootAndQuery(topology), topology)).toEqual(computed);
    });
  }

  it('acpi=off: EDK2 numbers pxb-pcie buses as with ACPI (so the import refuses them for what the guest sees, not for the numbers)', {
    timeout: 60_000,
  }, async () => {
    const topology = { ...CASES[0]!.topology, acpi: false };
    expect(() => planImport('vm', parseQemuCmdline(cmdline(topology)))).toThrow(/acpi=off/);
    // The import's numbers for the same line with ACPI on: rpA 17, rpB 21, rpC 33 (case 1).
    expect(seenByQemu(await bootAndQuery(topology), topology)).toEqual(
      computedByImport(importOf(topology, true), topology),
    );
  });
});
