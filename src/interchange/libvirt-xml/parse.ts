// A libvirt <domain> -> a Draft of the VM (see ../draft.ts) and the report. A dispatcher: each
// domain-level element and each <devices> child goes to the one function that reads its kind
// (domain.ts, controllers.ts, devices.ts), all sharing one ParseContext. In libvirt an
// <address bus=> is a controller index, not a guest bus number (qemu-fidelity-and-import.md B2).

import type { Draft } from '../draft.js';
import { emulatorOf } from '../emulator.js';
import { malformed, type ImportReport, type SourceRef } from '../report.js';
import { ignore, newContext, type ParseContext } from './context.js';
import { indexControllers, isPciController, readPciController } from './controllers.js';
import {
  readDisk,
  readHostdev,
  readInterface,
  readIommu,
  readMemballoon,
  readOtherController,
  readOtherDevice,
  readPanic,
  readRng,
  readSerial,
  readVideo,
} from './devices.js';
import {
  type HostAssumptions,
  readFeatures,
  readIommufd,
  readMemory,
  readName,
  readOs,
  settleAcpi,
  settleGic,
} from './domain.js';
import { atOf, attr, children, type Element, parseXml } from './xml.js';

export { CONTROLLER_MODELS } from './devices.js';

type ElementReader = (e: Element, ctx: ParseContext) => void;

/** Domain-level elements (<devices> is read last, once <iommufd> is known). */
const DOMAIN_ELEMENTS: Record<string, ElementReader> = {
  memory: readMemory,
  features: readFeatures,
  iommufd: readIommufd,
  os: readOs,
  name: readName,
};

/** <devices> children by element name. */
const DEVICE_ELEMENTS: Record<string, ElementReader> = {
  controller: (e, ctx) => (isPciController(e) ? readPciController(e, ctx) : readOtherController(e, ctx)),
  hostdev: readHostdev,
  iommu: readIommu,
  interface: readInterface,
  disk: readDisk,
  memballoon: readMemballoon,
  rng: readRng,
  video: readVideo,
  panic: readPanic,
  serial: readSerial,
  emulator: readEmulator,
};

/** <emulator>: the binary libvirt starts (emulator.ts: recorded, no build declared from it). */
function readEmulator(e: Element, ctx: ParseContext): void {
  const binary = e.textContent?.trim() ?? '';
  if (binary === '') ignore(ctx, e, 'an empty <emulator> names no binary');
  else ctx.report.emulator = emulatorOf(binary, atOf(e), 'emulator-element');
}

export type { HostAssumptions };

/**
 * `host`: what libvirt would have read from the host's capabilities, when the request says it
 * (the GIC version); otherwise the import assumes an arm64 KVM host and the report says so.
 */
export function parseLibvirtXml(source: string, host: HostAssumptions = {}): Draft {
  const domain = parseXml(source).documentElement;
  if (domain === null || domain.tagName !== 'domain')
    throw malformed(`the root element is <${domain?.tagName}>, not <domain>`, domain ? atOf(domain) : null);
  const report: ImportReport = { format: 'libvirt-xml', emulator: null, parts: [], ignored: [], busNumbers: [] };
  const board: Draft['board'] = { at: atOf(domain), kvm: attr(domain, 'type') === 'kvm' };
  report.parts.push({
    at: atOf(domain),
    text: '<domain>',
    became: { kind: 'vm', id: 'board' },
    notes: [`<domain type='${attr(domain, 'type')}'>: kvm is ${board.kvm}`],
  });
  const ctx = newContext(board, report);

  let devices: Element | undefined;
  for (const e of children(domain)) {
    if (e.tagName === 'devices') devices = e;
    else (DOMAIN_ELEMENTS[e.tagName] ?? ignoreDomainElement)(e, ctx);
  }
  settleGic(attr(domain, 'type'), ctx, host);
  settleAcpi(ctx);
  const all = devices === undefined ? [] : children(devices);
  indexControllers(all, ctx);
  for (const e of all) (DEVICE_ELEMENTS[e.tagName] ?? readOtherDevice)(e, ctx);

  nameUnnamed(ctx);
  const { pxbs, rootPorts, bridges, smmus, devices: draftDevices } = ctx;
  return { board, pxbs, rootPorts, ...(bridges.length > 0 ? { bridges } : {}), smmus, devices: draftDevices, report };
}

function ignoreDomainElement(e: Element, ctx: ParseContext): void {
  ignore(ctx, e, 'not part of the IOMMU and MSI topology doorbell models');
}

/** Ids for parts without a user alias, as libvirt names them (aliases.ts), avoiding ids taken. */
function nameUnnamed(ctx: ParseContext): void {
  const inOrder = [...ctx.unnamed.filter((u) => u.early), ...ctx.unnamed.filter((u) => !u.early)];
  for (const { item, prefix, fixed, notes } of inOrder) {
    let n = 0;
    while (ctx.usedIds.has(`${prefix}${n}`)) n += 1;
    item.id = fixed !== undefined && !ctx.usedIds.has(fixed) ? fixed : `${prefix}${n}`;
    ctx.usedIds.add(item.id);
    notes.push(`no <alias name='ua-...'>: named ${item.id}`);
  }
  const named = [...ctx.devices, ...ctx.smmus];
  for (const p of ctx.report.parts) {
    if (p.became.id === '') p.became.id = named.find((d) => sameAt(d.at, p.at))?.id ?? '';
  }
}

const sameAt = (a: SourceRef, b: SourceRef) => JSON.stringify(a) === JSON.stringify(b);
