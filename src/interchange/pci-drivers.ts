// Which -device drivers are PCI functions the topology holds, and which are not.

/** Emulated PCI(e) endpoints QEMU offers on arm64 virt, besides the virtio-*-pci family. */
const EMULATED_PCI = new Set([
  'e1000e',
  'e1000',
  'igb',
  'nvme',
  'rtl8139',
  'vmxnet3',
  'qemu-xhci',
  'nec-usb-xhci',
  'ich9-ahci',
  'ich9-intel-hda',
  'intel-hda',
  'megasas',
  'megasas-gen2',
  'lsi53c895a',
  'pvpanic-pci',
  'i6300esb',
  'ivshmem-plain',
  'ivshmem-doorbell',
  'pci-testdev',
  'edu',
  'bochs-display',
  'VGA',
]);

export function isEmulatedPci(driver: string): boolean {
  return /^virtio-[a-z0-9-]+-pci(-(non-)?transitional)?$/.test(driver) || EMULATED_PCI.has(driver);
}

export const VFIO_DRIVERS = new Set(['vfio-pci', 'vfio-pci-nohotplug']);
export const ROOT_PORT_DRIVERS = new Set(['pcie-root-port', 'ioh3420']);

/** Bridges below a root port (switches, PCI bridges): they take bus numbers the model does not hold. */
export const BRIDGE_DRIVERS = new Set([
  'x3130-upstream',
  'xio3130-downstream',
  'pcie-pci-bridge',
  'pci-bridge',
  'pci-bridge-seat',
  'dec-21154-p2p-bridge',
]);
