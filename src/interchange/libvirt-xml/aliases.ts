// The ids libvirt gives devices that have no <alias name='ua-...'> (qemu_alias.c
// qemuAssignDeviceAliases), so that a domain XML and the command line libvirt generates from it
// name every device alike.

import { attr, child, type Element } from './xml.js';

/**
 * A fixed id, or the next free `<prefix><n>`; `early`: named before the others of its prefix
 * (qemuAssignDeviceAliases names <interface type='hostdev'> as hostdev<n> before any <hostdev>).
 */
export type Naming = { id: string } | { prefix: string; early?: boolean };

/** util/virutil.c virDiskNameToIndex: the letters after the prefix, in bijective base 26 (vda 0, vdz 25, vdaa 26). */
export function diskNameToIndex(dst: string): number | undefined {
  const letters = /^(?:fd|hd|vd|sd|xvd|ubd)([a-z]+)$/.exec(dst)?.[1];
  if (letters === undefined) return undefined;
  let index = 0;
  for (const [i, c] of [...letters].entries()) index = (index + (i === 0 ? 0 : 1)) * 26 + (c.charCodeAt(0) - 97);
  return index;
}

/** qemuAssignDeviceDiskAlias: a disk on a PCI address is `<bus>-disk<index of its target dev>` (vda: virtio-disk0). */
export function diskNaming(e: Element): Naming {
  const target = child(e, 'target');
  const index = diskNameToIndex(attr(target, 'dev') ?? '');
  const bus = attr(target, 'bus') ?? 'virtio';
  return index === undefined ? { prefix: `${bus}-disk` } : { id: `${bus}-disk${index}` };
}

/**
 * qemuAssignDeviceControllerAlias: `<type><index>` (scsi0, virtio-serial0), except the USB
 * controller of index 0, which is "usb".
 */
export function controllerNaming(e: Element): Naming {
  const type = attr(e, 'type') ?? 'controller';
  const index = attr(e, 'index');
  if (index === undefined || !/^\d+$/.test(index)) return { prefix: type };
  return type === 'usb' && Number(index) === 0 ? { id: 'usb' } : { id: `${type}${Number(index)}` };
}
