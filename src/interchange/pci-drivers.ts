// Which -device drivers are PCI functions the topology holds, which are bridges, and QEMU's short
// names for them.

import { BRIDGE_TYPES, type BridgeType } from './draft.js';

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
  'usb-ehci',
  'ich9-usb-ehci1',
  'pci-ohci',
  'ich9-ahci',
  'ich9-intel-hda',
  'intel-hda',
  'AC97',
  'ES1370',
  'megasas',
  'megasas-gen2',
  'lsi53c895a',
  'pvpanic-pci',
  'pci-serial',
  'pci-serial-2x',
  'pci-serial-4x',
  'i6300esb',
  'ivshmem-plain',
  'ivshmem-doorbell',
  'pci-testdev',
  'edu',
  'bochs-display',
  'VGA',
]);

/** virtio-iommu-pci is an IOMMU, not an endpoint (see device-kinds.ts readVirtioIommu). */
export const VIRTIO_IOMMU_DRIVER = 'virtio-iommu-pci';

export function isEmulatedPci(driver: string): boolean {
  if (driver === VIRTIO_IOMMU_DRIVER) return false;
  return /^(virtio|vhost-user|vhost)-[a-z0-9-]+-pci(-(non-)?transitional)?$/.test(driver) || EMULATED_PCI.has(driver);
}

export const VFIO_DRIVERS = new Set(['vfio-pci', 'vfio-pci-nohotplug']);
export const ROOT_PORT_DRIVERS = new Set(['pcie-root-port', 'ioh3420']);

/** The switch ports and bridges the Draft holds (draft.ts BRIDGE_TYPES). */
export function isModelledBridge(driver: string): driver is BridgeType {
  return (BRIDGE_TYPES as readonly string[]).includes(driver);
}

/** Bridges that also take a bus number but that the model does not hold: refused, never dropped. */
export const UNMODELLED_BRIDGES: Record<string, string> = {
  'i82801b11-bridge': 'a DMI-to-PCI bridge',
  'pci-bridge-seat': 'a PCI-to-PCI bridge for multi-seat',
  'dec-21154-p2p-bridge': 'a DEC 21154 PCI-to-PCI bridge',
};

/**
 * QEMU's short device names, as qdev_get_device_class resolves them: the type name first, then
 * qdev_alias_table (system/qdev-monitor.c, softmmu/ in 7.2), keeping the entries whose arch_mask
 * includes ARM (QEMU_ARCH_VIRTIO_PCI: on arm, `virtio-net` is virtio-net-pci, not -device).
 */
const QDEV_ALIASES: Record<string, string> = {
  ac97: 'AC97',
  'e1000-82540em': 'e1000',
  es1370: 'ES1370',
  ahci: 'ich9-ahci',
  lsi: 'lsi53c895a',
  'virtio-9p': 'virtio-9p-pci',
  'virtio-balloon': 'virtio-balloon-pci',
  'virtio-blk': 'virtio-blk-pci',
  'virtio-gpu': 'virtio-gpu-pci',
  'virtio-gpu-gl': 'virtio-gpu-gl-pci',
  'virtio-gpu-rutabaga': 'virtio-gpu-rutabaga-pci',
  'virtio-input-host': 'virtio-input-host-pci',
  'virtio-iommu': 'virtio-iommu-pci',
  'virtio-keyboard': 'virtio-keyboard-pci',
  'virtio-mouse': 'virtio-mouse-pci',
  'virtio-net': 'virtio-net-pci',
  'virtio-rng': 'virtio-rng-pci',
  'virtio-scsi': 'virtio-scsi-pci',
  'virtio-serial': 'virtio-serial-pci',
  'virtio-tablet': 'virtio-tablet-pci',
};

/** The QEMU type a -device driver name stands for on arm64 (the name itself unless it is an alias). */
export function qdevTypeName(driver: string): string {
  return QDEV_ALIASES[driver] ?? driver;
}
