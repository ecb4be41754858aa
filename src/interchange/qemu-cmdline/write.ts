// A VM's topology -> a qemu-system-aarch64 command line that imports back to the same buses,
// SMMUs, devices and stream ids (see ../layout.ts for the slots and bus-reserve it adds).

import { quote } from 'shlex';
import type { VmState } from '../../domain/topology/types.js';
import { PCIE_ROOT } from '../draft.js';
import { layoutOf } from '../layout.js';

const UNITS: [string, bigint][] = [
  ['E', 1n << 60n],
  ['P', 1n << 50n],
  ['T', 1n << 40n],
  ['G', 1n << 30n],
  ['M', 1n << 20n],
  ['K', 1n << 10n],
];

export function sizeText(bytes: bigint): string {
  for (const [suffix, unit] of UNITS) if (bytes % unit === 0n) return `${bytes / unit}${suffix}`;
  return `${bytes}B`;
}

/** One -device or -machine value: `,` doubled (QemuOpts), then quoted for the shell. */
function opts(items: (string | [string, string | number] | undefined)[]): string {
  const text = items
    .filter((i) => i !== undefined)
    .map((i) => (typeof i === 'string' ? i : `${i[0]}=${i[1]}`).replaceAll(',', ',,'))
    .join(',');
  return quote(text);
}

const addr = (slot: number, fn = 0) => `0x${slot.toString(16)}${fn === 0 ? '' : `.${fn}`}`;

export interface QemuExport {
  text: string;
  /** Root ports, switch ports and bridges whose numbers the firmware rule cannot give (import them with busNumbers). */
  busNumbers: Record<string, number>;
}

/**
 * The slots (bus and slot) where a bridge or device sits at a function other than 0: their
 * function 0 needs multifunction=on, or QEMU refuses the line (hw/pci/pci.c pci_init_multifunction).
 */
function multifunctionSlots(parts: { parent?: string | null; bus?: string; slot?: number; function?: number }[]) {
  const slots = new Set<string>();
  for (const p of parts) if ((p.function ?? 0) !== 0) slots.add(`${p.bus ?? p.parent ?? PCIE_ROOT} ${p.slot ?? 0}`);
  return slots;
}

export function writeQemuCmdline(state: VmState): QemuExport {
  const { board } = state;
  const layout = layoutOf(state, { reserves: true });
  const multi = multifunctionSlots([...layout.bridges, ...state.devices.values()]);
  const multifunction = (bus: string, slot: number, fn: number) =>
    fn === 0 && multi.has(`${bus} ${slot}`) ? (['multifunction', 'on'] as [string, string]) : undefined;
  const lines: string[] = ['qemu-system-aarch64'];
  lines.push(
    `-machine ${opts([
      'virt',
      ['gic-version', board.gicVersion],
      ['accel', board.kvm ? 'kvm' : 'tcg'],
      board.gicVersion === 3 && !board.its ? ['its', 'off'] : undefined,
    ])}`,
  );
  // Without it QEMU adds a default NIC on pcie.0 (vl.c default_net): a device the VM does not have.
  lines.push('-nodefaults');
  lines.push(`-m ${sizeText(board.ramSize)}`);
  const iommufds = new Set([...state.devices.values()].flatMap((d) => (d.iommufd === null ? [] : [d.iommufd])));
  for (const id of iommufds) lines.push(`-object ${opts(['iommufd', ['id', id]])}`);
  for (const pxb of layout.pxbs) {
    lines.push(
      `-device ${opts(['pxb-pcie', ['id', pxb.id], ['bus_nr', pxb.number], ['bus', PCIE_ROOT], ['addr', addr(layout.slotOf.get(pxb.id)!)]])}`,
    );
  }
  for (const [n, port] of layout.rootPorts.entries()) {
    const reserve = layout.reserves.get(port.id);
    lines.push(
      `-device ${opts([
        'pcie-root-port',
        ['id', port.id],
        ['bus', port.parent ?? PCIE_ROOT],
        ['chassis', n + 1],
        ['addr', addr(layout.slotOf.get(port.id)!)],
        reserve === undefined ? undefined : ['bus-reserve', reserve],
      ])}`,
    );
  }
  // Switch ports and bridges after the bus they plug into, at their own slot and function. Every
  // port and pci-bridge needs a chassis of its own (a downstream port's chassis/slot pair is its
  // hot-plug slot; a pci-bridge refuses chassis_nr 0).
  let chassis = layout.rootPorts.length;
  for (const bridge of layout.bridges) {
    const needsChassis = bridge.type === 'xio3130-downstream' || bridge.type === 'pci-bridge';
    if (needsChassis) chassis += 1;
    lines.push(
      `-device ${opts([
        bridge.type,
        ['id', bridge.id],
        ['bus', bridge.parent ?? PCIE_ROOT],
        ['addr', addr(bridge.slot ?? 0, bridge.function ?? 0)],
        multifunction(bridge.parent ?? PCIE_ROOT, bridge.slot ?? 0, bridge.function ?? 0),
        bridge.type === 'xio3130-downstream' ? ['chassis', chassis] : undefined,
        bridge.type === 'pci-bridge' ? ['chassis_nr', chassis] : undefined,
      ])}`,
    );
  }
  for (const smmu of state.smmus.values()) {
    lines.push(
      `-device ${opts([
        'arm-smmuv3',
        ['primary-bus', smmu.primaryBus],
        ['id', smmu.id],
        smmu.accel.value ? ['accel', 'on'] : undefined,
        smmu.stage === '1' ? undefined : ['stage', smmu.stage],
        smmu.oas === 44 ? undefined : ['oas', smmu.oas],
      ])}`,
    );
  }
  for (const d of state.devices.values()) {
    lines.push(
      `-device ${opts([
        d.driver,
        d.host === null ? undefined : ['host', d.host],
        // A device QEMU gets as an open file descriptor: libvirt's placeholder for the number.
        d.hostFd ? ['fd', `@hostdev-${d.id}-fd@`] : undefined,
        ['bus', d.bus],
        ['addr', addr(d.slot, d.function)],
        multifunction(d.bus, d.slot, d.function),
        d.iommufd === null ? undefined : ['iommufd', d.iommufd],
        ['id', d.id],
      ])}`,
    );
  }
  return { text: `${lines.join(' \\\n  ')}\n`, busNumbers: layout.busNumbers };
}
