// The <devices> children that become PCI functions or IOMMUs: <hostdev>, <iommu>, and the
// emulated devices (<interface>, <disk>, <controller> other than pci, <memballoon>, <rng>,
// <video>), each mapped to the QEMU driver libvirt gives it.

import { type DraftDevice, type DraftSmmu, PCIE_ROOT } from '../draft.js';
import { parseBool, parseHostAddress, parseUint } from '../qemu-cmdline/options.js';
import { malformed } from '../report.js';
import { addPart, aliasOf, hasPciAddress, ignore, nameLater, type ParseContext, pciAddress } from './context.js';
import { atOf, attr, child, type Element } from './xml.js';

/** Emulated PCI devices from libvirt elements: the QEMU driver each model becomes. */
const INTERFACE_MODELS: Record<string, string> = {
  virtio: 'virtio-net-pci',
  'virtio-transitional': 'virtio-net-pci-transitional',
  'virtio-non-transitional': 'virtio-net-pci-non-transitional',
  e1000e: 'e1000e',
  e1000: 'e1000',
  igb: 'igb',
  rtl8139: 'rtl8139',
  vmxnet3: 'vmxnet3',
};
export const CONTROLLER_MODELS: Record<string, string> = {
  'qemu-xhci': 'qemu-xhci',
  'nec-xhci': 'nec-usb-xhci',
  'virtio-scsi': 'virtio-scsi-pci',
};

export function readHostdev(e: Element, ctx: ParseContext): void {
  const at = atOf(e);
  if (attr(e, 'type') !== 'pci') {
    ignore(ctx, e, `a ${attr(e, 'type')} hostdev is not a PCI passthrough device`);
    return;
  }
  const source = child(child(e, 'source') ?? e, 'address');
  if (source === undefined || child(e, 'source') === undefined)
    throw malformed('<hostdev> needs <source><address .../></source>', at);
  const hex = (name: string, width: number) =>
    parseUint(name, attr(source, name) ?? '0', atOf(source), 0xffff)
      .toString(16)
      .padStart(width, '0');
  const host = parseHostAddress(
    `${hex('domain', 4)}:${hex('bus', 2)}:${hex('slot', 2)}.${parseUint('function', attr(source, 'function') ?? '0', atOf(source), 7)}`,
    atOf(source),
  );
  const iommufdAttr = attr(child(e, 'driver'), 'iommufd');
  const iommufd = iommufdAttr === undefined ? ctx.iommufdDefault : parseBool('iommufd', iommufdAttr, at);
  const place = pciAddress(ctx, e);
  const notes: string[] = [];
  if (place === undefined) notes.push('no <address type=pci>: placed on pcie.0 at the lowest free slot');
  const device: DraftDevice = {
    id: aliasOf(e) ?? '',
    driver: 'vfio-pci',
    bus: PCIE_ROOT,
    ...place,
    host,
    iommufd: iommufd ? 'iommufd0' : undefined,
    at,
  };
  nameLater(ctx, device, 'hostdev', notes);
  ctx.devices.push(device);
  addPart(ctx, e, 'device', device, notes);
}

export function readIommu(e: Element, ctx: ParseContext): void {
  const model = attr(e, 'model');
  if (model !== 'smmuv3') {
    ignore(ctx, e, `an IOMMU of model ${model} is not an SMMUv3`);
    return;
  }
  readSmmuv3(e, ctx);
}

export function readSmmuv3(e: Element, ctx: ParseContext): void {
  const at = atOf(e);
  const driver = child(e, 'driver');
  const pciBus = attr(driver, 'pciBus');
  const notes: string[] = [];
  let primaryBus = PCIE_ROOT;
  if (pciBus === undefined) notes.push('no pciBus: the machine SMMU on pcie.0 (-machine iommu=smmuv3)');
  else {
    const index = parseUint('pciBus', pciBus, at, 255);
    const bus = ctx.controllers.get(index);
    if (bus === undefined) throw malformed(`<driver pciBus='${pciBus}'>: no pci controller has index ${index}`, at);
    primaryBus = bus;
  }
  const accelText = attr(driver, 'accel');
  const accel = accelText === undefined ? undefined : parseBool('accel', accelText, at);
  const oasText = attr(driver, 'oas');
  for (const key of ['ats', 'ril', 'ssidsize']) {
    const v = attr(driver, key);
    if (v !== undefined) notes.push(`${key}=${v}: read; not part of the MSI path`);
  }
  const smmu: DraftSmmu = {
    id: aliasOf(e) ?? '',
    primaryBus,
    accel,
    oas: oasText === undefined ? undefined : parseUint('oas', oasText, at, 64),
    at,
  };
  nameLater(ctx, smmu, 'iommu', notes);
  ctx.smmus.push(smmu);
  addPart(ctx, e, 'smmu', smmu, notes);
}

/**
 * An emulated device whose model libvirt turns into `driver` (undefined: not a PCI function doorbell
 * maps), named `<prefix><n>` without a user alias.
 */
export function readEmulated(e: Element, ctx: ParseContext, driver: string | undefined, prefix: string): void {
  if (driver === undefined) {
    ignore(
      ctx,
      e,
      hasPciAddress(e)
        ? 'a PCI device of a model doorbell does not map to a QEMU driver: its slot stays free in the model'
        : 'not a PCI device (its model or bus is not one)',
    );
    return;
  }
  const place = pciAddress(ctx, e);
  if (place === undefined) {
    ignore(
      ctx,
      e,
      `${driver} without <address type='pci'>: libvirt picks its slot when the domain is defined; import the XML libvirt wrote back`,
    );
    return;
  }
  const device: DraftDevice = { id: aliasOf(e) ?? '', driver, ...place, at: atOf(e) };
  const notes: string[] = [];
  nameLater(ctx, device, prefix, notes);
  ctx.devices.push(device);
  addPart(ctx, e, 'device', device, notes);
}

export const readInterface = (e: Element, ctx: ParseContext): void =>
  readEmulated(e, ctx, INTERFACE_MODELS[attr(child(e, 'model'), 'type') ?? ''], 'net');

export const readDisk = (e: Element, ctx: ParseContext): void =>
  readEmulated(e, ctx, attr(child(e, 'target'), 'bus') === 'virtio' ? 'virtio-blk-pci' : undefined, 'disk');

export const readMemballoon = (e: Element, ctx: ParseContext): void =>
  readEmulated(e, ctx, attr(e, 'model') === 'virtio' ? 'virtio-balloon-pci' : undefined, 'balloon');

export const readRng = (e: Element, ctx: ParseContext): void =>
  readEmulated(e, ctx, attr(e, 'model') === 'virtio' ? 'virtio-rng-pci' : undefined, 'rng');

export const readVideo = (e: Element, ctx: ParseContext): void =>
  readEmulated(e, ctx, attr(child(e, 'model'), 'type') === 'virtio' ? 'virtio-gpu-pci' : undefined, 'video');

/** A controller other than pci: usb, scsi and virtio-serial controllers are PCI functions. */
export const readOtherController = (e: Element, ctx: ParseContext): void =>
  readEmulated(
    e,
    ctx,
    attr(e, 'type') === 'virtio-serial' ? 'virtio-serial-pci' : CONTROLLER_MODELS[attr(e, 'model') ?? ''],
    'ctl',
  );

/** Any other <devices> child: not a function of the topology (a PCI one keeps its slot free). */
export function readOtherDevice(e: Element, ctx: ParseContext): void {
  ignore(
    ctx,
    e,
    hasPciAddress(e)
      ? 'a PCI device doorbell does not map to a QEMU driver: its slot stays free in the model'
      : 'not part of the IOMMU and MSI topology doorbell models',
  );
}
