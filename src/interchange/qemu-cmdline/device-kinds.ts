// One function per kind of -device: each reads its properties into a Draft part (or refuses
// them with the reason) and records what it became. The QEMU rules they share live in
// creation.ts (order, ids, buses) and iommu-rules.ts.

import type { SmmuStage } from '../../domain/topology/types.js';
import type { BridgeType, DraftBridge, DraftDevice, DraftPxb, DraftRootPort, DraftSmmu } from '../draft.js';
import { UNMODELLED_BRIDGES, VIRTIO_IOMMU_DRIVER } from '../pci-drivers.js';
import { InterchangeError, malformed } from '../report.js';
import type { ParseContext } from './context.js';
import type { DeviceProps } from './device-props.js';
import { checkSmmuAfterVirtioIommu, checkVirtioIommuAlone } from './iommu-rules.js';
import { parseBool, parseHostAddress, parseUint } from './options.js';

export function readPxb(ctx: ParseContext, d: DeviceProps): void {
  const busNr = d.take('bus_nr');
  if (busNr === undefined) throw malformed('pxb-pcie needs bus_nr (its root bus number)', d.option.valueAt);
  const bypass = d.take('bypass_iommu');
  const pxb: DraftPxb = {
    id: d.id ?? '',
    busNr: parseUint('bus_nr', busNr, d.option.valueAt, 255),
    bus: '',
    at: d.option.at,
  };
  d.place(ctx, pxb, false);
  // pxb-pcie bypass_iommu (hw/pci-bridge/pci_expander_bridge.c): no IOMMU translates its buses.
  if (bypass !== undefined) pxb.bypassIommu = parseBool('bypass_iommu', bypass, d.option.valueAt);
  d.nameIfNameless(ctx, pxb, 'pxb');
  d.note('numa_node', 'NUMA placement, not part of the topology');
  ctx.pxbs.push(pxb);
  d.record(ctx, 'bus', pxb);
  d.leftover(ctx, 'a pxb-pcie property the topology does not model');
}

export function readRootPort(ctx: ParseContext, d: DeviceProps): void {
  const reserve = d.take('bus-reserve');
  const port: DraftRootPort = {
    id: d.id ?? '',
    bus: '',
    busReserve: reserve === undefined ? 0 : parseUint('bus-reserve', reserve, d.option.valueAt, 255),
    at: d.option.at,
  };
  d.place(ctx, port, true);
  d.nameIfNameless(ctx, port, 'port');
  if (d.driver !== 'pcie-root-port') d.notes.push(`${d.driver} is a PCIe root port: imported as pcie-root-port`);
  for (const key of ['chassis', 'port', 'slot'])
    d.note(key, 'identifies the hot-plug slot; the topology does not hold it');
  for (const key of ['io-reserve', 'mem-reserve', 'pref32-reserve', 'pref64-reserve'])
    d.note(key, 'address-window padding, not bus numbers');
  d.note('multifunction', 'marks function 0 of a multi-function slot');
  ctx.rootPorts.push(port);
  d.record(ctx, 'bus', port);
  d.leftover(ctx, 'a root port property the topology does not model');
}

/**
 * Of the bridge types, only pci-bridge has bus-reserve (as pcie-root-port has): QEMU 7.2's
 * `-device x3130-upstream,help`, `xio3130-downstream,help` and `pcie-pci-bridge,help` list none,
 * so QEMU refuses the property there.
 */
const BRIDGES_WITH_BUS_RESERVE = new Set<BridgeType>(['pci-bridge']);

export function readBridge(ctx: ParseContext, d: DeviceProps): void {
  const type = d.driver as BridgeType;
  const reserve = d.take('bus-reserve');
  if (reserve !== undefined && !BRIDGES_WITH_BUS_RESERVE.has(type))
    throw malformed(
      `${type} has no property bus-reserve (QEMU refuses it; pci-bridge and pcie-root-port have it)`,
      d.option.valueAt,
    );
  const bridge: DraftBridge = {
    type,
    id: d.id ?? '',
    bus: '',
    busReserve: reserve === undefined ? 0 : parseUint('bus-reserve', reserve, d.option.valueAt, 255),
    at: d.option.at,
  };
  d.place(ctx, bridge, true);
  d.nameIfNameless(
    ctx,
    bridge,
    type === 'x3130-upstream' ? 'upstream' : type === 'xio3130-downstream' ? 'downstream' : 'bridge',
  );
  for (const key of ['chassis', 'chassis_nr', 'port', 'slot'])
    d.note(key, 'identifies the hot-plug slot; the topology does not hold it');
  for (const key of ['io-reserve', 'mem-reserve', 'pref32-reserve', 'pref64-reserve'])
    d.note(key, 'address-window padding, not bus numbers');
  for (const key of ['multifunction', 'shpc', 'msi']) d.note(key, 'not part of the topology');
  ctx.bridges.push(bridge);
  d.record(ctx, 'bus', bridge);
  d.leftover(ctx, `a ${type} property the topology does not model`);
}

/** A bridge that takes bus numbers but is none of BRIDGE_TYPES: refused, so that no bus is lost. */
export function readUnmodelledBridge(_ctx: ParseContext, d: DeviceProps): void {
  throw new InterchangeError(
    'IMPORT_NOT_SUPPORTED',
    `-device ${d.driver}: ${UNMODELLED_BRIDGES[d.driver] ?? 'a bridge'} takes a bus number, and doorbell models x3130-upstream, xio3130-downstream, pcie-pci-bridge and pci-bridge only`,
    d.option.at,
  );
}

/** arm-smmuv3 accel=on/off: the on/off/auto properties that only accel=on may set (smmu_validate_property). */
function readAccelOnly(d: DeviceProps, key: string, accelOnly: 'on' | 'off', accel: boolean | undefined): void {
  const v = d.take(key);
  if (v === undefined) return;
  const value = v === 'auto' ? 'auto' : parseBool(key, v, d.option.valueAt) ? 'on' : 'off';
  if (value === accelOnly && accel !== true)
    throw new InterchangeError(
      'SMMU_PROPERTY_NEEDS_ACCEL',
      `arm-smmuv3 ${key}=${v} needs accel=on (smmu_validate_property)`,
      d.option.at,
    );
  d.notes.push(`${key}=${v}: read; not part of the MSI path`);
}

export function readSmmu(ctx: ParseContext, d: DeviceProps): void {
  const at = d.option.valueAt;
  checkSmmuAfterVirtioIommu(ctx, d);
  const primaryBus = d.take('primary-bus');
  if (primaryBus === undefined) throw malformed('arm-smmuv3 needs primary-bus (pcie.0 or a pxb-pcie)', at);
  const accelText = d.take('accel');
  const accel = accelText === undefined ? undefined : parseBool('accel', accelText, at);
  const stage = d.take('stage');
  if (stage !== undefined && stage !== '1' && stage !== '2' && stage !== 'nested')
    throw malformed(`arm-smmuv3 stage=${stage}: one of 1, 2, nested`, at);
  const oasText = d.take('oas');
  const oas = oasText === undefined ? undefined : parseUint('oas', oasText, at, 64);
  for (const gone of ['pasid', 'cmdqv']) {
    if (d.take(gone) !== undefined)
      throw malformed(
        `arm-smmuv3 has no property ${gone} in QEMU 11.0${gone === 'pasid' ? ' (renamed ssidsize)' : ' (vCMDQ is not in 11.0)'}`,
        at,
      );
  }
  // ril, ats and ssidsize shape what the guest sees of the SMMU, not where an MSI goes.
  readAccelOnly(d, 'ril', 'off', accel);
  readAccelOnly(d, 'ats', 'on', accel);
  const ssid = d.take('ssidsize');
  if (ssid !== undefined && ssid !== 'auto') {
    const n = parseUint('ssidsize', ssid, at, 20);
    if (n > 0 && accel !== true)
      throw new InterchangeError(
        'SMMU_PROPERTY_NEEDS_ACCEL',
        `arm-smmuv3 ssidsize=${ssid} needs accel=on`,
        d.option.at,
      );
  }
  if (ssid !== undefined) d.notes.push(`ssidsize=${ssid}: read; not part of the MSI path`);
  const smmu: DraftSmmu = {
    id: d.id ?? '',
    primaryBus,
    accel,
    stage: stage as SmmuStage | undefined,
    oas,
    at: d.option.at,
  };
  d.nameIfNameless(ctx, smmu, 'smmuv3.');
  ctx.smmus.push(smmu);
  d.record(ctx, 'smmu', smmu);
  d.leftover(ctx, 'an arm-smmuv3 property the topology does not model');
}

/**
 * vfio-pci names its host device by host=, by sysfsdev= (the host address is its last path
 * component) or by fd= (an opened device: libvirt's iommufd form `"fd":"@hostdev-...-fd@"`, QEMU's
 * docs/devel/vfio-iommufd.rst `fd=23`), which gives no host address: the host is then unknown.
 * An iommufd= names a -object iommufd, which QEMU creates before any device (vl.c
 * qemu_create_late_backends), wherever it stands on the line.
 */
export function readVfio(ctx: ParseContext, d: DeviceProps): void {
  const at = d.option.valueAt;
  const host = d.take('host');
  const sysfsdev = d.take('sysfsdev');
  const fromSysfs = sysfsdev?.split('/').pop();
  const fd = d.take('fd');
  const iommufd = d.take('iommufd');
  if (iommufd !== undefined && !ctx.iommufds.has(iommufd))
    throw malformed(`${d.driver} iommufd=${iommufd}: there is no -object iommufd,id=${iommufd}`, at);
  const hostAddress = host ?? fromSysfs;
  const device: DraftDevice = {
    id: d.id ?? '',
    driver: 'vfio-pci',
    bus: '',
    host: hostAddress === undefined ? undefined : parseHostAddress(hostAddress, at),
    ...(fd === undefined ? {} : { hostFd: true }),
    iommufd,
    at: d.option.at,
  };
  d.place(ctx, device, false);
  d.nameIfNameless(ctx, device, 'hostdev');
  if (d.driver !== 'vfio-pci')
    d.notes.push(`${d.driver} imported as vfio-pci (the same passthrough device, not hot-pluggable)`);
  if (sysfsdev !== undefined) d.notes.push(`sysfsdev=${sysfsdev}: host address taken from its last component`);
  if (fd !== undefined)
    d.notes.push(
      `fd=${fd}: the host file descriptor of an opened device${hostAddress === undefined ? '; the host address is unknown' : ''}`,
    );
  ctx.devices.push(device);
  d.record(ctx, 'device', device);
  d.leftover(ctx, 'a vfio-pci property the topology does not model');
}

/**
 * virtio-iommu-pci (alias virtio-iommu): the VM's IOMMU, a PCI function of its own. Kept as a
 * device whose driver says what it is, never a plain endpoint; the properties that shape its
 * translation are noted (aw-bits, granule: QEMU 9.0 and later; boot-bypass; reserved-regions,
 * which the virt board sets itself to the MSI doorbell window).
 */
export function readVirtioIommu(ctx: ParseContext, d: DeviceProps): void {
  checkVirtioIommuAlone(ctx, d);
  const device: DraftDevice = { id: d.id ?? '', driver: VIRTIO_IOMMU_DRIVER, bus: '', at: d.option.at };
  d.place(ctx, device, false);
  d.nameIfNameless(ctx, device, 'viommu');
  d.notes.push('a virtio-iommu: the IOMMU of every PCI bus but those with bypass_iommu');
  d.note('aw-bits', 'input address width of the virtio-iommu');
  d.note('granule', 'page granule of the virtio-iommu');
  d.note('boot-bypass', 'whether endpoints not yet attached bypass translation');
  d.note('reserved-regions', 'reserved regions besides the MSI window virt adds');
  d.note('len-reserved-regions', 'reserved regions besides the MSI window virt adds');
  ctx.devices.push(device);
  d.record(ctx, 'device', device);
  d.leftover(ctx, 'a virtio-iommu-pci property the topology does not model');
}

export function readEndpoint(ctx: ParseContext, d: DeviceProps): void {
  const device: DraftDevice = { id: d.id ?? '', driver: d.driver, bus: '', at: d.option.at };
  d.place(ctx, device, false);
  d.nameIfNameless(ctx, device, d.driver.replace(/[^A-Za-z0-9]/g, '').slice(0, 20));
  ctx.devices.push(device);
  d.record(ctx, 'device', device);
  d.leftover(ctx, 'a device property that does not change its place on the topology');
}
