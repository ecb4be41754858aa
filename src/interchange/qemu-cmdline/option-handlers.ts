// One handler per option name the topology reads (-machine, -accel, -enable-kvm, -m, -object,
// -device); every other option is left out with its reason (ignored.ts).

import type { GicVersion } from '../../domain/topology/types.js';
import { malformed, notModelled } from '../report.js';
import { type Option, optionText } from './argv.js';
import { type ParseContext, ignore, recordPart } from './context.js';
import { claimDeviceId, firstId } from './creation.js';
import { DEFAULT_REASON, IGNORED_BECAUSE } from './ignored.js';
import { readNet, readNetdev, readNic, readNoDefaults } from './nics.js';
import { jsonOptions, keyValues, type OptionList, parseBool, parseRamSize } from './options.js';

type OptionHandler = (ctx: ParseContext, o: Option) => void;

export function readOption(ctx: ParseContext, o: Option): void {
  const handler = OPTION_HANDLERS[o.name];
  if (handler === undefined) ignore(ctx, o, IGNORED_BECAUSE[o.name] ?? DEFAULT_REASON);
  else handler(ctx, o);
}

/** Each property of `rest` as an ignored item `${head} key=value`. */
function ignoreRest(ctx: ParseContext, o: Option, head: string, rest: OptionList, reason: string): void {
  for (const [k, v] of rest) ignore(ctx, o, reason, `${head} ${k}=${v}`);
}

function requiredValue(o: Option, what: string): string {
  if (o.value === undefined) throw malformed(`-${o.name} needs ${what}`, o.at);
  return o.value;
}

function readMachine(ctx: ParseContext, o: Option): void {
  const value = requiredValue(o, 'a value such as virt,gic-version=3');
  ctx.machine = o;
  ctx.board.at = o.at;
  const rest: OptionList = [];
  for (const [key, v] of keyValues(value, 'type')) {
    const read = MACHINE_PROPERTIES[key];
    if (read === undefined) rest.push([key, v]);
    else read(ctx, o, v);
  }
  ignoreRest(ctx, o, '-machine', rest, 'a virt machine property the topology does not model');
}

type MachineProperty = (ctx: ParseContext, o: Option, value: string) => void;

const readKernelIrqchip: MachineProperty = (ctx, _o, v) => {
  if (v !== 'on') {
    ctx.board.kvm = false;
    ctx.boardNotes.push(`kernel-irqchip=${v}: no in-kernel irqchip, so kvm is false (R16)`);
  }
};

/** The -machine properties the topology reads, one function each. */
const MACHINE_PROPERTIES: Record<string, MachineProperty> = {
  type: (_ctx, o, v) => {
    if (!/^virt(-\d+\.\d+)?$/.test(v))
      throw notModelled(`-machine ${v}: doorbell models the arm64 virt machine`, o.valueAt);
  },
  'gic-version': (ctx, o, v) => {
    if (v === '2' || v === '3') ctx.board.gicVersion = Number(v) as GicVersion;
    else if (v === 'host' || v === 'max') {
      ctx.board.gicVersion = 3;
      ctx.boardNotes.push(`gic-version=${v} taken as 3 (an arm64 host with an ITS)`);
    } else throw malformed(`gic-version=${v}: doorbell models GICv2 and GICv3 (2, 3, host or max)`, o.valueAt);
  },
  accel: (ctx, _o, v) => {
    ctx.board.kvm = v.split(':')[0] === 'kvm';
  },
  its: (ctx, o, v) => {
    ctx.board.its = parseBool('its', v, o.valueAt);
  },
  'kernel-irqchip': readKernelIrqchip,
  kernel_irqchip: readKernelIrqchip,
  // virt_is_acpi_enabled (hw/arm/virt.c): acpi is OnOffAuto, and only off turns ACPI off.
  acpi: (ctx, o, v) => {
    if (v !== 'auto') ctx.board.acpi = parseBool('acpi', v, o.valueAt);
  },
  // virt's default_bus_bypass_iommu: no IOMMU translates pcie.0 (its pxb-pcie buses have their own bypass_iommu).
  default_bus_bypass_iommu: (ctx, o, v) => {
    ctx.board.defaultBusBypassIommu = parseBool('default_bus_bypass_iommu', v, o.valueAt);
  },
  iommu: (ctx, o, v) => {
    if (v === 'smmuv3') ctx.legacySmmu = o;
    else if (v !== 'none') ignore(ctx, o, `iommu=${v} is not an SMMUv3`, `-machine iommu=${v}`);
  },
};

function readAccel(ctx: ParseContext, o: Option): void {
  const [[, accel], ...rest] = keyValues(requiredValue(o, 'a value such as kvm'), 'accel') as [
    [string, string],
    ...OptionList,
  ];
  ctx.board.kvm = accel === 'kvm';
  recordPart(ctx, o.at, optionText(o), { kind: 'vm', id: 'kvm' });
  ignoreRest(ctx, o, `-accel ${accel}`, rest, 'an accelerator property the topology does not model');
}

function readEnableKvm(ctx: ParseContext, o: Option): void {
  ctx.board.kvm = true;
  recordPart(ctx, o.at, optionText(o), { kind: 'vm', id: 'kvm' });
}

function readMemory(ctx: ParseContext, o: Option): void {
  const value = requiredValue(o, 'a size such as 16G');
  const opts = keyValues(value, 'size');
  const size = opts.find(([k]) => k === 'size');
  if (size === undefined) throw malformed(`-m ${value} gives no size`, o.valueAt);
  ctx.board.ramSize = parseRamSize(size[1], o.valueAt);
  recordPart(ctx, o.at, `-m ${size[1]}`, { kind: 'vm', id: 'ramSize' });
  ignoreRest(
    ctx,
    o,
    '-m',
    opts.filter(([k]) => k !== 'size'),
    'memory hot-plug is not part of the topology',
  );
}

function readObject(ctx: ParseContext, o: Option): void {
  const value = requiredValue(o, 'a value such as iommufd,id=iommufd0');
  const opts = value.startsWith('{') ? jsonOptions(value, o.valueAt) : keyValues(value, 'qom-type');
  const type = opts.find(([k]) => k === 'qom-type')?.[1];
  if (type !== 'iommufd') {
    ignore(ctx, o, `an object of type ${type} is not part of the topology`);
    return;
  }
  const id = opts.find(([k]) => k === 'id')?.[1];
  if (id === undefined) throw malformed('-object iommufd needs an id', o.valueAt);
  ctx.iommufds.add(id);
  ctx.usedIds.add(id);
  const fd = opts.some(([k]) => k === 'fd');
  recordPart(
    ctx,
    o.at,
    optionText(o),
    { kind: 'iommufd', id },
    fd ? ['fd= is the host file descriptor libvirt passes; not part of the topology'] : [],
  );
}

/**
 * -device: its text is read now (a JSON one that does not parse, or a repeated key=value id, is
 * refused while QEMU reads its options); the device is created later (parse.ts createDevices).
 */
function readDeviceOption(ctx: ParseContext, o: Option): void {
  const value = requiredValue(o, 'a value such as vfio-pci,host=...');
  const json = value.startsWith('{');
  const opts = json ? jsonOptions(value, o.valueAt) : keyValues(value, 'driver');
  if (!json) claimDeviceId(ctx, firstId(opts), o, false);
  ctx.deviceOptions.push({ option: o, opts, json });
}

const OPTION_HANDLERS: Record<string, OptionHandler> = {
  machine: readMachine,
  M: readMachine,
  accel: readAccel,
  'enable-kvm': readEnableKvm,
  m: readMemory,
  object: readObject,
  device: readDeviceOption,
  nodefaults: readNoDefaults,
  netdev: readNetdev,
  nic: readNic,
  net: readNet,
};
