// A VM's topology -> a libvirt <domain> that imports back to the same buses, SMMUs, devices and
// stream ids. Controllers are numbered pcie-root 0, then the pxb-pcie in bus_nr order, then the
// root ports, then switch ports and bridges (each after its parent); ids travel as user aliases (<alias name='ua-ID'/>). libvirt has one iommufd object
// (iommufd0) and no bus-reserve: what cannot be said in the XML is said in a comment, and root
// port numbers the firmware rule cannot give are returned for the import's busNumbers.

import type { Device, VmState } from '../../domain/topology/types.js';
import { PCIE_ROOT } from '../draft.js';
import { layoutOf } from '../layout.js';
import { CONTROLLER_MODELS } from './parse.js';

const esc = (text: string) =>
  text.replace(/[&<>'"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', "'": '&apos;', '"': '&quot;' })[c]!);
/** Text inside <!-- -->, which may not hold "--". */
const comment = (text: string) => `<!-- doorbell: ${esc(text).replace(/-{2,}/g, '-')} -->`;
const hex = (n: number, width: number) => `0x${n.toString(16).padStart(width, '0')}`;

const pciAddress = (bus: number, slot: number, fn: number) =>
  `<address type='pci' domain='0x0000' bus='${hex(bus, 2)}' slot='${hex(slot, 2)}' function='${hex(fn, 1)}'/>`;

/** The libvirt element of an emulated driver: interface, disk or controller. */
function emulatedElement(driver: string): { open: string; inner: string[]; close: string } | undefined {
  const nic = /^(virtio-net-pci(-(non-)?transitional)?|e1000e|e1000|igb|rtl8139|vmxnet3)$/.exec(driver);
  if (nic !== null) {
    const model = driver.startsWith('virtio-net-pci') ? driver.replace('virtio-net-pci', 'virtio') : driver;
    return { open: "<interface type='user'>", inner: [`<model type='${model}'/>`], close: '</interface>' };
  }
  if (driver === 'virtio-blk-pci')
    return { open: "<disk type='file' device='disk'>", inner: ["<target dev='vda' bus='virtio'/>"], close: '</disk>' };
  if (driver === 'virtio-balloon-pci')
    return { open: "<memballoon model='virtio'>", inner: [], close: '</memballoon>' };
  if (driver === 'virtio-rng-pci')
    return {
      open: "<rng model='virtio'>",
      inner: ["<backend model='random'>/dev/urandom</backend>"],
      close: '</rng>',
    };
  if (driver === 'virtio-gpu-pci') return { open: '<video>', inner: ["<model type='virtio'/>"], close: '</video>' };
  // libvirt's <iommu model='virtio'> is -device virtio-iommu (docs/formatdomain.rst, since 8.3.0): never dropped.
  if (driver === 'virtio-iommu-pci') return { open: "<iommu model='virtio'>", inner: [], close: '</iommu>' };
  if (driver === 'virtio-serial-pci')
    return { open: "<controller type='virtio-serial'>", inner: [], close: '</controller>' };
  const controller = Object.entries(CONTROLLER_MODELS).find(([, d]) => d === driver)?.[0];
  if (controller !== undefined) {
    const type = controller === 'virtio-scsi' ? 'scsi' : 'usb';
    return { open: `<controller type='${type}' model='${controller}'>`, inner: [], close: '</controller>' };
  }
  return undefined;
}

/**
 * libvirt's controller model for each bridge type and the <target> it needs (libvirt
 * src/conf/domain_conf.c, the enums virDomainControllerModelPCI and
 * virDomainControllerPCIModelName: pcie-switch-upstream-port is x3130-upstream,
 * pcie-switch-downstream-port xio3130-downstream with a chassis, pcie-to-pci-bridge
 * pcie-pci-bridge, pci-bridge pci-bridge with a chassisNr).
 */
const BRIDGE_CONTROLLERS = {
  'x3130-upstream': { model: 'pcie-switch-upstream-port', target: undefined },
  'xio3130-downstream': {
    model: 'pcie-switch-downstream-port',
    target: (chassis: number) => `<target chassis='${chassis}' port='0x0'/>`,
  },
  'pcie-pci-bridge': { model: 'pcie-to-pci-bridge', target: undefined },
  'pci-bridge': { model: 'pci-bridge', target: (chassis: number) => `<target chassisNr='${chassis}'/>` },
} as const;

export interface LibvirtExport {
  text: string;
  busNumbers: Record<string, number>;
}

export function writeLibvirtXml(state: VmState): LibvirtExport {
  const { board } = state;
  const layout = layoutOf(state, { reserves: false });
  const index = new Map<string, number>([[PCIE_ROOT, 0]]);
  for (const bus of [...layout.pxbs, ...layout.rootPorts, ...layout.bridges]) index.set(bus.id, index.size);
  const out: string[] = [];
  const line = (depth: number, text: string) => out.push(`${'  '.repeat(depth)}${text}`);
  const alias = (id: string) => `<alias name='ua-${esc(id)}'/>`;

  line(0, `<domain type='${board.kvm ? 'kvm' : 'qemu'}'>`);
  line(1, `<name>${esc(state.id)}</name>`);
  const kib = board.ramSize % 1024n === 0n;
  line(1, `<memory unit='${kib ? 'KiB' : 'b'}'>${kib ? board.ramSize / 1024n : board.ramSize}</memory>`);
  line(1, "<os firmware='efi'><type arch='aarch64' machine='virt'>hvm</type></os>");
  line(1, `<features><acpi/><gic version='${board.gicVersion}'/></features>`);
  if (board.gicVersion === 3 && !board.its) line(1, comment('its=off has no libvirt setting'));
  line(1, '<devices>');
  line(2, "<controller type='pci' index='0' model='pcie-root'/>");
  for (const pxb of layout.pxbs) {
    line(2, `<controller type='pci' index='${index.get(pxb.id)}' model='pcie-expander-bus'>`);
    line(3, "<model name='pxb-pcie'/>");
    line(3, `<target busNr='${pxb.number}'/>`);
    line(3, alias(pxb.id));
    line(3, pciAddress(0, layout.slotOf.get(pxb.id)!, 0));
    line(2, '</controller>');
  }
  for (const [n, port] of layout.rootPorts.entries()) {
    line(2, `<controller type='pci' index='${index.get(port.id)}' model='pcie-root-port'>`);
    line(3, "<model name='pcie-root-port'/>");
    line(3, `<target chassis='${n + 1}' port='${hex(n, 1)}'/>`);
    line(3, alias(port.id));
    line(3, pciAddress(index.get(port.parent ?? PCIE_ROOT)!, layout.slotOf.get(port.id)!, 0));
    line(2, '</controller>');
  }
  let chassis = layout.rootPorts.length;
  for (const bridge of layout.bridges) {
    const { model, target } = BRIDGE_CONTROLLERS[bridge.type as keyof typeof BRIDGE_CONTROLLERS];
    line(2, `<controller type='pci' index='${index.get(bridge.id)}' model='${model}'>`);
    line(3, `<model name='${bridge.type}'/>`);
    if (target !== undefined) {
      chassis += 1;
      line(3, target(chassis));
    }
    line(3, alias(bridge.id));
    line(3, pciAddress(index.get(bridge.parent ?? PCIE_ROOT)!, bridge.slot ?? 0, bridge.function ?? 0));
    line(2, '</controller>');
  }
  for (const d of state.devices.values()) writeDevice(d);
  for (const smmu of state.smmus.values()) {
    const accel = smmu.accel.value ? " accel='on'" : '';
    const oas = smmu.oas === 44 ? '' : ` oas='${smmu.oas}'`;
    line(2, "<iommu model='smmuv3'>");
    line(3, `<driver pciBus='${index.get(smmu.primaryBus)}'${accel}${oas}/>`);
    if (smmu.stage !== '1') line(3, comment(`stage=${smmu.stage} has no libvirt setting`));
    line(3, alias(smmu.id));
    line(2, '</iommu>');
  }
  line(1, '</devices>');
  line(0, '</domain>');
  return { text: `${out.join('\n')}\n`, busNumbers: layout.busNumbers };

  function writeDevice(d: Device): void {
    const address = pciAddress(index.get(d.bus)!, d.slot, d.function);
    if (d.driver === 'vfio-pci' && d.host !== null) {
      const [domain, bus, slotFn] = d.host.split(':') as [string, string, string];
      const [slot, fn] = slotFn.split('.') as [string, string];
      line(2, "<hostdev mode='subsystem' type='pci' managed='yes'>");
      line(3, `<driver iommufd='${d.iommufd === null ? 'no' : 'yes'}'/>`);
      if (d.iommufd !== null && d.iommufd !== 'iommufd0')
        line(3, comment(`iommufd ${d.iommufd} is libvirt's iommufd0`));
      line(3, `<source><address domain='0x${domain}' bus='0x${bus}' slot='0x${slot}' function='0x${fn}'/></source>`);
      line(3, alias(d.id));
      line(3, address);
      line(2, '</hostdev>');
      return;
    }
    const element = emulatedElement(d.driver);
    if (element === undefined) {
      line(2, comment(`${d.driver} ${d.id} at ${d.bus} ${d.slot}.${d.function} has no libvirt element`));
      return;
    }
    line(2, element.open);
    for (const inner of element.inner) line(3, inner);
    line(3, alias(d.id));
    line(3, address);
    line(2, element.close);
  }
}
