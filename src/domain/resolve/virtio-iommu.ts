// An MSI of a device that QEMU's virtio-iommu translates (docs/domain/virtio-iommu.md). The
// virt board declares the guest's MSI doorbell page as a bypass (MSI) reserved region of the
// virtio-iommu; virtio_iommu_translate() gives identity inside it, the guest's MAP outside it, and
// a fault where neither applies. kvm_arch_fixup_msi_route() translates the guest address that way
// on every QEMU version: virtio_iommu_ops has no get_msi_direct_gpa.

import { hex } from '../address.js';
import type { Board, Device, EventRef } from '../topology/types.js';
import {
  GICV2M_BASE,
  GICV2M_SIZE,
  ITS_FRAME_SIZE,
  msiControllerOf,
  type MsiController,
  VITS_BASE,
} from '../virt-board.js';
import type { Trail } from './trail.js';
import type { VirtioIommuFault } from './types.js';

/** VIRTIO_IOMMU_RESV_MEM_T_RESERVED (0) and _T_MSI (1) of the virtio-iommu spec, as names. */
export type ReservedRegionType = 'reserved' | 'msi';

export interface ReservedRegion {
  start: bigint;
  /** Inclusive, as QEMU's reserved-regions property writes it ("0x8090000:0x809ffff:1"). */
  end: bigint;
  type: ReservedRegionType;
}

/**
 * The reserved-regions property virt_machine_device_pre_plug_cb (hw/arm/virt.c, QEMU 5.1 and later)
 * gives the virtio-iommu: with an ITS the GITS_TRANSLATER page [ITS base + 0x10000, ITS base +
 * size - 1], with GICv2m its MSI_SETSPI_NS page, with no MSI controller none (the function returns
 * before setting it).
 */
export function virtioIommuReservedRegions(controller: MsiController): ReservedRegion[] {
  switch (controller) {
    case 'its':
      return [{ start: VITS_BASE + ITS_FRAME_SIZE, end: VITS_BASE + 2n * ITS_FRAME_SIZE - 1n, type: 'msi' }];
    case 'gicv2m':
      return [{ start: GICV2M_BASE, end: GICV2M_BASE + GICV2M_SIZE - 1n, type: 'msi' }];
    case 'none':
      return [];
  }
}

export type { VirtioIommuFault } from './types.js';

export type VirtioIommuTranslation =
  | { kind: 'translated'; gpa: bigint; how: 'msi-region' | 'mapping' | 'bypass' }
  | { kind: 'fault'; fault: VirtioIommuFault };

export interface VirtioIommuTarget {
  device: Device;
  virtioIommu: Device;
  endpoint: bigint;
  board: Board;
  /** The device is the virtio-iommu itself (never attached by the guest, so bypassed). */
  self: boolean;
  placementEvents: readonly EventRef[];
}

const TRANSLATE = 'virtio_iommu_translate (hw/virtio/virtio-iommu.c)';

/**
 * virtio_iommu_translate() for the MSI write the KVM fixup makes (is_write=true). The model takes
 * the endpoint as the guest's Linux driver leaves it: attached to a DMA domain (the default
 * domain), whose mappings are the device's stage-1 mappings. The virtio-iommu's own endpoint is
 * never attached (the DT iommu-map and the VIOT leave out its BDF), and boot-bypass (default on
 * since QEMU 7.0) lets an unattached endpoint through: identity.
 */
export function translateThroughVirtioIommu(
  target: VirtioIommuTarget,
  address: bigint,
  trail: Trail,
): VirtioIommuTranslation {
  const { device, virtioIommu, endpoint, board } = target;
  const boardEvents = [board.setBy, virtioIommu.attachedBy];
  if (target.self) {
    trail.add({
      action: `${virtioIommu.id} is the virtio-iommu itself: the guest never attaches its endpoint (the DT iommu-map and the VIOT skip its BDF), and with boot-bypass=on an unattached endpoint bypasses: identity`,
      rule: 'VI5',
      source: `${TRANSLATE}: unknown endpoint with config.bypass; virtio_iommu_switch_address_space (bypass_mr)`,
      input: { address },
      output: { gpa: address },
      events: boardEvents,
    });
    return { kind: 'translated', gpa: address, how: 'bypass' };
  }
  const region = virtioIommuReservedRegions(msiControllerOf(board)).find((r) => address >= r.start && address <= r.end);
  if (region !== undefined) {
    trail.add({
      action: `${hex(address)} is inside ${virtioIommu.id}'s reserved MSI region [${hex(region.start)}, ${hex(region.end)}] (VIRTIO_IOMMU_RESV_MEM_T_MSI): identity, before any mapping is looked up`,
      rule: 'VI2',
      source: `${TRANSLATE}: the reserved-region loop; reserved-regions from hw/arm/virt.c virt_machine_device_pre_plug_cb`,
      input: { address, endpoint },
      output: { gpa: address, region: { start: region.start, end: region.end, type: region.type } },
      events: boardEvents,
    });
    return { kind: 'translated', gpa: address, how: 'msi-region' };
  }
  const hit = device.mappings[1].containing(address);
  if (hit !== undefined && hit.value.perm === 'rw') {
    const m = hit.value;
    const gpa = m.output + (address - m.iova);
    trail.add({
      action: `outside every reserved region: the guest's MAP [${hex(m.iova)}, ${hex(m.iova + m.size)}) -> ${hex(m.output)} in ${virtioIommu.id}'s domain translates it`,
      rule: 'VI3',
      source: `${TRANSLATE}: g_tree_lookup_extended(domain->mappings), translated_addr = addr - low + phys_addr`,
      input: { address, endpoint },
      output: { gpa },
      events: [...boardEvents, m.setBy],
    });
    return { kind: 'translated', gpa, how: 'mapping' };
  }
  const readOnly = hit !== undefined;
  const fault: VirtioIommuFault = {
    reason: 'R_MAPPING',
    flags: readOnly ? ['F_WRITE', 'F_ADDRESS'] : ['F_ADDRESS'],
    endpoint,
    address,
    message: readOnly
      ? `the guest's MAP at ${hex(hit.value.iova)} is read-only and the MSI is a write`
      : `no mapping for ${hex(address)} for endpoint ${hex(endpoint)}, and it is outside every reserved region`,
  };
  trail.add({
    action: `${virtioIommu.id} faults: ${fault.message} (VIRTIO_IOMMU_FAULT_R_MAPPING, ${fault.flags.join('|')}); the translation has no permission`,
    rule: 'VI4',
    source: `${TRANSLATE}: virtio_iommu_report_fault, perm = IOMMU_NONE`,
    input: { address, endpoint },
    output: { fault: fault.reason, flags: fault.flags },
    events: [...boardEvents, ...(readOnly ? [hit.value.setBy] : [])],
  });
  return { kind: 'fault', fault };
}
