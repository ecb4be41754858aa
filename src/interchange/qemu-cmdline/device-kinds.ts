// One function per kind of -device: each reads its properties into a Draft part (or refuses
// them with the reason) and records what it became.

import type { SmmuStage } from '../../domain/topology/types.js';
import type { DraftDevice, DraftPxb, DraftRootPort, DraftSmmu } from '../draft.js';
import { InterchangeError, malformed } from '../report.js';
import type { ParseContext } from './context.js';
import type { DeviceProps } from './device-props.js';
import { parseBool, parseHostAddress, parseUint } from './options.js';

export function readPxb(ctx: ParseContext, d: DeviceProps): void {
  const busNr = d.take('bus_nr');
  if (busNr === undefined) throw malformed('pxb-pcie needs bus_nr (its root bus number)', d.option.valueAt);
  const pxb: DraftPxb = {
    id: d.id ?? '',
    busNr: parseUint('bus_nr', busNr, d.option.valueAt, 255),
    ...d.placement(),
    at: d.option.at,
  };
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
    ...d.placement(),
    busReserve: reserve === undefined ? 0 : parseUint('bus-reserve', reserve, d.option.valueAt, 255),
    at: d.option.at,
  };
  d.nameIfNameless(ctx, port, 'port');
  if (d.driver !== 'pcie-root-port') d.notes.push(`${d.driver} is a PCIe root port: imported as pcie-root-port`);
  for (const key of ['chassis', 'port', 'slot'])
    d.note(key, 'identifies the hot-plug slot; the topology does not hold it');
  for (const key of ['io-reserve', 'mem-reserve', 'pref32-reserve', 'pref64-reserve'])
    d.note(key, 'address-window padding, not bus numbers');
  ctx.rootPorts.push(port);
  d.record(ctx, 'bus', port);
  d.leftover(ctx, 'a root port property the topology does not model');
}

export function readBridge(_ctx: ParseContext, d: DeviceProps): void {
  throw new InterchangeError(
    'IMPORT_NOT_SUPPORTED',
    `-device ${d.driver}: a switch or bridge takes bus numbers below a root port, and doorbell models root ports with endpoints behind them only`,
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

export function readVfio(ctx: ParseContext, d: DeviceProps): void {
  const at = d.option.valueAt;
  const host = d.take('host');
  const sysfsdev = d.take('sysfsdev');
  const fromSysfs = sysfsdev?.split('/').pop();
  const iommufd = d.take('iommufd');
  if (iommufd !== undefined && !ctx.iommufds.has(iommufd))
    throw malformed(`${d.driver} iommufd=${iommufd}: no -object iommufd,id=${iommufd} before it`, at);
  const device: DraftDevice = {
    id: d.id ?? '',
    driver: 'vfio-pci',
    ...d.placement(),
    host:
      host !== undefined
        ? parseHostAddress(host, at)
        : fromSysfs !== undefined
          ? parseHostAddress(fromSysfs, at)
          : undefined,
    iommufd,
    at: d.option.at,
  };
  d.nameIfNameless(ctx, device, 'hostdev');
  if (d.driver !== 'vfio-pci')
    d.notes.push(`${d.driver} imported as vfio-pci (the same passthrough device, not hot-pluggable)`);
  if (sysfsdev !== undefined) d.notes.push(`sysfsdev=${sysfsdev}: host address taken from its last component`);
  d.note('fd', 'the host file descriptor libvirt passes; not part of the topology');
  ctx.devices.push(device);
  d.record(ctx, 'device', device);
  d.leftover(ctx, 'a vfio-pci property the topology does not model');
}

export function readEndpoint(ctx: ParseContext, d: DeviceProps): void {
  const device: DraftDevice = { id: d.id ?? '', driver: d.driver, ...d.placement(), at: d.option.at };
  d.nameIfNameless(ctx, device, d.driver.replace(/[^A-Za-z0-9]/g, '').slice(0, 20));
  ctx.devices.push(device);
  d.record(ctx, 'device', device);
  d.leftover(ctx, 'a device property that does not change its place on the topology');
}
