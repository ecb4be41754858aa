// <controller type='pci'> by model: pcie-root (bus 0), pcie-expander-bus (pxb-pcie), pcie-root-port,
// the switch ports and the bridges. Other controller types (usb, scsi, virtio-serial) are emulated
// PCI functions, read in devices.ts.

import { type BridgeType, type DraftBridge, type DraftPxb, type DraftRootPort, PCIE_ROOT } from '../draft.js';
import { parseUint } from '../qemu-cmdline/options.js';
import { describeAt, InterchangeError, malformed } from '../report.js';
import { addPart, addressRequired, aliasOf, ignore, type ParseContext, pciAddress } from './context.js';
import { atOf, attr, child, children, type Element } from './xml.js';

export const isPciController = (e: Element): boolean => e.tagName === 'controller' && attr(e, 'type') === 'pci';

/**
 * First pass over <devices>: every pci controller's index -> its bus id, so that an
 * <address bus=> may name a controller defined further down; and the busNr each
 * pcie-expander-bus names.
 */
export function indexControllers(all: Element[], ctx: ParseContext): void {
  for (const e of all) {
    if (!isPciController(e)) continue;
    const indexText = attr(e, 'index');
    if (indexText === undefined) throw indexRequired(e);
    const index = parseUint('index', indexText, atOf(e), 255);
    if (attr(e, 'model') === 'pcie-root') {
      if (index !== 0) throw malformed(`pcie-root must have index 0, not ${index}`, atOf(e));
      continue;
    }
    const id = aliasOf(e) ?? `pci.${index}`;
    if (ctx.controllers.has(index)) throw malformed(`a second pci controller with index ${index}`, atOf(e));
    ctx.controllers.set(index, id);
    ctx.usedIds.add(id);
    const busNr = attr(child(e, 'target'), 'busNr');
    if (attr(e, 'model') === 'pcie-expander-bus' && busNr !== undefined)
      ctx.busNrs.push(parseUint('busNr', busNr, atOf(e), 255));
  }
}

/** A pci controller without index= is valid: libvirt numbers it when it defines the domain. */
function indexRequired(e: Element): InterchangeError {
  return new InterchangeError(
    'IMPORT_NOT_SUPPORTED',
    `${describeAt(atOf(e))}: <controller type='pci' model='${attr(e, 'model')}'> has no index=; libvirt numbers it when it defines the domain: import the domain XML libvirt wrote back (virsh dumpxml)`,
    atOf(e),
  );
}

type ControllerReader = (e: Element, ctx: ParseContext, id: string, index: number) => void;

const PCI_CONTROLLERS: Record<string, ControllerReader> = {
  'pcie-root': readPcieRoot,
  'pcie-expander-bus': readPcieExpanderBus,
  'pcie-root-port': readPcieRootPort,
  'pcie-switch-upstream-port': readBridge,
  'pcie-switch-downstream-port': readBridge,
  'pcie-to-pci-bridge': readBridge,
  'pci-bridge': readBridge,
};

/** A <controller type='pci'>, dispatched on its model. */
export function readPciController(e: Element, ctx: ParseContext): void {
  const model = attr(e, 'model') ?? '';
  const index = Number(attr(e, 'index'));
  const reader = PCI_CONTROLLERS[model] ?? refuseController;
  reader(e, ctx, ctx.controllers.get(index) ?? PCIE_ROOT, index);
}

/**
 * Any other pci controller model owns a bus that takes bus numbers (dmi-to-pci-bridge is QEMU's
 * i82801b11-bridge, pci-expander-bus is pxb on a PCI root), so leaving it out would renumber
 * everything behind it: refused, never ignored.
 */
export function refuseController(e: Element): void {
  throw new InterchangeError(
    'IMPORT_NOT_SUPPORTED',
    `${describeAt(atOf(e))}: <controller type='pci' model='${attr(e, 'model')}'>: doorbell models pcie-root, pcie-expander-bus, pcie-root-port, the PCIe switch ports, pcie-to-pci-bridge and pci-bridge`,
    atOf(e),
  );
}

export function readPcieRoot(e: Element, ctx: ParseContext): void {
  addPart(ctx, e, 'bus', { id: PCIE_ROOT }, [], "<controller model='pcie-root'>");
  for (const hole of children(e, 'pcihole64'))
    ignore(
      ctx,
      hole,
      'the size of the 64-bit PCI MMIO window (qemu_command.c: -machine highmem-mmio-size on virt): it moves no bus number, slot or MSI doorbell',
      '<pcihole64>',
    );
}

/** Where a controller plugs in: its written <address>; libvirt assigns one when there is none. */
function placeOf(e: Element, ctx: ParseContext, what: string) {
  const place = pciAddress(ctx, e);
  if (place === undefined) throw addressRequired(e, what);
  return place;
}

export function readPcieExpanderBus(e: Element, ctx: ParseContext, id: string, index: number): void {
  const at = atOf(e);
  const written = attr(child(e, 'target'), 'busNr');
  const notes = [`controller index ${index}`];
  const busNr = written === undefined ? defaultBusNr(e, ctx, notes) : parseUint('busNr', written, at, 255);
  const place = placeOf(e, ctx, 'pxb-pcie');
  const pxb: DraftPxb = { id, busNr, ...place, at };
  ctx.pxbs.push(pxb);
  addPart(ctx, e, 'bus', pxb, notes);
}

/**
 * qemu_domain_address.c qemuDomainAddressFindNewBusNr: a pcie-expander-bus without busNr gets the
 * lowest busNr of the domain's expander buses (256 when there is none) minus 2 (one for the pxb,
 * one for what plugs into it), and none when that lowest is 2 or less.
 */
export function defaultBusNr(e: Element, ctx: ParseContext, notes: string[]): number {
  const lowest = Math.min(256, ...ctx.busNrs);
  if (lowest <= 2)
    throw new InterchangeError(
      'IMPORT_NOT_SUPPORTED',
      `${describeAt(atOf(e))}: pcie-expander-bus without <target busNr>: libvirt finds no free busNr below ${lowest} and refuses to pick one (qemuDomainAddressFindNewBusNr); write busNr`,
      atOf(e),
    );
  const busNr = lowest - 2;
  ctx.busNrs.push(busNr);
  notes.push(`no <target busNr>: ${busNr}, the lowest busNr (${lowest}) minus 2, as libvirt picks it`);
  return busNr;
}

export function readPcieRootPort(e: Element, ctx: ParseContext, id: string, index: number): void {
  const place = placeOf(e, ctx, 'pcie-root-port');
  const port: DraftRootPort = { id, ...place, busReserve: 0, at: atOf(e) };
  ctx.rootPorts.push(port);
  addPart(ctx, e, 'bus', port, [`controller index ${index}`]);
}

/**
 * The QEMU device each switch or bridge model becomes: libvirt has one model name per model
 * (qemu_domain_address.c qemuDomainPCIControllerSetDefaultModelName; qemu_validate.c
 * qemuValidateDomainDeviceDefControllerPCI refuses any other <model name>).
 */
export const BRIDGE_OF_MODEL: Record<string, BridgeType> = {
  'pcie-switch-upstream-port': 'x3130-upstream',
  'pcie-switch-downstream-port': 'xio3130-downstream',
  'pcie-to-pci-bridge': 'pcie-pci-bridge',
  'pci-bridge': 'pci-bridge',
};

export function readBridge(e: Element, ctx: ParseContext, id: string, index: number): void {
  const model = attr(e, 'model') ?? '';
  const type = BRIDGE_OF_MODEL[model]!;
  const name = attr(child(e, 'model'), 'name');
  if (name !== undefined && name !== type)
    throw malformed(`<controller model='${model}'><model name='${name}'>: libvirt's only ${model} is ${type}`, atOf(e));
  const place = placeOf(e, ctx, type);
  const bridge: DraftBridge = { id, type, ...place, busReserve: 0, at: atOf(e) };
  ctx.bridges.push(bridge);
  addPart(ctx, e, 'bus', bridge, [`controller index ${index}`, `QEMU device ${type}`]);
}
