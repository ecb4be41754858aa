// -device: the driver (an alias resolved) picks the kind, and one function per kind
// (device-kinds.ts) reads it. Devices are created after every other option is read, in QEMU's
// creation order (creation.ts).

import {
  isEmulatedPci,
  isModelledBridge,
  qdevTypeName,
  ROOT_PORT_DRIVERS,
  UNMODELLED_BRIDGES,
  VFIO_DRIVERS,
  VIRTIO_IOMMU_DRIVER,
} from '../pci-drivers.js';
import type { Option } from './argv.js';
import { type ParseContext, ignore } from './context.js';
import {
  readBridge,
  readEndpoint,
  readPxb,
  readRootPort,
  readSmmu,
  readUnmodelledBridge,
  readVfio,
  readVirtioIommu,
} from './device-kinds.js';
import { DeviceProps } from './device-props.js';
import type { OptionList } from './options.js';

export type DeviceKind =
  | 'pxb'
  | 'root-port'
  | 'bridge'
  | 'unmodelled-bridge'
  | 'smmu'
  | 'vfio'
  | 'virtio-iommu'
  | 'endpoint'
  | 'other';

/** The kind of a -device driver (a QEMU type name or one of its aliases). */
export function deviceKind(driver: string): DeviceKind {
  const type = qdevTypeName(driver);
  if (type === 'pxb-pcie') return 'pxb';
  if (ROOT_PORT_DRIVERS.has(type)) return 'root-port';
  if (isModelledBridge(type)) return 'bridge';
  if (type in UNMODELLED_BRIDGES) return 'unmodelled-bridge';
  if (type === 'arm-smmuv3') return 'smmu';
  if (VFIO_DRIVERS.has(type)) return 'vfio';
  if (type === VIRTIO_IOMMU_DRIVER) return 'virtio-iommu';
  if (isEmulatedPci(type)) return 'endpoint';
  return 'other';
}

const READ_KIND: Record<Exclude<DeviceKind, 'other'>, (ctx: ParseContext, d: DeviceProps) => void> = {
  pxb: readPxb,
  'root-port': readRootPort,
  bridge: readBridge,
  'unmodelled-bridge': readUnmodelledBridge,
  smmu: readSmmu,
  vfio: readVfio,
  'virtio-iommu': readVirtioIommu,
  endpoint: readEndpoint,
};

/** Creates one -device (its options already read): the next in QEMU's creation order. */
export function createDevice(ctx: ParseContext, o: Option, opts: OptionList): void {
  const d = new DeviceProps(o, opts, ctx.created);
  ctx.created += 1;
  if (d.id !== undefined) ctx.usedIds.add(d.id);
  const kind = deviceKind(d.driver);
  if (kind === 'other')
    ignore(ctx, o, `${d.written} is not a PCI device on the PCIe topology (virtio-mmio, USB, CPU or a backend)`);
  else READ_KIND[kind](ctx, d);
}
