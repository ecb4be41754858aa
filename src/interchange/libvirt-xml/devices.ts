// The <devices> children that become PCI functions or IOMMUs: <hostdev>, <iommu>, <panic>, and the
// emulated devices (<interface>, <disk>, <controller> other than pci, <memballoon>, <rng>,
// <video>, <serial>), each mapped to the QEMU driver libvirt gives it.

import { type DraftDevice, type DraftSmmu, PCIE_ROOT } from '../draft.js';
import { parseBool, parseHostAddress, parseUint } from '../qemu-cmdline/options.js';
import { describeAt, InterchangeError, malformed } from '../report.js';
import {
  addPart,
  addressRequired,
  addressType,
  aliasOf,
  hasPciAddress,
  ignore,
  nameLater,
  ordinal,
  type ParseContext,
  pciAddress,
} from './context.js';
import { controllerNaming, diskNaming, type Naming } from './aliases.js';
import { atOf, attr, child, type Element } from './xml.js';

/** Emulated PCI devices from libvirt elements: the QEMU driver each model becomes. */
const INTERFACE_MODELS: Record<string, string> = {
  virtio: 'virtio-net-pci',
  'virtio-transitional': 'virtio-net-pci-transitional',
  'virtio-non-transitional': 'virtio-net-pci-non-transitional',
  e1000e: 'e1000e',
  e1000: 'e1000',
  igb: 'igb',
  rtl8139: 'rtl8139',
  vmxnet3: 'vmxnet3',
};
/** USB and SCSI controller models whose QEMU driver doorbell writes back (libvirt-xml/write.ts). */
export const CONTROLLER_MODELS: Record<string, string> = {
  'qemu-xhci': 'qemu-xhci',
  'nec-xhci': 'nec-usb-xhci',
  'virtio-scsi': 'virtio-scsi-pci',
};
/** qemu_command.c qemuBuildControllerSCSIDevProps: lsilogic is QEMU's lsi (lsi53c895a). */
const READ_ONLY_CONTROLLER_MODELS: Record<string, string> = { lsilogic: 'lsi53c895a' };
/** Controller types that are PCI functions themselves (the others are not on PCI, or are built in). */
const PCI_CONTROLLER_TYPES = new Set(['usb', 'scsi', 'virtio-serial', 'sata']);

/** What an element is on the PCI side: a function (driver undefined: a model doorbell does not map), or not on PCI. */
type Mapping = { driver: string | undefined } | { notPci: string };

const VIRTIO_MMIO =
  "<address type='virtio-mmio'>: libvirt gives QEMU the virtio-*-device driver on the virt machine's virtio-mmio transport (qemu_command.c qemuBuildVirtioDevGetConfigDev), which is not on the PCIe topology";

/**
 * One emulated device: ignored with its reason when it is not on PCI, refused when libvirt would
 * still have to assign its PCI address, and a Draft device named `<prefix><n>` otherwise.
 */
export function readEmulated(e: Element, ctx: ParseContext, mapping: Mapping, naming: Naming): void {
  const type = addressType(e);
  const notPci =
    type === 'virtio-mmio'
      ? VIRTIO_MMIO
      : 'notPci' in mapping
        ? mapping.notPci
        : type !== undefined && type !== 'pci'
          ? `its <address type='${type}'> is not on the PCI bus`
          : undefined;
  if (notPci !== undefined) {
    ignore(ctx, e, notPci);
    return;
  }
  const driver = 'driver' in mapping ? mapping.driver : undefined;
  const place = pciAddress(ctx, e);
  if (place === undefined) throw addressRequired(e, driver ?? 'a PCI device');
  if (driver === undefined) {
    ignore(ctx, e, 'a PCI device of a model doorbell does not map to a QEMU driver: its slot stays free in the model');
    return;
  }
  const device: DraftDevice = { id: aliasOf(e) ?? '', driver, ...place, at: atOf(e) };
  const notes: string[] = [];
  nameLater(ctx, device, naming, notes);
  ctx.devices.push(device);
  addPart(ctx, e, 'device', device, notes);
}

/**
 * <interface>: its <model type>; without one, virtio, libvirt's default NIC model on the ARM virt
 * machine (qemu_domain.c qemuDomainDefaultNetModel).
 */
export function interfaceMapping(e: Element): Mapping {
  const model = attr(child(e, 'model'), 'type') ?? 'virtio';
  return { driver: INTERFACE_MODELS[model] };
}

/** <disk>: only bus='virtio' is a PCI function (virtio-blk-pci); the others sit on their controller. */
export function diskMapping(e: Element): Mapping {
  const bus = attr(child(e, 'target'), 'bus');
  return bus === 'virtio'
    ? { driver: 'virtio-blk-pci' }
    : { notPci: `a <disk> on bus ${bus} sits on its controller, not on PCI` };
}

/** virtio, virtio-transitional and virtio-non-transitional models of <memballoon> and <rng>. */
function virtioModel(model: string | undefined, driver: string, what: string): Mapping {
  if (model === 'virtio') return { driver };
  if (model === 'virtio-transitional' || model === 'virtio-non-transitional')
    return { driver: `${driver}-${model.slice(7)}` };
  return { notPci: `${what} of model ${model ?? '(none)'} is not a PCI device` };
}

export const memballoonMapping = (e: Element): Mapping =>
  virtioModel(attr(e, 'model'), 'virtio-balloon-pci', 'a <memballoon>');

export const rngMapping = (e: Element): Mapping => virtioModel(attr(e, 'model'), 'virtio-rng-pci', 'an <rng>');

/**
 * <video>: virtio is virtio-gpu-pci; without a <model>, libvirt's aarch64 default is virtio (its
 * aarch64-virt-default-models test writes <video/> back as <model type='virtio'>); none and
 * ramfb are not PCI devices.
 */
export function videoMapping(e: Element): Mapping {
  const model = attr(child(e, 'model'), 'type') ?? 'virtio';
  if (model === 'virtio') return { driver: 'virtio-gpu-pci' };
  if (model === 'none' || model === 'ramfb') return { notPci: `a <video> of model ${model} is not a PCI device` };
  return { driver: undefined };
}

/** A controller other than pci: usb, scsi, sata and virtio-serial controllers are PCI functions. */
export function controllerMapping(e: Element): Mapping {
  const type = attr(e, 'type') ?? '';
  const model = attr(e, 'model');
  if (!PCI_CONTROLLER_TYPES.has(type)) return { notPci: `a ${type} controller is not a PCI function` };
  if (model === 'none') return { notPci: `<controller type='${type}' model='none'>: no controller` };
  if (type === 'virtio-serial') return { driver: 'virtio-serial-pci' };
  return { driver: CONTROLLER_MODELS[model ?? ''] ?? READ_ONLY_CONTROLLER_MODELS[model ?? ''] };
}

/**
 * <panic model='pvpanic'> is QEMU's pvpanic-pci (qemu_command.c qemuBuildPanicCommandLine); libvirt
 * accepts it only with a PCI address (qemu_validate.c qemuValidateDomainDefPanic). The other
 * models are not PCI devices.
 */
export function panicMapping(e: Element): Mapping {
  const model = attr(e, 'model');
  return model === 'pvpanic'
    ? { driver: 'pvpanic-pci' }
    : { notPci: `a <panic> of model ${model ?? '(none)'} is not a PCI device` };
}

/** <serial> with <target type='pci-serial'> is QEMU's pci-serial (qemu_command.c); the others are not PCI. */
export function serialMapping(e: Element): Mapping {
  const target = attr(child(e, 'target'), 'type');
  return target === 'pci-serial'
    ? { driver: 'pci-serial' }
    : { notPci: `a serial port of target type ${target ?? '(default)'} is not a PCI device` };
}

// Ids as qemu_alias.c qemuAssignDeviceAliases gives them: net<n>, <bus>-disk<n>, balloon0, rng<n>,
// video<position>, <type><index> for controllers, panic<n> (pvpanic-pci has no id of libvirt's),
// serial<position>.
export const readDisk = (e: Element, ctx: ParseContext) => readEmulated(e, ctx, diskMapping(e), diskNaming(e));
export const readMemballoon = (e: Element, ctx: ParseContext) =>
  readEmulated(e, ctx, memballoonMapping(e), { prefix: 'balloon' });
export const readRng = (e: Element, ctx: ParseContext) => readEmulated(e, ctx, rngMapping(e), { prefix: 'rng' });
export const readVideo = (e: Element, ctx: ParseContext) =>
  readEmulated(e, ctx, videoMapping(e), { id: `video${ordinal(ctx, e)}` });
export const readOtherController = (e: Element, ctx: ParseContext) =>
  readEmulated(e, ctx, controllerMapping(e), controllerNaming(e));
export const readPanic = (e: Element, ctx: ParseContext) => readEmulated(e, ctx, panicMapping(e), { prefix: 'panic' });
export const readSerial = (e: Element, ctx: ParseContext) =>
  readEmulated(e, ctx, serialMapping(e), { id: `serial${ordinal(ctx, e)}` });

export function readHostdev(e: Element, ctx: ParseContext): void {
  if (attr(e, 'type') !== 'pci') {
    ignore(ctx, e, `a ${attr(e, 'type')} hostdev is not a PCI passthrough device`);
    return;
  }
  readPassthrough(e, ctx, []);
}

/**
 * A PCI function passed through with VFIO: a <hostdev type='pci'>, or an <interface type='hostdev'>
 * (an SR-IOV VF as a NIC; libvirt starts it as vfio-pci, qemu_command.c qemuBuildPCIHostdevDevProps,
 * and names it hostdev<n>, qemu_alias.c qemuAssignDeviceNetAlias). Its host address is
 * <source><address domain bus slot function>.
 */
export function readPassthrough(e: Element, ctx: ParseContext, notes: string[], early = false): void {
  const at = atOf(e);
  const source = child(child(e, 'source') ?? e, 'address');
  if (source === undefined || child(e, 'source') === undefined)
    throw malformed(`<${e.tagName}> needs <source><address .../></source>`, at);
  const hex = (name: string, width: number) =>
    parseUint(name, attr(source, name) ?? '0', atOf(source), 0xffff)
      .toString(16)
      .padStart(width, '0');
  const host = parseHostAddress(
    `${hex('domain', 4)}:${hex('bus', 2)}:${hex('slot', 2)}.${parseUint('function', attr(source, 'function') ?? '0', atOf(source), 7)}`,
    atOf(source),
  );
  const iommufdAttr = attr(child(e, 'driver'), 'iommufd');
  const iommufd = iommufdAttr === undefined ? ctx.iommufdDefault : parseBool('iommufd', iommufdAttr, at);
  const place = pciAddress(ctx, e);
  if (place === undefined) throw addressRequired(e, 'vfio-pci');
  const device: DraftDevice = {
    id: aliasOf(e) ?? '',
    driver: 'vfio-pci',
    ...place,
    host,
    // libvirt opens an iommufd hostdev itself and hands QEMU its file descriptor ("fd" beside
    // "iommufd", qemu_command.c qemuBuildPCIHostdevDevProps), with no host= on the command line.
    ...(iommufd ? { hostFd: true } : {}),
    iommufd: iommufd ? 'iommufd0' : undefined,
    at,
  };
  nameLater(ctx, device, { prefix: 'hostdev', early }, notes);
  ctx.devices.push(device);
  addPart(ctx, e, 'device', device, notes);
}

/** <interface type='hostdev'> is a VFIO passthrough; any other interface is an emulated NIC. */
export function readInterface(e: Element, ctx: ParseContext): void {
  if (attr(e, 'type') === 'hostdev')
    readPassthrough(e, ctx, ["<interface type='hostdev'>: an SR-IOV VF passed through as vfio-pci"], true);
  else readEmulated(e, ctx, interfaceMapping(e), { prefix: 'net' });
}

type IommuReader = (e: Element, ctx: ParseContext) => void;

const IOMMU_MODELS: Record<string, IommuReader> = {
  smmuv3: readSmmuv3,
  virtio: readVirtioIommu,
  intel: refuseX86Iommu,
  amd: refuseX86Iommu,
};

/** An <iommu>, dispatched on its model: an IOMMU is read or refused, never dropped. */
export function readIommu(e: Element, ctx: ParseContext): void {
  const model = attr(e, 'model') ?? '';
  const reader = IOMMU_MODELS[model];
  if (reader === undefined) throw malformed(`<iommu model='${model}'> is not a libvirt IOMMU model`, atOf(e));
  reader(e, ctx);
}

/**
 * qemu_validate.c qemuValidateDomainDeviceDefIOMMU: the intel IOMMU is only supported on Q35
 * machines (and amd on x86 ones), so libvirt refuses either on aarch64 virt.
 */
export function refuseX86Iommu(e: Element): void {
  throw new InterchangeError(
    'IMPORT_NOT_SUPPORTED',
    `${describeAt(atOf(e))}: <iommu model='${attr(e, 'model')}'>: libvirt supports this IOMMU only on x86 (intel: Q35) machines, not on the aarch64 virt machine (qemu_validate.c qemuValidateDomainDeviceDefIOMMU)`,
    atOf(e),
  );
}

/**
 * <iommu model='virtio'> is QEMU's virtio-iommu-pci (libvirt writes its alias "virtio-iommu",
 * qemu_command.c qemuBuildIOMMUCommandLine), a PCI function at its <address> (libvirt puts it on
 * pcie.0).
 */
export function readVirtioIommu(e: Element, ctx: ParseContext): void {
  const place = pciAddress(ctx, e);
  if (place === undefined) throw addressRequired(e, 'virtio-iommu-pci');
  const notes: string[] = [];
  const awBits = attr(child(e, 'driver'), 'aw_bits');
  if (awBits !== undefined)
    notes.push(`aw_bits=${awBits}: the input address width (aw-bits); not part of the MSI path`);
  const device: DraftDevice = { id: aliasOf(e) ?? '', driver: 'virtio-iommu-pci', ...place, at: atOf(e) };
  nameLater(ctx, device, { prefix: 'iommu' }, notes);
  ctx.devices.push(device);
  addPart(ctx, e, 'device', device, notes);
}

export function readSmmuv3(e: Element, ctx: ParseContext): void {
  const at = atOf(e);
  // conf/domain_validate.c virDomainIOMMUDefValidate: "iommu model 'smmuv3' can't have address".
  if (addressType(e) !== undefined) throw malformed("<iommu model='smmuv3'> can't have an <address>", at);
  const driver = child(e, 'driver');
  const pciBus = attr(driver, 'pciBus');
  const notes: string[] = [];
  let primaryBus = PCIE_ROOT;
  if (pciBus === undefined) notes.push('no pciBus: the machine SMMU on pcie.0 (-machine iommu=smmuv3)');
  else {
    const index = parseUint('pciBus', pciBus, at, 255);
    const bus = ctx.controllers.get(index);
    if (bus === undefined) throw malformed(`<driver pciBus='${pciBus}'>: no pci controller has index ${index}`, at);
    primaryBus = bus;
  }
  const accelText = attr(driver, 'accel');
  const accel = accelText === undefined ? undefined : parseBool('accel', accelText, at);
  const oasText = attr(driver, 'oas');
  for (const key of ['ats', 'ril', 'ssidsize']) {
    const v = attr(driver, key);
    if (v !== undefined) notes.push(`${key}=${v}: read; not part of the MSI path`);
  }
  const smmu: DraftSmmu = {
    id: aliasOf(e) ?? '',
    primaryBus,
    accel,
    oas: oasText === undefined ? undefined : parseUint('oas', oasText, at, 64),
    at,
  };
  nameLater(ctx, smmu, { prefix: 'iommu' }, notes);
  ctx.smmus.push(smmu);
  addPart(ctx, e, 'smmu', smmu, notes);
}

/** Any other <devices> child: not a function of the topology (a PCI one keeps its slot free). */
export function readOtherDevice(e: Element, ctx: ParseContext): void {
  ignore(
    ctx,
    e,
    addressType(e) === 'virtio-mmio'
      ? VIRTIO_MMIO
      : hasPciAddress(e)
        ? 'a PCI device doorbell does not map to a QEMU driver: its slot stays free in the model'
        : 'not part of the IOMMU and MSI topology doorbell models',
  );
}
