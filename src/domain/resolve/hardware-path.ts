// accel=on: what the physical SMMU does with the device's MSI write (domain reference §1.4, R9-R11).
// The device writes the host's sw_msi window, not the guest's gIOVA; the guest's stage 1 (held in
// hardware) must leave that window as the RMR identity, and the host's stage 2 maps it to the
// physical GITS_TRANSLATER.

import { hex } from '../address.js';
import type { Board, Device } from '../topology/types.js';
import { GITS_TRANSLATER_FROM_ITS_BASE, GITS_TRANSLATER_OFFSET, SW_MSI_BASE, SW_MSI_LENGTH } from '../virt-board.js';
import type { SmmuTarget } from './smmu-translate.js';
import type { HardwarePath, HardwareStep } from './types.js';

/** iommufd_sw_msi() puts a single ITS page at sw_msi_start (pgoff 0); the write keeps offset 0x40. */
export const DEVICE_MSI_WRITE = SW_MSI_BASE + GITS_TRANSLATER_OFFSET;

export function hardwarePathOf(target: SmmuTarget, board: Board): HardwarePath {
  const { device, smmu } = target;
  const guest = smmu.guest;
  const deviceWrites = DEVICE_MSI_WRITE;
  const steps: HardwareStep[] = [
    { action: 'the host programs the physical MSI-X entry with its sw_msi window (iommufd_sw_msi, MSI_IOVA_BASE, pgoff 0)', input: deviceWrites, output: deviceWrites, events: [device.attachedBy] },
  ];
  const blocked = (action: string, reason: string, events = [device.ste.setBy]): HardwarePath => {
    steps.push({ action, input: deviceWrites, output: null, events });
    return { deviceWrites, steps, delivered: false, reason };
  };

  // Stage 1: the guest's vSTE, installed in the physical SMMU by smmuv3_accel_install_ste().
  if (!guest.enabled.value) {
    const events = [guest.enabled.setBy, guest.gbpaAbort.setBy];
    if (guest.gbpaAbort.value) return blocked('stage 1: SMMUEN=0 with GBPA.ABORT=1 -> abort_hwpt', `the guest disabled ${smmu.id} with GBPA.ABORT=1: the physical SMMU aborts every DMA, the MSI write included (R11)`, events);
    steps.push({ action: 'stage 1: SMMUEN=0 with GBPA bypass -> bypass_hwpt (identity)', input: deviceWrites, output: deviceWrites, events });
  } else {
    switch (device.ste.config) {
      case 'invalid':
      case 'abort':
        return blocked(`stage 1: vSTE ${device.ste.config} -> abort_hwpt`, `the guest's vSTE is ${device.ste.config}: the physical SMMU aborts every DMA, the MSI write included; the KVM route exists but never fires (R11)`);
      case 'bypass':
        steps.push({ action: 'stage 1: vSTE bypass -> bypass_hwpt (identity)', input: deviceWrites, output: deviceWrites, events: [device.ste.setBy] });
        break;
      case 's2':
      case 'nested':
        return blocked(
          `stage 1: vSTE config ${device.ste.config} is refused ("Invalid STE config for sid", CERROR_ILL)`,
          `smmuv3_accel_install_ste accepts only invalid, abort, bypass and stage-1 vSTEs; config ${device.ste.config} is refused, so no nested HWPT carries the MSI`,
        );
      case 's1': {
        const hit = device.mappings[1].containing(deviceWrites);
        if (hit === undefined) {
          steps.push({ action: `stage 1: the guest's RMR identity for [${hex(SW_MSI_BASE)}, ${hex(SW_MSI_BASE + SW_MSI_LENGTH)}) (IORT RMR)`, input: deviceWrites, output: deviceWrites, events: [device.ste.setBy] });
          break;
        }
        const m = hit.value;
        const output = m.output + (deviceWrites - m.iova);
        const broken = output !== deviceWrites ? `maps it to ${hex(output)}` : m.perm === 'ro' ? 'makes it read-only' : !m.accessFlag ? 'has AF=0' : undefined;
        if (broken !== undefined) {
          return blocked(
            `stage 1: the guest's mapping [${hex(m.iova)}, ${hex(m.iova + m.size)}) covers the sw_msi window and ${broken}`,
            `the guest's stage 1 breaks the RMR identity for the sw_msi window (${broken}): the physical SMMU faults the MSI write (reported through the vEVENTQ if the guest enabled EVENTQ)`,
            [device.ste.setBy, m.setBy],
          );
        }
        steps.push({ action: "stage 1: the guest's identity mapping of the sw_msi window", input: deviceWrites, output: deviceWrites, events: [device.ste.setBy, m.setBy] });
      }
    }
  }

  // Stage 2: the host's nesting-parent domain maps the window to the physical ITS doorbell.
  const host = board.hostItsBase === null ? null : board.hostItsBase + GITS_TRANSLATER_FROM_ITS_BASE;
  steps.push({
    action: host === null ? 'stage 2 (host): the sw_msi page maps to the physical GITS_TRANSLATER (host ITS base not recorded)' : `stage 2 (host): the sw_msi page maps to the physical GITS_TRANSLATER at host ITS base + ${hex(GITS_TRANSLATER_FROM_ITS_BASE)}`,
    input: deviceWrites,
    output: host,
    events: [board.setBy],
  });
  steps.push({ action: 'the physical ITS raises a host LPI -> VFIO eventfd -> KVM irqfd -> the KVM MSI route', input: host ?? deviceWrites, output: null, events: [device.attachedBy] });
  return { deviceWrites, steps, delivered: true };
}

/**
 * vfio-pci with no vIOMMU (R1): the host programs the device with its sw_msi IOVA, which the
 * host's own VFIO domain maps to the physical ITS; the guest's address plays no part.
 */
export function hostDomainPathOf(device: Device, board: Board): HardwarePath {
  const deviceWrites = DEVICE_MSI_WRITE;
  const host = board.hostItsBase === null ? null : board.hostItsBase + GITS_TRANSLATER_FROM_ITS_BASE;
  return {
    deviceWrites,
    steps: [
      { action: 'the host programs the physical MSI-X entry with the sw_msi IOVA of its VFIO domain (MSI_IOVA_BASE, pgoff 0)', input: deviceWrites, output: deviceWrites, events: [device.attachedBy] },
      { action: "the host's VFIO domain maps the sw_msi page to the physical GITS_TRANSLATER", input: deviceWrites, output: host, events: [board.setBy] },
      { action: 'the physical ITS raises a host LPI -> VFIO eventfd -> KVM irqfd -> the KVM MSI route', input: host ?? deviceWrites, output: null, events: [device.attachedBy] },
    ],
    delivered: true,
  };
}
