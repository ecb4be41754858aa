// What the element readers share while one <domain> is read: the Draft being filled, the report,
// libvirt's controller indexes and the ids taken. Passed explicitly to every reader.

import { type Draft, type DraftBridge, PCIE_ROOT } from '../draft.js';
import { describeAt, type ImportReport, InterchangeError, type PartKind, type SourceRef } from '../report.js';
import type { Naming } from './aliases.js';
import { atOf, attr, children, describe, type Element } from './xml.js';
import { parseUint } from '../qemu-cmdline/options.js';

export interface ParseContext {
  readonly board: Draft['board'];
  readonly pxbs: Draft['pxbs'];
  readonly rootPorts: Draft['rootPorts'];
  readonly bridges: DraftBridge[];
  readonly smmus: Draft['smmus'];
  readonly devices: Draft['devices'];
  readonly report: ImportReport;
  /** libvirt's controller index -> the bus id (an <address bus=> names an index, not a bus number). */
  readonly controllers: Map<number, string>;
  /** Ids taken, so that generated ones do not collide. */
  readonly usedIds: Set<string>;
  /** Parts without <alias name='ua-...'>: named once every element has been read. */
  readonly unnamed: { item: { id: string }; prefix: string; fixed?: string; early?: boolean; notes: string[] }[];
  /** How many <devices> children of each name have been read (libvirt numbers videos and serials by position). */
  readonly ordinals: Map<string, number>;
  /** <iommufd enabled='yes'> at domain level: the default of every <hostdev>. */
  iommufdDefault: boolean;
  /** A <gic> that leaves the version to the host (no version, or version='host'). */
  gicFromHost?: Element;
  /** busNr of every pcie-expander-bus that names one (libvirt picks the others below them). */
  readonly busNrs: number[];
}

export function newContext(board: Draft['board'], report: ImportReport): ParseContext {
  return {
    board,
    pxbs: [],
    rootPorts: [],
    bridges: [],
    smmus: [],
    devices: [],
    report,
    controllers: new Map([[0, PCIE_ROOT]]),
    usedIds: new Set([PCIE_ROOT]),
    unnamed: [],
    ordinals: new Map(),
    iommufdDefault: false,
    busNrs: [],
  };
}

export function ignore(ctx: ParseContext, e: Element, reason: string, text = `<${e.tagName}>`): void {
  ctx.report.ignored.push({ at: atOf(e), text, reason });
}

export function addPart(
  ctx: ParseContext,
  e: Element,
  kind: PartKind,
  item: { id: string },
  notes: string[] = [],
  text = describe(e),
): void {
  ctx.report.parts.push({ at: atOf(e), text, became: { kind, id: item.id }, notes });
}

/**
 * An item without a user alias gets its libvirt id once every element has been read: a fixed one
 * (virtio-disk0, usb, scsi0) or the next free `<prefix><n>` (net0, hostdev1); an alias takes its id.
 */
export function nameLater(ctx: ParseContext, item: { id: string }, naming: Naming, notes: string[]): void {
  if (item.id !== '') ctx.usedIds.add(item.id);
  else if ('prefix' in naming) ctx.unnamed.push({ item, prefix: naming.prefix, early: naming.early, notes });
  else ctx.unnamed.push({ item, prefix: naming.id.replace(/\d+$/, ''), fixed: naming.id, notes });
}

/** The position of this element among the <devices> children of its name read so far (video0, serial1). */
export function ordinal(ctx: ParseContext, e: Element): number {
  const n = ctx.ordinals.get(e.tagName) ?? 0;
  ctx.ordinals.set(e.tagName, n + 1);
  return n;
}

/** libvirt names a controller pci.<index> and reads an alias ua-<name> as the user's own name. */
export function aliasOf(e: Element): string | undefined {
  const name = attr(children(e, 'alias')[0], 'name');
  return name?.startsWith('ua-') ? name.slice(3) : undefined;
}

/** The element's <address type='pci'>, its bus resolved from libvirt's controller index. */
export function pciAddress(ctx: ParseContext, e: Element): { bus: string; slot: number; function: number } | undefined {
  const a = children(e, 'address').find((x) => attr(x, 'type') === 'pci');
  if (a === undefined) return undefined;
  const index = parseUint('bus', attr(a, 'bus') ?? '0', atOf(a), 255);
  const bus = ctx.controllers.get(index);
  if (bus === undefined) throw missingController(attr(a, 'bus') ?? '0', index, atOf(a));
  return {
    bus,
    slot: parseUint('slot', attr(a, 'slot') ?? '0', atOf(a), 31),
    function: parseUint('function', attr(a, 'function') ?? '0', atOf(a), 7),
  };
}

/**
 * An address on a controller index no <controller> defines is valid input: when libvirt defines
 * the domain it adds the missing controllers (qemu_domain_address.c qemuDomainAssignPCIAddresses,
 * virDomainDefMaybeAddController; on pcie-root, pcie-root-ports packed into the functions of one
 * slot, plus one spare for hotplug). doorbell does not redo that placement.
 */
export function missingController(written: string, index: number, at: SourceRef): InterchangeError {
  return new InterchangeError(
    'IMPORT_NOT_SUPPORTED',
    `${describeAt(at)}: <address bus='${written}'>: no <controller type='pci' index='${index}'>; libvirt adds the missing controllers and their addresses when it defines the domain (qemuDomainAssignPCIAddresses): import the domain XML libvirt wrote back (virsh dumpxml), which has them`,
    at,
  );
}

/**
 * A PCI device or controller with no <address> at all is valid input: libvirt assigns it a slot
 * when it defines the domain (qemu_domain_address.c qemuDomainAssignPCIAddresses: PCIe devices
 * behind auto-added pcie-root-ports, conventional PCI devices behind an auto-added
 * pcie-to-pci-bridge). doorbell does not redo that placement.
 */
export function addressRequired(e: Element, what: string): InterchangeError {
  const at = atOf(e);
  return new InterchangeError(
    'IMPORT_NOT_SUPPORTED',
    `${describeAt(at)}: ${describe(e)} (${what}) has no <address type='pci'>; libvirt assigns its PCI address (and adds the controllers it needs) when it defines the domain (qemuDomainAssignPCIAddresses): import the domain XML libvirt wrote back (virsh dumpxml), which has the address`,
    at,
  );
}

/** The type of the element's <address>, if it has one. */
export const addressType = (e: Element): string | undefined => attr(children(e, 'address')[0], 'type');

export const hasPciAddress = (e: Element): boolean => children(e, 'address').some((a) => attr(a, 'type') === 'pci');
