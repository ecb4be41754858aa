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
import { shellWords } from '../../src/interchange/qemu-cmdline/split';

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

/** What the import makes of a command line. */
function importOf(text: string): VmState {
  return replay(planImport('vm', parseQemuCmdline(text)).commands)!;
}

interface PciDevice {
  bus: number;
  slot: number;
  function: number;
  qdev_id: string;
  class_info: { class: number };
  id: { vendor: number; device: number };
  pci_bridge?: { bus: { secondary?: number; subordinate?: number }; devices?: PciDevice[] };
}

/** Every device QEMU reports, its bridges' devices included. */
function flatten(roots: { bus: number; devices: PciDevice[] }[]): PciDevice[] {
  const out: PciDevice[] = [];
  const walk = (devices: PciDevice[]) => {
    for (const d of devices) {
      out.push(d);
      if (d.pci_bridge?.devices) walk(d.pci_bridge.devices);
    }
  };
  for (const root of roots) walk(root.devices);
  return out;
}

let workdir: string;
let pflash: string;

/**
 * Boots exactly the options of the command line (its first word, the program, dropped) with no OS,
 * and answers query-pci once EDK2 has numbered every bridge.
 */
async function bootAndQuery(text: string): Promise<PciDevice[]> {
  const args = [
    ...shellWords(text).slice(1),
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
  ];
  const qemu: ChildProcess = spawn(QEMU!, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  // A QEMU that refuses the line exits at once: writing to it then fails (EPIPE), and `exited` reports why.
  qemu.stdin!.on('error', () => {});
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
      const bridges = devices.filter((d) => d.pci_bridge !== undefined);
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

/**
 * What is compared: each root port's, switch port's and bridge's secondary bus, and each
 * device's BDF, by id; a device the command line gives no id (the board's NICs) as
 * `(no id) BDF` with its driver.
 */
type Numbers = Record<string, number | string>;

const PCI_CLASS_BRIDGE_HOST = 0x0600;

/** A driver QEMU created without an id, known by its PCI ids (virtio-net: 1af4:1000, modern 1af4:1041). */
function driverOf(d: PciDevice): string {
  if (d.id.vendor === 0x1af4 && (d.id.device === 0x1000 || d.id.device === 0x1041)) return 'virtio-net-pci';
  return `${d.id.vendor.toString(16)}:${d.id.device.toString(16)}`;
}

/** The numbers as QEMU shows them once the firmware ran (host bridges, gpex's and pxb-pcie's, left out). */
function seenByQemu(devices: PciDevice[]): Numbers {
  const out: Numbers = {};
  for (const d of devices) {
    if (d.class_info.class === PCI_CLASS_BRIDGE_HOST) continue;
    if (d.qdev_id === '') out[`(no id) ${bdf(d.bus, d.slot, d.function)}`] = driverOf(d);
    else if (d.pci_bridge !== undefined) out[d.qdev_id] = d.pci_bridge.bus.secondary ?? -1;
    else out[d.qdev_id] = bdf(d.bus, d.slot, d.function);
  }
  return out;
}

/** Whether the command line names the part (id=X in key=value, "id":"X" in JSON) or the import did. */
const namedIn = (text: string, id: string) => new RegExp(`[,{\\s]id=${id}(?=[,'\\s]|$)|"id":\\s*"${id}"`).test(text);

/** The same numbers, as the import computes them. */
function computedByImport(state: VmState, text: string): Numbers {
  const out: Numbers = {};
  for (const bus of state.buses.values())
    if (bus.type !== 'pcie-root' && bus.type !== 'pxb-pcie') out[bus.id] = bus.number;
  for (const device of state.devices.values()) {
    const own = placementOf(state, device).ownId;
    const at = bdf(Number(own >> 8n), Number((own >> 3n) & 0x1fn), Number(own & 7n));
    if (namedIn(text, device.id)) out[device.id] = at;
    else out[`(no id) ${at}`] = device.driver;
  }
  return out;
}

const bdf = (bus: number, slot: number, fn: number) =>
  `${bus.toString(16).padStart(2, '0')}:${slot.toString(16).padStart(2, '0')}.${fn}`;

interface Case {
  name: string;
  /** The command line QEMU boots (its options, exactly) and the import reads. */
  cmdline: string;
  /** Derived by hand (see each case's comment): every number that is compared. */
  expected: Numbers;
}

/** A case written as a Topology (EDK2's numbering). */
const ofTopology = (name: string, topology: Topology, expected: Numbers): Case => ({
  name,
  cmdline: cmdline(topology),
  expected,
});

const TOPOLOGY_1: Topology = {
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
};

/** EDK2's numbering, on topologies written as parts. */
const EDK2_CASES: Case[] = [
  // pcie.0: rp0 (00:01) = 1, bus-reserve=2 keeps 2-3; rp1 (00:02) = 4, d1 04:00.0.
  // pcie.1 (bus_nr=16): rpA (10:00) = 17 (0x11), bus-reserve=3 keeps 18-20; rpB (10:01) = 21.
  // pcie.2 (bus_nr=32): rpC (20:00) = 33 (0x21).
  ofTopology('EDK2: root ports on pcie.0 and on two pxb-pcie, bus-reserve shifting the next port', TOPOLOGY_1, {
    rp0: 1,
    rp1: 4,
    d1: '04:00.0',
    rpA: 17,
    dA: '11:00.0',
    rpB: 21,
    rpC: 33,
    dC: '21:00.0',
  }),
  // PciScanBus depth-first: rp1 = 1, up = 2, dn1 = 3, dn2 = 4; rp2 = 5, ppb = 6, pb = 7; rp3 = 8.
  ofTopology(
    'EDK2: a switch (upstream + 2 downstream) with endpoints, a pcie-pci-bridge with a conventional device and a pci-bridge below it',
    {
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
    {
      rp1: 1,
      up: 2,
      dn1: 3,
      dn2: 4,
      n1: '03:00.0',
      n2: '04:00.0',
      rp2: 5,
      ppb: 6,
      e1: '06:01.0',
      pb: 7,
      e2: '07:03.0',
      rp3: 8,
    },
  ),
  // bus-reserve is MAX(secondary + R, the largest number below): rp1 = 1 with a switch below
  // (up 2, dn1 3, dn2 4) and R=5 keeps up to 6, so rp2 = 7; below rp2, up2 = 8, dn3 = 9, and
  // R=1 (8) is less than 9, so rp3 = 10. A switch behind a pxb-pcie: pcie.1 bus_nr=20, rpX = 21,
  // upX = 22, dnX = 23 (0x17).
  ofTopology(
    'EDK2: bus-reserve over a switch keeps the larger of the reservation and the buses below',
    {
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
    {
      rp1: 1,
      up: 2,
      dn1: 3,
      dn2: 4,
      rp2: 7,
      up2: 8,
      dn3: 9,
      n3: '09:00.0',
      rp3: 10,
      rpX: 21,
      upX: 22,
      dnX: 23,
      nX: '17:00.0',
    },
  ),
  // A pci-bridge on pcie.0 is numbered among the root ports by slot: rp1 (00:01) = 1, pb0
  // (00:04) = 2, and its bus-reserve=3 (a hot-plug bus: SHPC) keeps up to 5, so rp2 (00:05) = 6.
  // A pci-bridge on a pxb-pcie (bridges are allowed there): pcie.1 bus_nr=10, pbX = 11 (0x0b).
  ofTopology(
    'EDK2: a pci-bridge on pcie.0 with bus-reserve, and one on a pxb-pcie',
    {
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
    { rp1: 1, pb0: 2, e3: '02:05.0', rp2: 6, pbX: 11, eX: '0b:01.0' },
  ),
];

/**
 * The command-line rules of src/interchange/qemu-cmdline that change a number (issue 18), each
 * as a raw command line: QEMU boots exactly its options, the import reads exactly its text.
 */
const CMDLINE_CASES: Case[] = [
  {
    // No -nodefaults, -nic, -net or -netdev: virt creates the default NIC (virtio-net-pci, no id)
    // on pcie.0 at board init, before any -device, in the first free slot: 00:01.0. Then r0
    // (no addr=) takes 00:02.0 and rp 00:03.0 (its bus: 1), and r1 sits at 01:00.0.
    name: 'default NIC: without -nodefaults virtio-net-pci takes 00:01.0 and a -device without addr= lands a slot later',
    cmdline:
      'qemu-system-aarch64 -machine virt -device virtio-rng-pci,id=r0 -device pcie-root-port,id=rp,chassis=1 -device virtio-rng-pci,id=r1,bus=rp',
    expected: { '(no id) 00:01.0': 'virtio-net-pci', r0: '00:02.0', rp: 1, r1: '01:00.0' },
  },
  {
    // -nic none turns the default NIC off (vl.c default_net = 0) and adds none: r0 takes 00:01.0.
    name: 'default NIC: -nic none turns it off (r0 takes 00:01.0)',
    cmdline: 'qemu-system-aarch64 -machine virt -nic none -device virtio-rng-pci,id=r0',
    expected: { r0: '00:01.0' },
  },
  {
    // -net none likewise: no NIC, r0 at 00:01.0.
    name: 'default NIC: -net none turns it off (r0 takes 00:01.0)',
    cmdline: 'qemu-system-aarch64 -machine virt -net none -device virtio-rng-pci,id=r0',
    expected: { r0: '00:01.0' },
  },
  {
    // -netdev turns it off too; its NIC is the -device that uses it: net0 00:01.0, r0 00:02.0.
    name: 'default NIC: -netdev turns it off (the -device NIC and r0 take 00:01.0 and 00:02.0)',
    cmdline:
      'qemu-system-aarch64 -machine virt -netdev user,id=n0 -device virtio-net-pci,netdev=n0,id=net0 -device virtio-rng-pci,id=r0',
    expected: { net0: '00:01.0', r0: '00:02.0' },
  },
  {
    // -nic user (no model): a board NIC, virtio-net-pci at 00:01.0 before any -device; r0 00:02.0.
    name: 'default NIC: -nic user adds a board NIC (virtio-net-pci, 00:01.0) before any -device',
    cmdline: 'qemu-system-aarch64 -machine virt -nodefaults -nic user -device virtio-rng-pci,id=r0',
    expected: { '(no id) 00:01.0': 'virtio-net-pci', r0: '00:02.0' },
  },
  {
    // Every key=value -device is created before any JSON one, each group in line order:
    // rpk 00:01 (bus 1), k 00:02.0, then j 00:03.0, rpj 00:04 (bus 2: EDK2 numbers by slot).
    name: 'creation order: every key=value -device before any JSON -device (slots and bus numbers follow)',
    cmdline: `qemu-system-aarch64 -machine virt -nodefaults -device '{"driver":"virtio-rng-pci","id":"j"}' -device '{"driver":"pcie-root-port","id":"rpj","chassis":1}' -device pcie-root-port,id=rpk,chassis=2 -device virtio-rng-pci,id=k`,
    expected: { rpk: 1, k: '00:02.0', j: '00:03.0', rpj: 2 },
  },
  {
    // No bus=: the last pxb-pcie created before the part, else pcie.0. rp0 (first, no pxb yet)
    // goes to pcie.0 (00:01, bus 1); rpa to pxb1 (bus_nr 8: 08:00, bus 9); rpb to pxb2 (bus_nr
    // 16: 10:00, bus 17), and e on rpb at 11:00.0.
    name: 'default bus: a root port without bus= goes to the last pxb-pcie created before it, else pcie.0',
    cmdline:
      'qemu-system-aarch64 -machine virt -nodefaults -device pcie-root-port,id=rp0,chassis=1 -device pxb-pcie,id=pxb1,bus_nr=8,bus=pcie.0,addr=0x5 -device pcie-root-port,id=rpa,chassis=2 -device pxb-pcie,id=pxb2,bus_nr=16,bus=pcie.0,addr=0x6 -device pcie-root-port,id=rpb,chassis=3 -device virtio-rng-pci,id=e,bus=rpb',
    expected: { rp0: 1, rpa: 9, rpb: 17, e: '11:00.0' },
  },
  {
    // addr= is read by set_pci_devfn: each part hex (strtoul base 16) with or without 0x.
    // 0x2 and 0x2.0x1: 00:02.0 and 00:02.1; 3 and 3.1: 00:03.0 and 00:03.1; 10 is slot 0x10:
    // 00:10.0; a JSON number is the devfn itself, 8 = slot 1 function 0: 00:01.0.
    name: 'addr= forms: 0x2, 0x2.0x1, 3, 3.1, 10 (hex) and a JSON devfn number ("addr":8 = 01.0)',
    cmdline: `qemu-system-aarch64 -machine virt -nodefaults -device virtio-rng-pci,id=a0,addr=0x2,multifunction=on -device virtio-rng-pci,id=a1,addr=0x2.0x1 -device virtio-rng-pci,id=b0,addr=3,multifunction=on -device virtio-rng-pci,id=b1,addr=3.1 -device virtio-rng-pci,id=c,addr=10 -device '{"driver":"virtio-rng-pci","id":"j","addr":8}'`,
    expected: { a0: '00:02.0', a1: '00:02.1', b0: '00:03.0', b1: '00:03.1', c: '00:10.0', j: '00:01.0' },
  },
  {
    // libvirt's packing: eight root ports at 01.0-01.7 (multifunction=on on function 0), written
    // out of order, and rpz at 00:02. EDK2 scans slot by slot, function by function: f0 = 1,
    // f1 = 2, ..., f7 = 8, rpz = 9; e on f5 (bus 6) at 06:00.0.
    name: 'multifunction root ports at 01.0-01.7 are numbered by function, whatever the line order',
    cmdline: [
      'qemu-system-aarch64 -machine virt -nodefaults',
      '-device pcie-root-port,id=f5,chassis=6,bus=pcie.0,addr=0x1.0x5',
      '-device pcie-root-port,id=rpz,chassis=9,bus=pcie.0,addr=0x2',
      '-device pcie-root-port,id=f0,chassis=1,bus=pcie.0,addr=0x1,multifunction=on',
      '-device pcie-root-port,id=f7,chassis=8,bus=pcie.0,addr=0x1.0x7',
      '-device pcie-root-port,id=f1,chassis=2,bus=pcie.0,addr=0x1.0x1',
      '-device pcie-root-port,id=f2,chassis=3,bus=pcie.0,addr=0x1.0x2',
      '-device pcie-root-port,id=f3,chassis=4,bus=pcie.0,addr=0x1.0x3',
      '-device pcie-root-port,id=f4,chassis=5,bus=pcie.0,addr=0x1.0x4',
      '-device pcie-root-port,id=f6,chassis=7,bus=pcie.0,addr=0x1.0x6',
      '-device virtio-rng-pci,id=e,bus=f5',
    ].join(' '),
    expected: { f0: 1, f1: 2, f2: 3, f3: 4, f4: 5, f5: 6, f6: 7, f7: 8, rpz: 9, e: '06:00.0' },
  },
  {
    // The first id= of a key=value -device is its id: the first root port is "a" (bus 1), so
    // bus=a finds it (ea 01:00.0), and "b" is free for the second (bus 2, eb 02:00.0).
    name: 'first id= wins within one key=value -device',
    cmdline:
      'qemu-system-aarch64 -machine virt -nodefaults -device pcie-root-port,id=a,chassis=1,id=b -device pcie-root-port,id=b,chassis=2 -device virtio-rng-pci,id=ea,bus=a -device virtio-rng-pci,id=eb,bus=b',
    expected: { a: 1, b: 2, ea: '01:00.0', eb: '02:00.0' },
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

  for (const { name, cmdline: text, expected } of [...EDK2_CASES, ...CMDLINE_CASES]) {
    it(name, { timeout: 60_000 }, async () => {
      const computed = computedByImport(importOf(text), text);
      // The import agrees with the numbers derived by hand...
      expect(computed).toEqual(expected);
      // ...and with QEMU once the firmware ran, bus by bus and device by device.
      expect(seenByQemu(await bootAndQuery(text))).toEqual(computed);
    });
  }

  it('multifunction: without multifunction=on on function 0, QEMU refuses function 1 and so does the import', {
    timeout: 60_000,
  }, async () => {
    const text =
      'qemu-system-aarch64 -machine virt -nodefaults -device pcie-root-port,id=f0,chassis=1,bus=pcie.0,addr=0x1 -device pcie-root-port,id=f1,chassis=2,bus=pcie.0,addr=0x1.0x1';
    const refusal = "PCI: single function device can't be populated in function 1.1";
    expect(() => importOf(text)).toThrow(refusal);
    await expect(bootAndQuery(text)).rejects.toThrow(refusal);
  });

  it('acpi=off: EDK2 numbers pxb-pcie buses as with ACPI (so the import refuses them for what the guest sees, not for the numbers)', {
    timeout: 60_000,
  }, async () => {
    const off = cmdline({ ...TOPOLOGY_1, acpi: false });
    expect(() => planImport('vm', parseQemuCmdline(off))).toThrow(/acpi=off/);
    // The import's numbers for the same line with ACPI on: rpA 17, rpB 21, rpC 33 (case 1).
    const on = cmdline(TOPOLOGY_1);
    expect(seenByQemu(await bootAndQuery(off))).toEqual(computedByImport(importOf(on), on));
  });
});
