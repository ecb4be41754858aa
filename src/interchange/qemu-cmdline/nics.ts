// The NICs the virt board creates itself, before any -device: the default NIC, and those of -nic
// and -net nic. They take slots on pcie.0 first, so a -device without addr= lands after them.

import type { DraftDevice } from '../draft.js';
import { PCIE_ROOT } from '../draft.js';
import { isEmulatedPci, qdevTypeName } from '../pci-drivers.js';
import { InterchangeError } from '../report.js';
import { type Option, optionText } from './argv.js';
import { type ParseContext, ignore, nameLater, recordPart } from './context.js';
import { keyValues } from './options.js';

/**
 * vl.c: `default_net` starts at 1 and -nodefaults (qemu_disable_default_devices), -netdev, -nic and
 * -net each set it to 0. If it is still 1, qemu_create_default_devices adds `-net nic -net user`:
 * one NIC with no model. virt's create_pcie (hw/arm/virt.c) creates every NIC of nd_table on
 * pcie.0 at board init, before qemu_create_cli_devices, with the model "virtio" (virtio-net-pci)
 * when none is given. QEMU 7.2 with no option puts a virtio-net-pci at 00:01.0.
 */
export function readNoDefaults(ctx: ParseContext, o: Option): void {
  ctx.defaultNet = false;
  recordPart(ctx, o.at, optionText(o), { kind: 'vm', id: 'nodefaults' }, [
    'no default devices: in particular no default NIC on pcie.0 (vl.c default_net)',
  ]);
}

export function readNetdev(ctx: ParseContext, o: Option): void {
  ctx.defaultNet = false;
  ignore(
    ctx,
    o,
    'a network backend (it also turns off the default NIC, vl.c default_net): the PCI device that uses it is what the topology holds',
  );
}

/** The NIC model of -nic/-net nic as a PCI type: none or "virtio" is virtio-net-pci (create_pcie). */
function nicDriver(o: Option, model: string | undefined): string {
  const driver = model === undefined || model === 'virtio' ? 'virtio-net-pci' : qdevTypeName(model);
  if (!isEmulatedPci(driver))
    throw new InterchangeError(
      'IMPORT_NOT_SUPPORTED',
      `${optionText(o)}: model=${model} is not a PCI NIC doorbell knows; write the NIC as -device to import it`,
      o.at,
    );
  return driver;
}

/** -nic TYPE[,model=M]: a NIC of board init, unless TYPE is none (vl.c: default_net = 0 either way). */
export function readNic(ctx: ParseContext, o: Option): void {
  ctx.defaultNet = false;
  const opts = keyValues(o.value ?? '', 'type');
  if (opts.find(([k]) => k === 'type')?.[1] === 'none') {
    recordPart(ctx, o.at, optionText(o), { kind: 'vm', id: 'nic' }, ['no NIC, and no default NIC']);
    return;
  }
  ctx.boardNics.push({ option: o, driver: nicDriver(o, opts.find(([k]) => k === 'model')?.[1]) });
}

/** -net nic[,model=M] adds a NIC of board init; any other -net (none, user, tap, ...) only turns off the default one. */
export function readNet(ctx: ParseContext, o: Option): void {
  ctx.defaultNet = false;
  const opts = keyValues(o.value ?? '', 'type');
  if (opts.find(([k]) => k === 'type')?.[1] === 'nic')
    ctx.boardNics.push({ option: o, driver: nicDriver(o, opts.find(([k]) => k === 'model')?.[1]) });
  else ignore(ctx, o, 'legacy network backend (it also turns off the default NIC, vl.c default_net)');
}

/** Creates the board's NICs on pcie.0, before any -device: first those of -nic/-net nic, else the default one. */
export function createBoardNics(ctx: ParseContext): void {
  const nics = [...ctx.boardNics];
  for (const { option, driver } of nics) addNic(ctx, driver, option.at, optionText(option), []);
  if (ctx.defaultNet)
    addNic(ctx, 'virtio-net-pci', ctx.programAt, 'the default NIC', [
      'QEMU adds it at board init without -nodefaults, -nic, -net or -netdev (vl.c default_net, hw/arm/virt.c create_pcie)',
    ]);
}

function addNic(ctx: ParseContext, driver: string, at: DraftDevice['at'], text: string, notes: string[]): void {
  const nic: DraftDevice = { id: '', driver, bus: PCIE_ROOT, at, created: ctx.created, multifunction: false };
  ctx.created += 1;
  nameLater(ctx, nic, 'nic', (id) => notes.push(`QEMU gives it no id: named ${id}`));
  ctx.devices.push(nic);
  recordPart(ctx, at, text, { kind: 'device', id: '' }, notes);
}
