// A qemu-system-aarch64 command line -> a Draft of the VM (see ../draft.ts) and the report of
// what each option became or why it was ignored. Pure: text in, data out.

import type { GicVersion, SmmuStage } from '../../domain/topology/types.js';
import type { Draft, DraftDevice, DraftPxb, DraftRootPort, DraftSmmu } from '../draft.js';
import { PCIE_ROOT } from '../draft.js';
import { BRIDGE_DRIVERS, isEmulatedPci, ROOT_PORT_DRIVERS, VFIO_DRIVERS } from '../pci-drivers.js';
import { type ImportReport, InterchangeError, malformed, type SourceRef } from '../report.js';
import {
  jsonOptions,
  keyValues,
  type OptionList,
  parseBool,
  parseHostAddress,
  parsePciAddr,
  parseRamSize,
  parseUint,
} from './options.js';
import { shellWords } from './split.js';

/** Options that take no argument; any other option takes the next word. */
const FLAGS = new Set([
  'enable-kvm',
  'nographic',
  'no-reboot',
  'no-shutdown',
  'nodefaults',
  'no-user-config',
  'snapshot',
  'daemonize',
  'S',
  's',
  'full-screen',
  'no-hpet',
  'version',
  'help',
  'h',
  'enable-fips',
  'no-fd-bootchk',
  'only-migratable',
  'preconfig',
]);

/** Why options that are not topology are left out, by option name. */
const IGNORED_BECAUSE: Record<string, string> = {
  cpu: 'the vCPU model does not change the IOMMU or MSI path',
  smp: 'the vCPU count does not change the IOMMU or MSI path',
  bios: 'firmware image: the bus numbering assumes EDK2 (ArmVirtQemu) whatever the file',
  pflash: 'firmware image: the bus numbering assumes EDK2 (ArmVirtQemu) whatever the file',
  drive: 'a block backend: the PCI device that uses it (if any) is what the topology holds',
  blockdev: 'a block backend: the PCI device that uses it (if any) is what the topology holds',
  netdev: 'a network backend: the PCI device that uses it (if any) is what the topology holds',
  chardev: 'a character backend, not part of the topology',
  nic: 'creates a NIC in a slot QEMU picks: write it as -device to import it',
  net: 'legacy network option: write the NIC as -device to import it',
  kernel: 'boot media, not part of the topology',
  initrd: 'boot media, not part of the topology',
  append: 'kernel command line, not part of the topology',
  dtb: 'a device tree boot: pxb-pcie buses exist only in ACPI, doorbell assumes an ACPI boot',
  nographic: 'display and console',
  display: 'display and console',
  vga: 'display and console',
  serial: 'display and console',
  monitor: 'management interface',
  qmp: 'management interface',
  mon: 'management interface',
  name: 'the VM id comes from the request (vm)',
  uuid: 'identity, not part of the topology',
  numa: 'NUMA layout, not part of the topology',
  overcommit: 'host resource policy',
  'mem-prealloc': 'host resource policy',
  'mem-path': 'host resource policy',
  rtc: 'clock, not part of the topology',
  boot: 'boot order, not part of the topology',
  'no-reboot': 'run control',
  'no-shutdown': 'run control',
  S: 'run control',
  daemonize: 'run control',
  pidfile: 'run control',
  global: 'defaults for device properties the topology does not model',
  trace: 'tracing',
  D: 'logging',
  d: 'logging',
  msg: 'logging',
  sandbox: 'host security policy',
  runas: 'host security policy',
  'run-with': 'host security policy',
  incoming: 'migration',
  loadvm: 'snapshot',
  snapshot: 'snapshot',
  fsdev: 'a file system backend',
  virtfs: 'a file system backend',
  audiodev: 'an audio backend',
  usb: 'USB, not on the PCIe topology',
  usbdevice: 'USB, not on the PCIe topology',
  fw_cfg: 'firmware configuration item',
  semihosting: 'debugging',
  'semihosting-config': 'debugging',
  gdb: 'debugging',
  s: 'debugging',
  k: 'keyboard layout',
  'enable-fips': 'host security policy',
  nodefaults: 'default devices are consoles and displays, not on the PCIe topology of arm64 virt',
  'no-user-config': 'configuration files, not part of the topology',
  readconfig: 'configuration files are not read by the import: inline their options',
};

const DEFAULT_REASON = 'not part of the IOMMU and MSI topology doorbell models';

interface Option {
  name: string;
  value: string | undefined;
  /** Token index of the option itself. */
  at: SourceRef;
  /** Token index of its value. */
  valueAt: SourceRef;
}

function options(words: string[]): { program: string | undefined; list: Option[]; ignored: Option[] } {
  const list: Option[] = [];
  const ignored: Option[] = [];
  let i = 0;
  // Leading VAR=value assignments and the program.
  while (i < words.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[i]!)) {
    ignored.push({ name: words[i]!, value: undefined, at: { token: i }, valueAt: { token: i } });
    i += 1;
  }
  let program: string | undefined;
  if (i < words.length && !words[i]!.startsWith('-')) {
    program = words[i];
    i += 1;
  }
  while (i < words.length) {
    const word = words[i]!;
    if (!word.startsWith('-') || word === '-' || word === '--') {
      ignored.push({ name: word, value: undefined, at: { token: i }, valueAt: { token: i } });
      i += 1;
      continue;
    }
    const name = word.replace(/^--?/, '');
    if (FLAGS.has(name) || i + 1 >= words.length) {
      list.push({ name, value: undefined, at: { token: i }, valueAt: { token: i } });
      i += 1;
    } else {
      list.push({ name, value: words[i + 1], at: { token: i }, valueAt: { token: i + 1 } });
      i += 2;
    }
  }
  return { program, list, ignored };
}

const text = (o: Option) => (o.value === undefined ? `-${o.name}` : `-${o.name} ${o.value}`);

export function parseQemuCmdline(source: string): Draft {
  const words = shellWords(source);
  if (words.length === 0) throw malformed('the command line is empty', { token: 0 });
  const report: ImportReport = { format: 'qemu-cmdline', parts: [], ignored: [], busNumbers: [] };
  const { program, list, ignored } = options(words);
  for (const o of ignored)
    report.ignored.push({
      at: o.at,
      text: o.name,
      reason: 'not an option (a stray word, a redirection or a variable)',
    });
  if (program !== undefined) {
    const base = program.split('/').pop() ?? program;
    if (/^qemu-system-/.test(base) && base !== 'qemu-system-aarch64')
      throw malformed(`${base}: doorbell models arm64 virt machines (qemu-system-aarch64)`, { token: 0 });
  }

  const board: Draft['board'] = { at: { token: 0 } };
  const boardNotes: string[] = [];
  const iommufds = new Set<string>();
  const pxbs: DraftPxb[] = [];
  const rootPorts: DraftRootPort[] = [];
  const smmus: DraftSmmu[] = [];
  const devices: DraftDevice[] = [];
  const pending: { part: { id: string }; prefix: string; set: (id: string) => void }[] = [];
  const usedIds = new Set<string>([PCIE_ROOT]);
  let machine: Option | undefined;
  let legacySmmu: Option | undefined;

  const ignore = (o: Option, reason: string, what = text(o)) => report.ignored.push({ at: o.at, text: what, reason });
  const ignoreRest = (o: Option, head: string, rest: OptionList, reason: string) => {
    for (const [k, v] of rest) ignore(o, `${reason}`, `${head} ${k}=${v}`);
  };

  for (const o of list) {
    const value = o.value;
    switch (o.name) {
      case 'machine':
      case 'M': {
        if (value === undefined) throw malformed('-machine needs a value such as virt,gic-version=3', o.at);
        machine = o;
        board.at = o.at;
        const rest: OptionList = [];
        for (const [key, v] of keyValues(value, 'type')) {
          if (key === 'type') {
            if (!/^virt(-\d+\.\d+)?$/.test(v))
              throw malformed(`-machine ${v}: doorbell models the arm64 virt machine`, o.valueAt);
          } else if (key === 'gic-version') {
            if (v === '2' || v === '3') board.gicVersion = Number(v) as GicVersion;
            else if (v === 'host' || v === 'max') {
              board.gicVersion = 3;
              boardNotes.push(`gic-version=${v} taken as 3 (an arm64 host with an ITS)`);
            } else throw malformed(`gic-version=${v}: doorbell models GICv2 and GICv3 (2, 3, host or max)`, o.valueAt);
          } else if (key === 'accel') {
            board.kvm = v.split(':')[0] === 'kvm';
          } else if (key === 'its') {
            board.its = parseBool(key, v, o.valueAt);
          } else if (key === 'kernel-irqchip' || key === 'kernel_irqchip') {
            if (v !== 'on') {
              board.kvm = false;
              boardNotes.push(`kernel-irqchip=${v}: no in-kernel irqchip, so kvm is false (R16)`);
            }
          } else if (key === 'iommu') {
            if (v === 'smmuv3') legacySmmu = o;
            else if (v !== 'none') ignore(o, `iommu=${v} is not an SMMUv3`, `-machine iommu=${v}`);
          } else rest.push([key, v]);
        }
        ignoreRest(o, '-machine', rest, 'a virt machine property the topology does not model');
        break;
      }
      case 'accel': {
        if (value === undefined) throw malformed('-accel needs a value such as kvm', o.at);
        const [[, accel], ...rest] = keyValues(value, 'accel') as [[string, string], ...OptionList];
        board.kvm = accel === 'kvm';
        report.parts.push({ at: o.at, text: text(o), became: { kind: 'vm', id: 'kvm' }, notes: [] });
        ignoreRest(o, `-accel ${accel}`, rest, 'an accelerator property the topology does not model');
        break;
      }
      case 'enable-kvm':
        board.kvm = true;
        report.parts.push({ at: o.at, text: text(o), became: { kind: 'vm', id: 'kvm' }, notes: [] });
        break;
      case 'm': {
        if (value === undefined) throw malformed('-m needs a size such as 16G', o.at);
        const opts = keyValues(value, 'size');
        const size = opts.find(([k]) => k === 'size');
        if (size === undefined) throw malformed(`-m ${value} gives no size`, o.valueAt);
        board.ramSize = parseRamSize(size[1], o.valueAt);
        report.parts.push({ at: o.at, text: `-m ${size[1]}`, became: { kind: 'vm', id: 'ramSize' }, notes: [] });
        ignoreRest(
          o,
          '-m',
          opts.filter(([k]) => k !== 'size'),
          'memory hot-plug is not part of the topology',
        );
        break;
      }
      case 'object': {
        if (value === undefined) throw malformed('-object needs a value such as iommufd,id=iommufd0', o.at);
        const opts = value.startsWith('{') ? jsonOptions(value, o.valueAt) : keyValues(value, 'qom-type');
        const type = opts.find(([k]) => k === 'qom-type')?.[1];
        if (type !== 'iommufd') {
          ignore(o, `an object of type ${type} is not part of the topology`);
          break;
        }
        const id = opts.find(([k]) => k === 'id')?.[1];
        if (id === undefined) throw malformed('-object iommufd needs an id', o.valueAt);
        iommufds.add(id);
        usedIds.add(id);
        const fd = opts.some(([k]) => k === 'fd');
        report.parts.push({
          at: o.at,
          text: text(o),
          became: { kind: 'iommufd', id },
          notes: fd ? ['fd= is the host file descriptor libvirt passes; not part of the topology'] : [],
        });
        break;
      }
      case 'device': {
        if (value === undefined) throw malformed('-device needs a value such as vfio-pci,host=...', o.at);
        const opts = value.startsWith('{') ? jsonOptions(value, o.valueAt) : keyValues(value, 'driver');
        readDevice(o, opts);
        break;
      }
      default:
        ignore(o, IGNORED_BECAUSE[o.name] ?? DEFAULT_REASON);
    }
  }

  function readDevice(o: Option, opts: OptionList): void {
    const props = new Map<string, string>();
    for (const [k, v] of opts) props.set(k, v);
    const driver = props.get('driver');
    if (driver === undefined) throw malformed('-device without a driver', o.valueAt);
    props.delete('driver');
    const take = (key: string) => {
      const v = props.get(key);
      props.delete(key);
      return v;
    };
    const id = take('id');
    if (id !== undefined) usedIds.add(id);
    const notes: string[] = [];
    const placement = () => {
      const bus = take('bus') ?? PCIE_ROOT;
      const addr = take('addr');
      return { bus, ...(addr === undefined ? {} : parsePciAddr(addr, o.valueAt)) };
    };
    const note = (key: string, why: string) => {
      const v = take(key);
      if (v !== undefined) notes.push(`${key}=${v}: ${why}`);
    };
    const leftover = (why: string) => {
      for (const [k, v] of props) ignore(o, why, `-device ${driver} ${k}=${v}`);
    };
    const generated = (prefix: string, part: { id: string }) => {
      pending.push({ part, prefix, set: (gen) => notes.push(`no id given: named ${gen}`) });
    };
    const part = (kind: 'bus' | 'smmu' | 'device', item: { id: string }) =>
      report.parts.push({ at: o.at, text: `-device ${o.value}`, became: { kind, id: item.id }, notes });

    if (driver === 'pxb-pcie') {
      const busNr = take('bus_nr');
      if (busNr === undefined) throw malformed('pxb-pcie needs bus_nr (its root bus number)', o.valueAt);
      const pxb: DraftPxb = {
        id: id ?? '',
        busNr: parseUint('bus_nr', busNr, o.valueAt, 255),
        ...placement(),
        at: o.at,
      };
      if (id === undefined) generated('pxb', pxb);
      note('numa_node', 'NUMA placement, not part of the topology');
      pxbs.push(pxb);
      part('bus', pxb);
      leftover('a pxb-pcie property the topology does not model');
    } else if (ROOT_PORT_DRIVERS.has(driver)) {
      const reserve = take('bus-reserve');
      const port: DraftRootPort = {
        id: id ?? '',
        ...placement(),
        busReserve: reserve === undefined ? 0 : parseUint('bus-reserve', reserve, o.valueAt, 255),
        at: o.at,
      };
      if (id === undefined) generated('port', port);
      if (driver !== 'pcie-root-port') notes.push(`${driver} is a PCIe root port: imported as pcie-root-port`);
      for (const key of ['chassis', 'port', 'slot'])
        note(key, 'identifies the hot-plug slot; the topology does not hold it');
      for (const key of ['io-reserve', 'mem-reserve', 'pref32-reserve', 'pref64-reserve'])
        note(key, 'address-window padding, not bus numbers');
      rootPorts.push(port);
      part('bus', port);
      leftover('a root port property the topology does not model');
    } else if (driver === 'arm-smmuv3') {
      readSmmu(o, id, take, notes);
      leftover('an arm-smmuv3 property the topology does not model');
    } else if (VFIO_DRIVERS.has(driver)) {
      const host = take('host');
      const sysfsdev = take('sysfsdev');
      const fromSysfs = sysfsdev?.split('/').pop();
      const iommufd = take('iommufd');
      if (iommufd !== undefined && !iommufds.has(iommufd))
        throw malformed(`${driver} iommufd=${iommufd}: no -object iommufd,id=${iommufd} before it`, o.valueAt);
      const device: DraftDevice = {
        id: id ?? '',
        driver: 'vfio-pci',
        ...placement(),
        host:
          host !== undefined
            ? parseHostAddress(host, o.valueAt)
            : fromSysfs !== undefined
              ? parseHostAddress(fromSysfs, o.valueAt)
              : undefined,
        iommufd,
        at: o.at,
      };
      if (id === undefined) generated('hostdev', device);
      if (driver !== 'vfio-pci')
        notes.push(`${driver} imported as vfio-pci (the same passthrough device, not hot-pluggable)`);
      if (sysfsdev !== undefined) notes.push(`sysfsdev=${sysfsdev}: host address taken from its last component`);
      note('fd', 'the host file descriptor libvirt passes; not part of the topology');
      devices.push(device);
      part('device', device);
      leftover('a vfio-pci property the topology does not model');
    } else if (isEmulatedPci(driver)) {
      const device: DraftDevice = { id: id ?? '', driver, ...placement(), at: o.at };
      if (id === undefined) generated(driver.replace(/[^A-Za-z0-9]/g, '').slice(0, 20), device);
      devices.push(device);
      part('device', device);
      leftover('a device property that does not change its place on the topology');
    } else if (BRIDGE_DRIVERS.has(driver)) {
      throw new InterchangeError(
        'IMPORT_NOT_SUPPORTED',
        `-device ${driver}: a switch or bridge takes bus numbers below a root port, and doorbell models root ports with endpoints behind them only`,
        o.at,
      );
    } else ignore(o, `${driver} is not a PCI device on the PCIe topology (virtio-mmio, USB, CPU or a backend)`);
  }

  function readSmmu(o: Option, id: string | undefined, take: (key: string) => string | undefined, notes: string[]) {
    const primaryBus = take('primary-bus');
    if (primaryBus === undefined) throw malformed('arm-smmuv3 needs primary-bus (pcie.0 or a pxb-pcie)', o.valueAt);
    const accelText = take('accel');
    const accel = accelText === undefined ? undefined : parseBool('accel', accelText, o.valueAt);
    const stage = take('stage');
    if (stage !== undefined && stage !== '1' && stage !== '2' && stage !== 'nested')
      throw malformed(`arm-smmuv3 stage=${stage}: one of 1, 2, nested`, o.valueAt);
    const oasText = take('oas');
    const oas = oasText === undefined ? undefined : parseUint('oas', oasText, o.valueAt, 64);
    for (const gone of ['pasid', 'cmdqv']) {
      if (take(gone) !== undefined)
        throw malformed(
          `arm-smmuv3 has no property ${gone} in QEMU 11.0${gone === 'pasid' ? ' (renamed ssidsize)' : ' (vCMDQ is not in 11.0)'}`,
          o.valueAt,
        );
    }
    // ril, ats and ssidsize shape what the guest sees of the SMMU, not where an MSI goes.
    const onOffAuto = (key: string, accelOnly: 'on' | 'off') => {
      const v = take(key);
      if (v === undefined) return;
      const value = v === 'auto' ? 'auto' : parseBool(key, v, o.valueAt) ? 'on' : 'off';
      if (value === accelOnly && accel !== true)
        throw new InterchangeError(
          'SMMU_PROPERTY_NEEDS_ACCEL',
          `arm-smmuv3 ${key}=${v} needs accel=on (smmu_validate_property)`,
          o.at,
        );
      notes.push(`${key}=${v}: read; not part of the MSI path`);
    };
    onOffAuto('ril', 'off');
    onOffAuto('ats', 'on');
    const ssid = take('ssidsize');
    if (ssid !== undefined && ssid !== 'auto') {
      const n = parseUint('ssidsize', ssid, o.valueAt, 20);
      if (n > 0 && accel !== true)
        throw new InterchangeError('SMMU_PROPERTY_NEEDS_ACCEL', `arm-smmuv3 ssidsize=${ssid} needs accel=on`, o.at);
    }
    if (ssid !== undefined) notes.push(`ssidsize=${ssid}: read; not part of the MSI path`);
    const smmu: DraftSmmu = { id: id ?? '', primaryBus, accel, stage: stage as SmmuStage | undefined, oas, at: o.at };
    if (id === undefined)
      pending.push({ part: smmu, prefix: 'smmuv3.', set: (g) => notes.push(`no id given: named ${g}`) });
    smmus.push(smmu);
    report.parts.push({ at: o.at, text: `-device ${o.value}`, became: { kind: 'smmu', id: smmu.id }, notes });
  }

  if (machine === undefined) throw malformed('no -machine virt: QEMU has no default machine for arm64', { token: 0 });
  if (legacySmmu !== undefined) {
    if (smmus.length > 0)
      throw new InterchangeError(
        'IMPORT_IOMMU_MIXED',
        '-machine iommu=smmuv3 cannot be combined with -device arm-smmuv3 (virt pre_plug: "virt machine already has iommu=smmuv3 set. Doesn\'t support incompatible iommus")',
        smmus[0]!.at,
      );
    const smmu: DraftSmmu = { id: '', primaryBus: PCIE_ROOT, at: legacySmmu.at };
    const notes = [
      'the legacy machine SMMU sits on pcie.0; its IORT also covers pxb-pcie buses, which the model does not (it covers pcie.0 only)',
    ];
    pending.push({ part: smmu, prefix: 'smmuv3.', set: (g) => notes.push(`named ${g}`) });
    smmus.push(smmu);
    report.parts.push({ at: legacySmmu.at, text: '-machine iommu=smmuv3', became: { kind: 'smmu', id: '' }, notes });
  }
  report.parts.unshift({ at: machine.at, text: text(machine), became: { kind: 'vm', id: 'board' }, notes: boardNotes });

  // Ids QEMU would leave empty get a name no other part uses.
  for (const { part, prefix, set } of pending) {
    let n = 0;
    while (usedIds.has(`${prefix}${n}`)) n += 1;
    part.id = `${prefix}${n}`;
    usedIds.add(part.id);
    set(part.id);
  }
  for (const p of report.parts) {
    if (p.became.id === '')
      p.became.id = [...pxbs, ...rootPorts, ...smmus, ...devices].find((item) => item.at === p.at)?.id ?? '';
  }
  if (board.kvm === undefined) {
    board.kvm = false;
    boardNotes.push('no accel=kvm, -accel kvm or -enable-kvm: QEMU runs TCG, so kvm is false');
  }
  return { board, pxbs, rootPorts, smmus, devices, report };
}
