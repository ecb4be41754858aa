// accel=on: what the physical SMMU does with the device's MSI write (domain reference §1.4,
// R9-R11, §9.4, §9.8-§9.10). The device writes the host's sw_msi window, not the guest's gIOVA;
// the HWPT QEMU last attached decides stage 1 (for a nested S1 HWPT, the guest's stage 1, which
// must leave that window as the RMR identity); the host's stage 2 maps it to the physical
// GITS_TRANSLATER; KVM's irqfd then takes the interrupt into the guest's route.

import { hex } from '../address.js';
import type { Board, Device, EventRef } from '../topology/types.js';
import {
  GITS_TRANSLATER_FROM_ITS_BASE,
  GITS_TRANSLATER_OFFSET,
  msiControllerOf,
  SW_MSI_BASE,
  SW_MSI_LENGTH,
} from '../virt-board.js';
import type { SmmuTarget } from './smmu-translate.js';
import type { HardwarePath, HardwareStep } from './types.js';

/** iommufd_sw_msi() puts a single ITS page at sw_msi_start (pgoff 0); the write keeps offset 0x40. */
export const DEVICE_MSI_WRITE = SW_MSI_BASE + GITS_TRANSLATER_OFFSET;

const HWPT_NAMES = { abort: 'abort_hwpt', bypass: 'bypass_hwpt', 'nested-s1': 'the nested stage-1 HWPT' } as const;

export function hardwarePathOf(target: SmmuTarget, board: Board): HardwarePath {
  const { device, smmu } = target;
  const deviceWrites = DEVICE_MSI_WRITE;
  const steps: HardwareStep[] = [
    {
      action:
        'the host programs the physical MSI-X entry with its sw_msi window (iommufd_sw_msi, MSI_IOVA_BASE, pgoff 0)',
      input: deviceWrites,
      output: deviceWrites,
      events: [device.attachedBy],
    },
  ];
  const blocked = (action: string, reason: string, events: EventRef[]): HardwarePath => {
    steps.push({ action, input: deviceWrites, output: null, events });
    return { deviceWrites, steps, delivered: false, reason };
  };

  // Stage 1: the HWPT of the last accepted install or GBPA attach, not the live STE or SMMUEN.
  const attached = device.hwpt;
  const refused = device.refusedInstall;
  const hwptEvents = [attached.setBy, ...(refused ? [refused.setBy] : [])];
  const origin =
    attached.value.via === 'gbpa'
      ? `the GBPA HWPT (GBPA.ABORT=${attached.value.hwpt === 'abort' ? 1 : 0}; smmuv3_accel_attach_gbpa_hwpt, or an install while SMMUEN=0)`
      : `the vSTE ${attached.value.config} (smmuv3_accel_install_ste)`;
  const kept = refused
    ? `; the later vSTE ${refused.value.config} was not installed (${refused.value.reason}), so the device keeps it`
    : '';
  const stage1 = `stage 1: ${HWPT_NAMES[attached.value.hwpt]}, attached for ${origin}${kept}`;
  switch (attached.value.hwpt) {
    case 'abort':
      return blocked(
        stage1,
        `the physical SMMU has abort_hwpt attached for ${smmu.id}'s device ${device.id}: it aborts every DMA, the MSI write included; the KVM route exists but never fires (R11)`,
        hwptEvents,
      );
    case 'bypass':
      steps.push({ action: `${stage1}: identity`, input: deviceWrites, output: deviceWrites, events: hwptEvents });
      break;
    case 'nested-s1': {
      const hit = device.mappings[1].containing(deviceWrites);
      if (hit === undefined) {
        const rmr = smmu.guest.rmrHonoured;
        if (!rmr.value) {
          return blocked(
            `${stage1}: the guest's stage 1 maps nothing at the sw_msi window and the guest does not honour the IORT RMR (rmrHonoured=false)`,
            `the guest does not honour the IORT RMR for [${hex(SW_MSI_BASE)}, ${hex(SW_MSI_BASE + SW_MSI_LENGTH)}) (a DT boot or a guest without iort_get_rmrs), so its stage 1 has no identity there: the physical SMMU faults the MSI write (reported through the vEVENTQ if the guest enabled EVENTQ) and the interrupt is lost`,
            [...hwptEvents, rmr.setBy],
          );
        }
        steps.push({
          action: `${stage1}: the guest honours the IORT RMR, whose identity covers [${hex(SW_MSI_BASE)}, ${hex(SW_MSI_BASE + SW_MSI_LENGTH)}) (iort_get_rmrs, IOMMU_RESV_DIRECT)`,
          input: deviceWrites,
          output: deviceWrites,
          events: [...hwptEvents, rmr.setBy],
        });
        break;
      }
      const m = hit.value;
      const output = m.output + (deviceWrites - m.iova);
      const broken =
        output !== deviceWrites
          ? `maps it to ${hex(output)}`
          : m.perm === 'ro'
            ? 'makes it read-only'
            : !m.accessFlag
              ? 'has AF=0'
              : undefined;
      if (broken !== undefined) {
        return blocked(
          `${stage1}: the guest's mapping [${hex(m.iova)}, ${hex(m.iova + m.size)}) covers the sw_msi window and ${broken}`,
          `the guest's stage 1 breaks the RMR identity for the sw_msi window (${broken}): the physical SMMU faults the MSI write (reported through the vEVENTQ if the guest enabled EVENTQ)`,
          [...hwptEvents, m.setBy],
        );
      }
      steps.push({
        action: `${stage1}: the guest's identity mapping of the sw_msi window`,
        input: deviceWrites,
        output: deviceWrites,
        events: [...hwptEvents, m.setBy],
      });
    }
  }
  return hostSide(
    steps,
    board,
    device,
    'stage 2 (host): the nesting-parent domain maps the sw_msi page to the physical GITS_TRANSLATER',
  );
}

/**
 * vfio-pci with no vIOMMU (R1): the host programs the device with its sw_msi IOVA, which the
 * host's own VFIO domain maps to the physical ITS; the guest's address plays no part.
 */
export function hostDomainPathOf(device: Device, board: Board): HardwarePath {
  const steps: HardwareStep[] = [
    {
      action:
        'the host programs the physical MSI-X entry with the sw_msi IOVA of its VFIO domain (MSI_IOVA_BASE, pgoff 0)',
      input: DEVICE_MSI_WRITE,
      output: DEVICE_MSI_WRITE,
      events: [device.attachedBy],
    },
  ];
  return hostSide(steps, board, device, "the host's VFIO domain maps the sw_msi page to the physical GITS_TRANSLATER");
}

/**
 * vfio-pci behind the virtio-iommu: not nested. QEMU shadows the guest's MAPs into the host VFIO
 * domain (gIOVA = host IOVA; a MAP with VIRTIO_IOMMU_MAP_F_MMIO is not shadowed,
 * virtio_iommu_notify_map), and the host gives that domain an MSI cookie at its sw_msi window
 * (vfio_iommu_type1 iommu_get_msi_cookie, or iommufd_sw_msi): the device writes 0x08000040
 * whatever the guest programmed (docs/domain/virtio-iommu.md).
 */
export function virtioIommuHostPathOf(device: Device, virtioIommu: Device, board: Board): HardwarePath {
  const steps: HardwareStep[] = [
    {
      action: `not nested: the guest's MAPs to ${virtioIommu.id} are shadowed into the host VFIO domain, and the host programs the physical MSI-X entry with that domain's sw_msi IOVA (MSI_IOVA_BASE, pgoff 0)`,
      input: DEVICE_MSI_WRITE,
      output: DEVICE_MSI_WRITE,
      events: [device.attachedBy, virtioIommu.attachedBy],
    },
  ];
  return hostSide(steps, board, device, "the host's VFIO domain maps the sw_msi page to the physical GITS_TRANSLATER");
}

/** The host's stage 2 to the physical doorbell, then the interrupt into the guest's route. */
function hostSide(steps: HardwareStep[], board: Board, device: Device, stage2: string): HardwarePath {
  const deviceWrites = DEVICE_MSI_WRITE;
  const host = board.hostItsBase === null ? null : board.hostItsBase + GITS_TRANSLATER_FROM_ITS_BASE;
  steps.push({
    action:
      host === null
        ? `${stage2} (host ITS base not recorded)`
        : `${stage2} at host ITS base + ${hex(GITS_TRANSLATER_FROM_ITS_BASE)}`,
    input: deviceWrites,
    output: host,
    events: [board.setBy],
  });
  const controller = msiControllerOf(board);
  const irqfd = 'the physical ITS raises a host LPI -> VFIO eventfd -> KVM irqfd';
  if (controller === 'none') {
    // Q3: GICv3 with its=off has no MSI controller, so no guest route can take the interrupt.
    steps.push({
      action: `${irqfd}: the board has no MSI controller (GICv3, its=off), so no guest route takes it`,
      input: host ?? deviceWrites,
      output: null,
      events: [board.setBy],
    });
    return {
      deviceWrites,
      steps,
      delivered: false,
      reason: 'the board has no MSI controller (GICv3 without an ITS): no KVM route takes the interrupt (Q3)',
    };
  }
  // R17: with GICv2m there is no vITS; the route is KVM's GSI direct mapping, not a doorbell (§9.10).
  const route =
    controller === 'gicv2m'
      ? "the GSI route of GICv2m's direct mapping (kvm_gsi_direct_mapping: SPI from the MSI data), no vITS"
      : 'the KVM MSI route to the vITS';
  steps.push({
    action: `${irqfd} -> ${route}`,
    input: host ?? deviceWrites,
    output: null,
    events: [device.attachedBy, board.setBy],
  });
  if (host === null) {
    return {
      deviceWrites,
      steps,
      delivered: null,
      reason:
        'nothing on the path blocks the write, but the host ITS base (hostItsBase) is not recorded, so where the physical doorbell lies is unknown',
    };
  }
  return { deviceWrites, steps, delivered: true };
}
