// -device: the driver picks the kind, and one function per kind (device-kinds.ts) reads it.

import { BRIDGE_DRIVERS, isEmulatedPci, ROOT_PORT_DRIVERS, VFIO_DRIVERS } from '../pci-drivers.js';
import type { Option } from './argv.js';
import { type ParseContext, ignore } from './context.js';
import { readBridge, readEndpoint, readPxb, readRootPort, readSmmu, readVfio } from './device-kinds.js';
import { DeviceProps } from './device-props.js';
import type { OptionList } from './options.js';

export type DeviceKind = 'pxb' | 'root-port' | 'bridge' | 'smmu' | 'vfio' | 'endpoint' | 'other';

export function deviceKind(driver: string): DeviceKind {
  if (driver === 'pxb-pcie') return 'pxb';
  if (ROOT_PORT_DRIVERS.has(driver)) return 'root-port';
  if (driver === 'arm-smmuv3') return 'smmu';
  if (VFIO_DRIVERS.has(driver)) return 'vfio';
  if (isEmulatedPci(driver)) return 'endpoint';
  if (BRIDGE_DRIVERS.has(driver)) return 'bridge';
  return 'other';
}

const READ_KIND: Record<Exclude<DeviceKind, 'other'>, (ctx: ParseContext, d: DeviceProps) => void> = {
  pxb: readPxb,
  'root-port': readRootPort,
  bridge: readBridge,
  smmu: readSmmu,
  vfio: readVfio,
  endpoint: readEndpoint,
};

export function readDevice(ctx: ParseContext, o: Option, opts: OptionList): void {
  const d = new DeviceProps(o, opts);
  if (d.id !== undefined) ctx.usedIds.add(d.id);
  const kind = deviceKind(d.driver);
  if (kind === 'other')
    ignore(ctx, o, `${d.driver} is not a PCI device on the PCIe topology (virtio-mmio, USB, CPU or a backend)`);
  else READ_KIND[kind](ctx, d);
}
