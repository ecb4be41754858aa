// A libvirt <domain> -> a Draft of the VM (see ../draft.ts) and the report. Parsed with
// @xmldom/xmldom, which gives every element its line and column; warnings (an unquoted
// attribute) stop it too, as libxml2 in libvirt refuses such XML. In libvirt an <address bus=>
// is a controller index, not a guest bus number (qemu-fidelity-and-import.md B2).

import { DOMParser, type Element, onWarningStopParsing, ParseError } from '@xmldom/xmldom';
import type { GicVersion } from '../../domain/topology/types.js';
import {
  type Draft,
  type DraftDevice,
  type DraftPxb,
  type DraftRootPort,
  type DraftSmmu,
  PCIE_ROOT,
} from '../draft.js';
import { parseBool, parseHostAddress, parseRamSize, parseUint } from '../qemu-cmdline/options.js';
import { type ImportReport, InterchangeError, malformed, type SourceRef } from '../report.js';

const atOf = (e: Element): SourceRef => ({ line: e.lineNumber ?? 0, column: e.columnNumber ?? 0 });
const children = (e: Element, name?: string): Element[] =>
  Array.from(e.childNodes).filter(
    (n): n is Element => n.nodeType === 1 && (name === undefined || (n as Element).tagName === name),
  );
const child = (e: Element, name: string) => children(e, name)[0];
const attr = (e: Element | undefined, name: string) => (e?.hasAttribute(name) ? e.getAttribute(name)! : undefined);

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

/** libvirt names a controller pci.<index> and reads an alias ua-<name> as the user's own name. */
function aliasOf(e: Element): string | undefined {
  const name = attr(child(e, 'alias'), 'name');
  return name?.startsWith('ua-') ? name.slice(3) : undefined;
}

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
export const CONTROLLER_MODELS: Record<string, string> = {
  'qemu-xhci': 'qemu-xhci',
  'nec-xhci': 'nec-usb-xhci',
  'virtio-scsi': 'virtio-scsi-pci',
};

function parseXml(source: string) {
  try {
    return new DOMParser({ onError: onWarningStopParsing }).parseFromString(source, 'text/xml');
  } catch (error) {
    if (error instanceof ParseError) {
      const { lineNumber = 0, columnNumber = 0 } = error.locator ?? {};
      const reason = error.message.replace(/^.*caused Error: /s, '');
      throw malformed(`the XML does not parse: ${reason}`, { line: lineNumber, column: columnNumber });
    }
    throw error;
  }
}

export function parseLibvirtXml(source: string): Draft {
  const doc = parseXml(source);
  const domain = doc.documentElement;
  if (domain === null || domain.tagName !== 'domain')
    throw malformed(`the root element is <${domain?.tagName}>, not <domain>`, domain ? atOf(domain) : null);
  const report: ImportReport = { format: 'libvirt-xml', parts: [], ignored: [], busNumbers: [] };
  const ignore = (e: Element, reason: string, text = `<${e.tagName}>`) =>
    report.ignored.push({ at: atOf(e), text, reason });
  const board: Draft['board'] = { at: atOf(domain), kvm: attr(domain, 'type') === 'kvm' };
  const boardNotes: string[] = [`<domain type='${attr(domain, 'type')}'>: kvm is ${board.kvm}`];
  report.parts.push({ at: atOf(domain), text: '<domain>', became: { kind: 'vm', id: 'board' }, notes: boardNotes });

  let iommufdDefault = false;
  let devicesElement: Element | undefined;
  for (const e of children(domain)) {
    switch (e.tagName) {
      case 'memory': {
        const unit = (attr(e, 'unit') ?? 'KiB').toLowerCase();
        const suffix = UNITS[unit];
        if (suffix === undefined) throw malformed(`<memory unit='${attr(e, 'unit')}'> is not a libvirt unit`, atOf(e));
        board.ramSize = parseRamSize(`${(e.textContent ?? '').trim()}${suffix}`, atOf(e));
        report.parts.push({ at: atOf(e), text: '<memory>', became: { kind: 'vm', id: 'ramSize' }, notes: [] });
        break;
      }
      case 'features':
        for (const f of children(e)) {
          if (f.tagName === 'gic') {
            const version = attr(f, 'version') ?? '3';
            if (version === '2' || version === '3') board.gicVersion = Number(version) as GicVersion;
            else if (version === 'host') board.gicVersion = 3;
            else throw malformed(`<gic version='${version}'>: doorbell models GICv2 and GICv3`, atOf(f));
            report.parts.push({
              at: atOf(f),
              text: `<gic version='${version}'>`,
              became: { kind: 'vm', id: 'gicVersion' },
              notes: [],
            });
          } else ignore(f, 'a machine feature the topology does not model', `<features><${f.tagName}>`);
        }
        break;
      case 'iommufd':
        iommufdDefault = parseBool('enabled', attr(e, 'enabled') ?? 'no', atOf(e));
        report.parts.push({
          at: atOf(e),
          text: '<iommufd>',
          became: { kind: 'iommufd', id: 'iommufd0' },
          notes: ['the default for every <hostdev> (libvirt >= 12.x)'],
        });
        break;
      case 'devices':
        devicesElement = e;
        break;
      case 'os': {
        const machine = attr(child(e, 'type'), 'machine');
        if (machine !== undefined && !/^virt(-\d+\.\d+)?$/.test(machine))
          throw malformed(`<type machine='${machine}'>: doorbell models the arm64 virt machine`, atOf(e));
        ignore(e, 'boot and firmware settings: the bus numbering assumes EDK2 (ArmVirtQemu)');
        break;
      }
      case 'name':
        ignore(e, 'the VM id comes from the request (vm)');
        break;
      default:
        ignore(e, 'not part of the IOMMU and MSI topology doorbell models');
    }
  }

  const pxbs: DraftPxb[] = [];
  const rootPorts: DraftRootPort[] = [];
  const smmus: DraftSmmu[] = [];
  const devices: DraftDevice[] = [];
  /** Controller index -> bus id. */
  const controllers = new Map<number, string>([[0, PCIE_ROOT]]);
  const usedIds = new Set<string>([PCIE_ROOT]);
  const all = devicesElement === undefined ? [] : children(devicesElement);

  // Controllers first: an <address bus=> may name one defined further down.
  for (const e of all) {
    if (e.tagName !== 'controller' || attr(e, 'type') !== 'pci') continue;
    const index = parseUint('index', attr(e, 'index') ?? '', atOf(e), 255);
    const model = attr(e, 'model');
    if (model === 'pcie-root') {
      if (index !== 0) throw malformed(`pcie-root must have index 0, not ${index}`, atOf(e));
      report.parts.push({
        at: atOf(e),
        text: "<controller model='pcie-root'>",
        became: { kind: 'bus', id: PCIE_ROOT },
        notes: [],
      });
      continue;
    }
    const id = aliasOf(e) ?? `pci.${index}`;
    if (controllers.has(index)) throw malformed(`a second pci controller with index ${index}`, atOf(e));
    controllers.set(index, id);
    usedIds.add(id);
  }

  const address = (e: Element) => {
    const a = children(e, 'address').find((x) => attr(x, 'type') === 'pci');
    if (a === undefined) return undefined;
    const index = parseUint('bus', attr(a, 'bus') ?? '0', atOf(a), 255);
    const bus = controllers.get(index);
    if (bus === undefined)
      throw malformed(`<address bus='${attr(a, 'bus')}'>: no pci controller has index ${index}`, atOf(a));
    return {
      bus,
      slot: parseUint('slot', attr(a, 'slot') ?? '0', atOf(a), 31),
      function: parseUint('function', attr(a, 'function') ?? '0', atOf(a), 7),
    };
  };
  const pending: { item: { id: string }; prefix: string; notes: string[] }[] = [];
  /** An element as a reader finds it: its name with the attributes that say what it is. */
  const describe = (e: Element) => {
    const attrs = ['type', 'model', 'index']
      .filter((a) => e.hasAttribute(a))
      .map((a) => ` ${a}='${e.getAttribute(a)}'`)
      .join('');
    return `<${e.tagName}${attrs}>`;
  };
  const part = (e: Element, kind: 'bus' | 'smmu' | 'device', item: { id: string }, notes: string[] = []) =>
    report.parts.push({ at: atOf(e), text: describe(e), became: { kind, id: item.id }, notes });

  for (const e of all) {
    const at = atOf(e);
    if (e.tagName === 'controller' && attr(e, 'type') === 'pci') {
      const model = attr(e, 'model');
      if (model === 'pcie-root') continue;
      const index = Number(attr(e, 'index'));
      const id = controllers.get(index)!;
      const place = address(e) ?? { bus: PCIE_ROOT };
      if (model === 'pcie-expander-bus') {
        const busNr = attr(child(e, 'target'), 'busNr');
        if (busNr === undefined) throw malformed('pcie-expander-bus needs <target busNr=...>', at);
        const pxb: DraftPxb = { id, busNr: parseUint('busNr', busNr, at, 255), ...place, at };
        pxbs.push(pxb);
        part(e, 'bus', pxb, [`controller index ${index}`]);
      } else if (model === 'pcie-root-port') {
        const port: DraftRootPort = { id, ...place, busReserve: 0, at };
        rootPorts.push(port);
        part(e, 'bus', port, [`controller index ${index}`]);
      } else if (
        model === 'pcie-switch-upstream-port' ||
        model === 'pcie-switch-downstream-port' ||
        model === 'pcie-to-pci-bridge' ||
        model === 'pci-bridge'
      ) {
        throw new InterchangeError(
          'IMPORT_NOT_SUPPORTED',
          `<controller model='${model}'>: a switch or bridge takes bus numbers below a root port, and doorbell models root ports with endpoints behind them only`,
          at,
        );
      } else ignore(e, `a pci controller of model ${model} is not modelled`, `<controller model='${model}'>`);
    } else if (e.tagName === 'hostdev') {
      if (attr(e, 'type') !== 'pci') {
        ignore(e, `a ${attr(e, 'type')} hostdev is not a PCI passthrough device`);
        continue;
      }
      const source = child(child(e, 'source') ?? e, 'address');
      if (source === undefined || child(e, 'source') === undefined)
        throw malformed('<hostdev> needs <source><address .../></source>', at);
      const hex = (name: string, width: number) =>
        parseUint(name, attr(source, name) ?? '0', atOf(source), 0xffff)
          .toString(16)
          .padStart(width, '0');
      const host = parseHostAddress(
        `${hex('domain', 4)}:${hex('bus', 2)}:${hex('slot', 2)}.${parseUint('function', attr(source, 'function') ?? '0', atOf(source), 7)}`,
        atOf(source),
      );
      const iommufdAttr = attr(child(e, 'driver'), 'iommufd');
      const iommufd = iommufdAttr === undefined ? iommufdDefault : parseBool('iommufd', iommufdAttr, at);
      const place = address(e);
      const notes: string[] = [];
      if (place === undefined) notes.push('no <address type=pci>: placed on pcie.0 at the lowest free slot');
      const device: DraftDevice = {
        id: aliasOf(e) ?? '',
        driver: 'vfio-pci',
        bus: PCIE_ROOT,
        ...place,
        host,
        iommufd: iommufd ? 'iommufd0' : undefined,
        at,
      };
      if (device.id === '') pending.push({ item: device, prefix: 'hostdev', notes });
      devices.push(device);
      part(e, 'device', device, notes);
    } else if (e.tagName === 'iommu') {
      const model = attr(e, 'model');
      if (model !== 'smmuv3') {
        ignore(e, `an IOMMU of model ${model} is not an SMMUv3`);
        continue;
      }
      const driver = child(e, 'driver');
      const pciBus = attr(driver, 'pciBus');
      const notes: string[] = [];
      let primaryBus = PCIE_ROOT;
      if (pciBus === undefined) notes.push('no pciBus: the machine SMMU on pcie.0 (-machine iommu=smmuv3)');
      else {
        const index = parseUint('pciBus', pciBus, at, 255);
        const bus = controllers.get(index);
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
      if (smmu.id === '') pending.push({ item: smmu, prefix: 'iommu', notes });
      smmus.push(smmu);
      part(e, 'smmu', smmu, notes);
    } else if (EMULATED_ELEMENTS.has(e.tagName) && !(e.tagName === 'controller' && attr(e, 'type') === 'pci')) {
      const driver = emulatedDriver(e);
      if (driver === undefined) {
        const pci = children(e, 'address').some((a) => attr(a, 'type') === 'pci');
        ignore(
          e,
          pci
            ? 'a PCI device of a model doorbell does not map to a QEMU driver: its slot stays free in the model'
            : 'not a PCI device (its model or bus is not one)',
        );
        continue;
      }
      const place = address(e);
      if (place === undefined) {
        ignore(
          e,
          `${driver} without <address type='pci'>: libvirt picks its slot when the domain is defined; import the XML libvirt wrote back`,
        );
        continue;
      }
      const device: DraftDevice = { id: aliasOf(e) ?? '', driver, ...place, at };
      const notes: string[] = [];
      if (device.id === '')
        pending.push({
          item: device,
          prefix: ID_PREFIX[e.tagName] ?? 'dev',
          notes,
        });
      devices.push(device);
      part(e, 'device', device, notes);
    } else if (e.tagName !== 'controller' || attr(e, 'type') !== 'pci') {
      const pci = children(e, 'address').some((a) => attr(a, 'type') === 'pci');
      ignore(
        e,
        pci
          ? 'a PCI device doorbell does not map to a QEMU driver: its slot stays free in the model'
          : 'not part of the IOMMU and MSI topology doorbell models',
      );
    }
  }
  for (const { item, prefix, notes } of pending) {
    let n = 0;
    while (usedIds.has(`${prefix}${n}`)) n += 1;
    item.id = `${prefix}${n}`;
    usedIds.add(item.id);
    notes.push(`no <alias name='ua-...'>: named ${item.id}`);
  }
  for (const p of report.parts) {
    if (p.became.id === '') p.became.id = [...devices, ...smmus].find((d) => sameAt(d.at, p.at))?.id ?? '';
  }
  return { board, pxbs, rootPorts, smmus, devices, report };
}

const sameAt = (a: SourceRef, b: SourceRef) => JSON.stringify(a) === JSON.stringify(b);

/** Elements that may be an emulated PCI device, and the ids libvirt would give them. */
const ID_PREFIX: Record<string, string> = {
  interface: 'net',
  disk: 'disk',
  controller: 'ctl',
  memballoon: 'balloon',
  rng: 'rng',
  video: 'video',
};
const EMULATED_ELEMENTS = new Set(Object.keys(ID_PREFIX));

function emulatedDriver(e: Element): string | undefined {
  const model = attr(e, 'model');
  switch (e.tagName) {
    case 'interface':
      return INTERFACE_MODELS[attr(child(e, 'model'), 'type') ?? ''];
    case 'disk':
      return attr(child(e, 'target'), 'bus') === 'virtio' ? 'virtio-blk-pci' : undefined;
    case 'memballoon':
      return model === 'virtio' ? 'virtio-balloon-pci' : undefined;
    case 'rng':
      return model === 'virtio' ? 'virtio-rng-pci' : undefined;
    case 'video':
      return attr(child(e, 'model'), 'type') === 'virtio' ? 'virtio-gpu-pci' : undefined;
    default:
      return attr(e, 'type') === 'virtio-serial' ? 'virtio-serial-pci' : CONTROLLER_MODELS[model ?? ''];
  }
}
