// How QEMU creates the -device options of a command line: in which order, under which id, on
// which bus when bus= is absent, and which buses refuse which devices. Each rule cites QEMU.

import { PCIE_ROOT } from '../draft.js';
import { malformed } from '../report.js';
import type { Option } from './argv.js';
import type { ParseContext } from './context.js';
import type { OptionList } from './options.js';

/**
 * Creation order: QEMU creates every key=value -device (the QemuOpts list "device") before any
 * JSON one (the device_opts queue), each group in command-line order: vl.c
 * qemu_create_cli_devices (checked on Debian's QEMU 7.2: `-device '{"driver":"e1000e","id":"j"}'
 * -device e1000e,id=k` puts k in slot 1 and j in slot 2).
 */
export function inCreationOrder<T extends { json: boolean }>(options: T[]): T[] {
  return [...options.filter((o) => !o.json), ...options.filter((o) => o.json)];
}

/**
 * The id of a key=value -device is its first id= (util/qemu-option.c opts_parse_id returns the
 * first; QEMU 7.2 names `-device pcie-root-port,id=a,chassis=1,id=b` "a"). A JSON object cannot
 * repeat a key at all (options.ts jsonOptions).
 */
export function firstId(opts: OptionList): string | undefined {
  return opts.find(([key]) => key === 'id')?.[1];
}

/**
 * Device ids are unique. A second key=value -device with a used id is refused while the options
 * are read, by qemu_opts_create (util/qemu-option.c): "Duplicate ID 'x' for device". A JSON one
 * is refused when it is created, by qdev_set_id (system/qdev-monitor.c): "Duplicate device ID
 * 'x'"; key=value ones are created first, so a JSON id clashing with a key=value one is the JSON
 * one's error. Both checked on QEMU 7.2.
 */
export function claimDeviceId(ctx: ParseContext, id: string | undefined, option: Option, json: boolean): void {
  if (id === undefined) return;
  if (ctx.deviceIds.has(id)) {
    const first = ctx.deviceIds.get(id)!;
    const qemu = json ? `Duplicate device ID '${id}'` : `Duplicate ID '${id}' for device`;
    throw malformed(
      `${qemu} (QEMU refuses the line; the id is first used at ${'token' in first.at ? `token ${first.at.token}` : 'another option'})`,
      option.at,
    );
  }
  ctx.deviceIds.set(id, option);
}

/**
 * The bus of a PCI device without bus=: qdev_device_add asks qbus_find_recursive (system/qdev-monitor.c)
 * for the first bus of the device's type under the main system bus, depth first. A bus's children
 * are kept newest first (bus_add_child, hw/core/qdev.c: QTAILQ_INSERT_HEAD), and each pxb-pcie
 * hangs its bus on a pxb-host device of the system bus, created after the virt board's gpex. So the
 * bus is that of the pxb-pcie created last before the device, or pcie.0 when there is none
 * (QEMU 7.2: `-device pxb-pcie,id=p,bus_nr=8 -device pcie-root-port,id=rp` puts rp on bus 8).
 * Returns the bus, resolved once every part has its id (a pxb-pcie without id= is named late).
 */
export function defaultBus(ctx: ParseContext, set: (bus: string) => void): void {
  const pxb = ctx.pxbs.at(-1);
  if (pxb === undefined) set(PCIE_ROOT);
  else if (pxb.id !== '') set(pxb.id);
  else {
    set('');
    ctx.afterNaming.push(() => set(pxb.id));
  }
}

/**
 * A pxb-pcie bus takes bridges only: do_pci_register_device (hw/pci/pci.c) refuses any other
 * device on a root bus that has a parent device, "PCI: Only PCI/PCIe bridges can be plugged into
 * pxb-pcie" (QEMU 7.2 refuses an endpoint and a second pxb-pcie there alike).
 */
export function checkPxbTakesBridgesOnly(ctx: ParseContext, bus: string, isBridge: boolean, option: Option): void {
  if (isBridge) return;
  const pxb = ctx.pxbs.find((p) => p.id === bus && bus !== '');
  const onNamelessDefault = bus === '' && ctx.pxbs.length > 0;
  if (pxb !== undefined || onNamelessDefault)
    throw malformed(
      `PCI: Only PCI/PCIe bridges can be plugged into pxb-pcie (bus ${bus || 'of the last pxb-pcie'}: put a pcie-root-port between)`,
      option.at,
    );
}
