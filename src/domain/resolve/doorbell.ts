// Where a route's address lands on the board: the vITS translation frame at GITS_TRANSLATER
// (the only correct doorbell), elsewhere in the vITS (KVM injects anyway), or outside any ITS
// (every injection fails in vgic_msi_to_its). Domain reference §3, S20-S22.

import { hex, inRange } from '../address.js';
import { GITS_TRANSLATER_OFFSET, ITS_FRAME_SIZE, KVM_ITS_MMIO_SIZE, VITS_BASE, VITS_DOORBELL } from '../virt-board.js';
import type { Diagnostic, DoorbellCheck } from './types.js';

export interface DoorbellVerdict {
  doorbell: DoorbellCheck;
  diagnostics: Diagnostic[];
  /** KVM finds an ITS io-device at the address, so injection works. */
  injects: boolean;
}

export function checkDoorbell(address: bigint): DoorbellVerdict {
  const diagnostics: Diagnostic[] = [];
  if ((address & 3n) !== 0n) {
    diagnostics.push({
      code: 'MSI_ADDR_MISALIGNED',
      severity: 'warning',
      message: `the doorbell ${hex(address)} is not DWORD aligned (address[1:0] != 0); PCI requires aligned MSI addresses, though neither QEMU nor KVM checks`,
    });
  }
  if (!inRange(address, VITS_BASE, KVM_ITS_MMIO_SIZE)) {
    diagnostics.push(
      {
        code: 'DOORBELL_NOT_IN_ITS',
        severity: 'error',
        message: `${hex(address)} is not in the vITS [${hex(VITS_BASE)}, ${hex(VITS_BASE + KVM_ITS_MMIO_SIZE)}): KVM accepts the route but vgic_msi_to_its finds no ITS there`,
      },
      {
        code: 'INTERRUPTS_LOST',
        severity: 'error',
        message: 'every injection through this route fails with -EINVAL: the interrupts are lost silently',
      },
    );
    return { doorbell: { its: false, frame: null, offset: null }, diagnostics, injects: false };
  }
  const offsetInIts = address - VITS_BASE;
  const frame = offsetInIts < ITS_FRAME_SIZE ? 'control' : 'translation';
  const offset = offsetInIts % ITS_FRAME_SIZE;
  if (frame !== 'translation' || offset !== GITS_TRANSLATER_OFFSET) {
    diagnostics.push({
      code: 'DOORBELL_NOT_TRANSLATER',
      severity: 'KVM-tolerated',
      message: `${hex(address)} is in the vITS ${frame} frame at offset ${hex(offset)}, not GITS_TRANSLATER (${hex(VITS_DOORBELL)}): KVM injects anyway (its io-device spans 2x64 KiB and ignores the offset), real GIC hardware or QEMU's userspace ITS would not`,
    });
  }
  return { doorbell: { its: true, frame, offset }, diagnostics, injects: true };
}
