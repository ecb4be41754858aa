// smmu_find_ste (hw/arm/smmuv3.c): whether the stream table the guest programmed holds an STE for
// a stream id, linear or 2-level. Both the emulated translation and the accel vSTE install
// (smmuv3_accel_install_ste) start here, so both use this one answer.

import { hex } from '../address.js';
import type { EventRef, Smmu } from '../topology/types.js';

/** IDR1.SIDSIZE of QEMU's SMMUv3: at most 2^16 stream ids. */
export const SIDSIZE = 16;

export type SteLookup =
  | { found: true; detail: string; events: EventRef[] }
  | { found: false; type: 'C_BAD_STREAMID' | 'C_BAD_STE'; reason: string; events: EventRef[] };

export function findSte(guest: Smmu['guest'], streamId: bigint): SteLookup {
  const log2Size = Math.min(guest.streamTableLog2Size.value, SIDSIZE);
  const sizeEvents = [guest.streamTableLog2Size.setBy, guest.streamTableFormat.setBy];
  if (streamId >= 1n << BigInt(log2Size)) {
    const reason = `stream id ${hex(streamId)} is beyond the ${1 << log2Size}-entry stream table (STRTAB_BASE_CFG.LOG2SIZE=${guest.streamTableLog2Size.value}, SIDSIZE=${SIDSIZE})`;
    return { found: false, type: 'C_BAD_STREAMID', reason, events: sizeEvents };
  }
  if (guest.streamTableFormat.value === 'linear') {
    return { found: true, detail: `linear table of ${1 << log2Size} STEs, entry ${hex(streamId)}`, events: sizeEvents };
  }
  // 2-level: the high SID bits pick an L1 descriptor, the low SPLIT bits an STE in its L2 table.
  const split = BigInt(guest.split.value);
  const l1Index = streamId >> split;
  const l2Index = streamId & ((1n << split) - 1n);
  const span = guest.l1Span.value;
  const events = [...sizeEvents, guest.split.setBy, guest.l1Span.setBy];
  if (span === 0) {
    return {
      found: false,
      type: 'C_BAD_STREAMID',
      reason: `L1STD[${l1Index}] of stream id ${hex(streamId)} has span 0: its L2 table is not valid`,
      events,
    };
  }
  // QEMU allows offsets up to (1 << span) - 1; the architecture's L2 table has 2^(span-1) STEs.
  const maxL2 = (1n << BigInt(span)) - 1n;
  if (l2Index > maxL2) {
    return {
      found: false,
      type: 'C_BAD_STE',
      reason: `stream id ${hex(streamId)} is at offset ${l2Index} of L2 table ${l1Index}, beyond its last entry ${maxL2} (L1STD.Span=${span}, SPLIT=${split})`,
      events,
    };
  }
  return {
    found: true,
    detail: `2-level table: L1STD[${l1Index}] (span ${span}), L2 entry ${l2Index} (SPLIT=${split})`,
    events,
  };
}
