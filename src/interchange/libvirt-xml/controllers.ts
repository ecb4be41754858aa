// <controller type='pci'> by model: pcie-root (bus 0), pcie-expander-bus (pxb-pcie), pcie-root-port,
// and the switch ports and bridges. Other controller types (usb, scsi, virtio-serial) are emulated
// PCI functions, read in devices.ts.

import { type DraftPxb, type DraftRootPort, PCIE_ROOT } from '../draft.js';
import { parseUint } from '../qemu-cmdline/options.js';
import { InterchangeError, malformed } from '../report.js';
import { addPart, aliasOf, ignore, type ParseContext, pciAddress } from './context.js';
import { atOf, attr, child, type Element } from './xml.js';

export const isPciController = (e: Element): boolean => e.tagName === 'controller' && attr(e, 'type') === 'pci';

/**
 * First pass over <devices>: every pci controller's index -> its bus id, so that an
 * <address bus=> may name a controller defined further down.
 */
export function indexControllers(all: Element[], ctx: ParseContext): void {
  for (const e of all) {
    if (!isPciController(e)) continue;
    const index = parseUint('index', attr(e, 'index') ?? '', atOf(e), 255);
    if (attr(e, 'model') === 'pcie-root') {
      if (index !== 0) throw malformed(`pcie-root must have index 0, not ${index}`, atOf(e));
      continue;
    }
    const id = aliasOf(e) ?? `pci.${index}`;
    if (ctx.controllers.has(index)) throw malformed(`a second pci controller with index ${index}`, atOf(e));
    ctx.controllers.set(index, id);
    ctx.usedIds.add(id);
  }
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
  const reader = PCI_CONTROLLERS[model];
  if (reader === undefined) {
    ignore(ctx, e, `a pci controller of model ${model} is not modelled`, `<controller model='${model}'>`);
    return;
  }
  reader(e, ctx, ctx.controllers.get(index) ?? PCIE_ROOT, index);
}

export function readPcieRoot(e: Element, ctx: ParseContext): void {
  addPart(ctx, e, 'bus', { id: PCIE_ROOT }, [], "<controller model='pcie-root'>");
}

export function readPcieExpanderBus(e: Element, ctx: ParseContext, id: string, index: number): void {
  const at = atOf(e);
  const place = pciAddress(ctx, e) ?? { bus: PCIE_ROOT };
  const busNr = attr(child(e, 'target'), 'busNr');
  if (busNr === undefined) throw malformed('pcie-expander-bus needs <target busNr=...>', at);
  const pxb: DraftPxb = { id, busNr: parseUint('busNr', busNr, at, 255), ...place, at };
  ctx.pxbs.push(pxb);
  addPart(ctx, e, 'bus', pxb, [`controller index ${index}`]);
}

export function readPcieRootPort(e: Element, ctx: ParseContext, id: string, index: number): void {
  const at = atOf(e);
  const place = pciAddress(ctx, e) ?? { bus: PCIE_ROOT };
  const port: DraftRootPort = { id, ...place, busReserve: 0, at };
  ctx.rootPorts.push(port);
  addPart(ctx, e, 'bus', port, [`controller index ${index}`]);
}

export function readBridge(e: Element): void {
  throw new InterchangeError(
    'IMPORT_NOT_SUPPORTED',
    `<controller model='${attr(e, 'model')}'>: a switch or bridge takes bus numbers below a root port, and doorbell models root ports with endpoints behind them only`,
    atOf(e),
  );
}
