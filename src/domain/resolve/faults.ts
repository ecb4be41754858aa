// SMMUv3 events the emulated vSMMU raises (domain reference §3), and whether they reach the
// guest's EVENTQ.

import type { Fault, FaultClass, FaultType } from './types.js';

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

export type ConfigFaultType = 'C_BAD_STREAMID' | 'C_BAD_STE' | 'C_BAD_CD';
export type WalkFaultType = Exclude<FaultType, ConfigFaultType>;

export interface FaultContext {
  streamId: bigint;
  inputAddress: bigint;
  /** CR0.EVENTQEN: without it every event is dropped silently. */
  eventqEnabled: boolean;
}

/** A configuration fault: always recorded when the event queue is on; it has no stage and no CLASS (reference §9.10). */
export function configFault(type: ConfigFaultType, context: FaultContext, reason: string): Fault {
  return {
    type,
    code: FAULT_CODES[type],
    stage: null,
    class: null,
    streamId: context.streamId,
    inputAddress: context.inputAddress,
    rnw: false,
    recorded: context.eventqEnabled,
    reason,
  };
}

/**
 * A page-walk fault: recorded only with PTW_RECORD_FAULT (CD.R for stage 1, STE.S2R for stage 2)
 * and the event queue on. InputAddr is the gIOVA even when a descriptor fetch faulted
 * (smmuv3_fixup_event); CLASS says what was being translated (smmuv3_do_translate).
 */
export function walkFault(
  type: WalkFaultType,
  stage: 1 | 2,
  faultClass: FaultClass,
  context: FaultContext,
  recordFaults: boolean,
  reason: string,
): Fault {
  return {
    type,
    code: FAULT_CODES[type],
    stage,
    class: faultClass,
    streamId: context.streamId,
    inputAddress: context.inputAddress,
    rnw: false,
    recorded: context.eventqEnabled && recordFaults,
    reason,
  };
}
