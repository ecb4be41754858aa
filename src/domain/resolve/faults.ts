// SMMUv3 events the emulated vSMMU raises (domain reference §3), and whether they reach the
// guest's EVENTQ.

import type { Fault, FaultType } from './types.js';

/** Architectural event numbers (Linux ARM_SMMU_EVT_*; QEMU's SMMUEventType uses the same names). */
export const FAULT_CODES: Record<FaultType, bigint> = {
  C_BAD_STREAMID: 0x02n,
  C_BAD_STE: 0x04n,
  C_BAD_CD: 0x0an,
  F_TRANSLATION: 0x10n,
  F_ADDR_SIZE: 0x11n,
  F_ACCESS: 0x12n,
  F_PERMISSION: 0x13n,
};

const CONFIG_FAULTS: ReadonlySet<FaultType> = new Set(['C_BAD_STREAMID', 'C_BAD_STE', 'C_BAD_CD']);

export interface FaultContext {
  streamId: bigint;
  inputAddress: bigint;
  /** CR0.EVENTQEN: without it every event is dropped silently. */
  eventqEnabled: boolean;
}

/**
 * Config faults are always recorded; page-walk faults only with PTW_RECORD_FAULT (CD.R for
 * stage 1, STE.S2R for stage 2), and in both cases only when the event queue is enabled.
 */
export function makeFault(type: FaultType, stage: 1 | 2, context: FaultContext, recordWalkFaults: boolean, reason: string): Fault {
  const recorded = context.eventqEnabled && (CONFIG_FAULTS.has(type) || recordWalkFaults);
  return { type, code: FAULT_CODES[type], stage, streamId: context.streamId, inputAddress: context.inputAddress, rnw: false, recorded, reason };
}
