// The domain-level elements the topology needs: <memory>, <features> (the GIC), <iommufd>, <os>
// (the machine type). Everything else at domain level is ignored with its reason.

import type { GicVersion } from '../../domain/topology/types.js';
import { parseBool, parseRamSize } from '../qemu-cmdline/options.js';
import { malformed } from '../report.js';
import { addPart, ignore, type ParseContext } from './context.js';
import { atOf, attr, child, children, type Element } from './xml.js';

/** libvirt's memory units (KiB when none is given). */
const UNITS: Record<string, string> = {
  b: 'B',
  bytes: 'B',
  k: 'K',
  kib: 'K',
  kb: 'K',
  m: 'M',
  mib: 'M',
  mb: 'M',
  g: 'G',
  gib: 'G',
  gb: 'G',
  t: 'T',
  tib: 'T',
  tb: 'T',
  p: 'P',
  pib: 'P',
  e: 'E',
  eib: 'E',
};

export function readMemory(e: Element, ctx: ParseContext): void {
  const unit = (attr(e, 'unit') ?? 'KiB').toLowerCase();
  const suffix = UNITS[unit];
  if (suffix === undefined) throw malformed(`<memory unit='${attr(e, 'unit')}'> is not a libvirt unit`, atOf(e));
  ctx.board.ramSize = parseRamSize(`${(e.textContent ?? '').trim()}${suffix}`, atOf(e));
  addPart(ctx, e, 'vm', { id: 'ramSize' }, [], '<memory>');
}

export function readFeatures(e: Element, ctx: ParseContext): void {
  for (const f of children(e)) {
    if (f.tagName === 'gic') readGic(f, ctx);
    else ignore(ctx, f, 'a machine feature the topology does not model', `<features><${f.tagName}>`);
  }
}

export function readGic(f: Element, ctx: ParseContext): void {
  const version = attr(f, 'version') ?? '3';
  if (version === '2' || version === '3') ctx.board.gicVersion = Number(version) as GicVersion;
  else if (version === 'host') ctx.board.gicVersion = 3;
  else throw malformed(`<gic version='${version}'>: doorbell models GICv2 and GICv3`, atOf(f));
  addPart(ctx, f, 'vm', { id: 'gicVersion' }, [], `<gic version='${version}'>`);
}

export function readIommufd(e: Element, ctx: ParseContext): void {
  ctx.iommufdDefault = parseBool('enabled', attr(e, 'enabled') ?? 'no', atOf(e));
  addPart(ctx, e, 'iommufd', { id: 'iommufd0' }, ['the default for every <hostdev> (libvirt >= 12.x)'], '<iommufd>');
}

export function readOs(e: Element, ctx: ParseContext): void {
  const machine = attr(child(e, 'type'), 'machine');
  if (machine !== undefined && !/^virt(-\d+\.\d+)?$/.test(machine))
    throw malformed(`<type machine='${machine}'>: doorbell models the arm64 virt machine`, atOf(e));
  ignore(ctx, e, 'boot and firmware settings: the bus numbering assumes EDK2 (ArmVirtQemu)');
}

export function readName(e: Element, ctx: ParseContext): void {
  ignore(ctx, e, 'the VM id comes from the request (vm)');
}
