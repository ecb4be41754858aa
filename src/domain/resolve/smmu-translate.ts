// The emulated vSMMUv3's translation of one write (smmuv3_translate, domain reference R2-R7 and
// §3): SMMUEN/GBPA, the stream table, the STE, the CD, then the stage walks. Every outcome is a
// gPA, an abort (no event) or a fault (recorded or not).

import { hex } from '../address.js';
import { usesStage1, usesStage2 } from '../topology/defaults.js';
import type { Device, EventRef, Smmu } from '../topology/types.js';
import { makeFault, type FaultContext } from './faults.js';
import { walkStage, type WalkResult } from './stage-walk.js';
import type { Trail } from './trail.js';
import type { Fault } from './types.js';

export type Translation = { kind: 'translated'; gpa: bigint } | { kind: 'aborted'; reason: string } | { kind: 'fault'; fault: Fault };

export interface SmmuTarget {
  device: Device;
  smmu: Smmu;
  streamId: bigint;
  /** The events that put the device behind this SMMU with this stream id. */
  placementEvents: readonly EventRef[];
}

/** CD.T0SZ range the SMMU accepts (decode_cd: T0SZ outside [16, 39] is C_BAD_CD). */
const CD_T0SZ_MIN = 16;
const CD_T0SZ_MAX = 39;
/** The stream table is at most 2^16 entries (SIDSIZE=16). */
const SIDSIZE = 16;

export function translateThroughSmmu(target: SmmuTarget, address: bigint, trail: Trail): Translation {
  const { device, smmu, streamId } = target;
  const guest = smmu.guest;
  const faultContext: FaultContext = { streamId, inputAddress: address, eventqEnabled: guest.eventqEnabled.value };
  const fault = (f: Fault, events: EventRef[], action: string, source: string): Translation => {
    trail.add({ action, source, input: { address }, output: { fault: f.type, code: f.code, stage: f.stage, recorded: f.recorded, reason: f.reason }, events: [...events, guest.eventqEnabled.setBy] });
    return { kind: 'fault', fault: f };
  };

  // R5: with SMMUEN=0, GBPA decides: bypass (reset value 0x1000) or abort.
  if (!guest.enabled.value) {
    const events = [guest.enabled.setBy, guest.gbpaAbort.setBy];
    if (guest.gbpaAbort.value) {
      trail.add({ action: 'SMMU disabled with GBPA.ABORT=1: the write aborts, no event is recorded', rule: 'R5', source: 'smmuv3_translate (SMMU_TRANS_ABORT)', input: { address }, output: { aborted: true }, events });
      return { kind: 'aborted', reason: `SMMU ${smmu.id} is disabled (CR0.SMMUEN=0) with GBPA.ABORT=1` };
    }
    trail.add({ action: 'SMMU disabled with GBPA.ABORT=0: the write passes untranslated', rule: 'R5', source: 'smmuv3_translate (SMMU_TRANS_DISABLE)', input: { address }, output: { address }, events });
    return { kind: 'translated', gpa: address };
  }

  const log2Size = Math.min(guest.streamTableLog2Size.value, SIDSIZE);
  const streamTableEvents = [...target.placementEvents, guest.enabled.setBy, guest.streamTableLog2Size.setBy];
  if (streamId >= 1n << BigInt(log2Size)) {
    const reason = `stream id ${hex(streamId)} is beyond the ${1 << log2Size}-entry stream table (STRTAB_BASE_CFG.LOG2SIZE=${guest.streamTableLog2Size.value})`;
    return fault(makeFault('C_BAD_STREAMID', 1, faultContext, true, reason), streamTableEvents, 'look up the STE: stream id out of range', 'smmu_find_ste');
  }
  trail.add({ action: 'look up the STE for the stream id', source: 'smmu_find_ste', input: { streamId, streamTableEntries: 1n << BigInt(log2Size) }, output: { steConfig: device.ste.config }, events: [...streamTableEvents, device.ste.setBy] });

  const ste = device.ste;
  const steEvents = [ste.setBy, smmu.addedBy];
  switch (ste.config) {
    case 'invalid':
      return fault(makeFault('C_BAD_STE', 1, faultContext, true, 'the STE is not valid (V=0)'), steEvents, 'decode the STE: invalid', 'decode_ste');
    case 'abort':
      trail.add({ action: 'STE abort: the write aborts, no event is recorded', rule: 'R7', source: 'smmuv3_translate (SMMU_TRANS_ABORT)', input: { address }, output: { aborted: true }, events: steEvents });
      return { kind: 'aborted', reason: `the STE of stream ${hex(streamId)} is abort (V=1, Config=0b000)` };
    case 'bypass':
      trail.add({ action: 'STE bypass: identity', rule: 'R6', source: 'smmuv3_translate (SMMU_TRANS_BYPASS)', input: { address }, output: { address }, events: steEvents });
      return { kind: 'translated', gpa: address };
  }

  const needsS1 = usesStage1(ste.config);
  const needsS2 = usesStage2(ste.config);
  const hasS1 = smmu.stage !== '2';
  const hasS2 = smmu.stage !== '1';
  if ((needsS1 && !hasS1) || (needsS2 && !hasS2)) {
    const reason = `STE config ${ste.config} uses stage ${needsS1 && !hasS1 ? 1 : 2}, which ${smmu.id} (stage=${smmu.stage}) does not advertise`;
    return fault(makeFault('C_BAD_STE', 1, faultContext, true, reason), steEvents, 'decode the STE: stage not advertised', 'decode_ste');
  }

  const rule = ste.config === 'nested' ? 'R4' : ste.config === 's2' ? 'R3' : 'R2';
  let ipa = address;
  if (needsS1) {
    const cd = ste.cd!;
    if (cd.t0sz < CD_T0SZ_MIN || cd.t0sz > CD_T0SZ_MAX) {
      const reason = `CD.T0SZ=${cd.t0sz} is outside [${CD_T0SZ_MIN}, ${CD_T0SZ_MAX}]`;
      return fault(makeFault('C_BAD_CD', 1, faultContext, true, reason), steEvents, 'decode the CD: invalid', 'decode_cd');
    }
    const inputBits = 64 - cd.t0sz;
    const ttRange = 1n << BigInt(inputBits);
    const inTt0 = address < ttRange;
    // TT1 covers the top of the address space; this model gives it the size of TT0 (T1SZ = T0SZ).
    const inTt1 = !cd.epd1 && address >= (1n << 64n) - ttRange;
    const walkEvents = [ste.setBy];
    if (!inTt0 && !inTt1) {
      const reason = `${hex(address)} is outside TT0 (below 2^${inputBits}, T0SZ=${cd.t0sz})${cd.epd1 ? ' and TT1 is disabled (EPD1=1)' : ' and TT1'}`;
      return fault(makeFault('F_TRANSLATION', 1, faultContext, cd.recordFaults, reason), walkEvents, 'stage-1 walk: select the translation table', 'select_tt');
    }
    const result = walkStage(device.mappings[1], address, { stage: 1, affd: cd.affd, outputBits: Math.min(cd.ips, smmu.oas) });
    const step = walkStep(1, rule, address, result, walkEvents);
    if (!result.ok) return fault(makeFault(result.type, 1, faultContext, cd.recordFaults, result.reason), step.events, step.action, step.source);
    trail.add({ ...step, input: { iova: address, tt: inTt0 ? 'TT0' : 'TT1' }, output: { ipa: result.output } });
    ipa = result.output;
  }

  if (needsS2) {
    const s2 = ste.s2!;
    const walkEvents = [ste.setBy];
    const s2Context = { ...faultContext };
    // s2t0sz_valid: S2T0SZ at most 39, and at least 64 - IAS (and 16 unless the granule is 64K).
    const minT0sz = s2.granule === '64K' ? 64 - smmu.oas : Math.max(64 - smmu.oas, 16);
    if (s2.t0sz > 39 || s2.t0sz < minT0sz) {
      const reason = `STE.S2T0SZ=${s2.t0sz} is outside [${minT0sz}, 39] for IAS ${smmu.oas} and a ${s2.granule} granule`;
      return fault(makeFault('C_BAD_STE', 1, faultContext, true, reason), walkEvents, 'decode the STE: bad stage-2 fields', 's2t0sz_valid');
    }
    // IAS = OAS for AArch64. A stage-2-only input beyond it is a stage-1 F_ADDR_SIZE gated on a
    // record flag QEMU never decodes for S2-only configs, so it is not recorded (reference Q8).
    if (!needsS1 && ipa >= 1n << BigInt(smmu.oas)) {
      const reason = `input ${hex(ipa)} is at or beyond IAS 2^${smmu.oas}`;
      return fault(makeFault('F_ADDR_SIZE', 1, s2Context, false, reason), walkEvents, 'stage-2 walk: input address size', 'smmu_ptw (IAS = OAS)');
    }
    const ipaBits = 64 - s2.t0sz;
    if (ipa >= 1n << BigInt(ipaBits)) {
      const reason = `IPA ${hex(ipa)} is at or beyond 2^${ipaBits} (S2T0SZ=${s2.t0sz})`;
      return fault(makeFault('F_TRANSLATION', 2, s2Context, s2.recordFaults, reason), walkEvents, 'stage-2 walk: IPA beyond S2T0SZ', 'smmu_ptw_64_s2');
    }
    const result = walkStage(device.mappings[2], ipa, { stage: 2, affd: false, outputBits: Math.min(s2.ps, smmu.oas) });
    const step = walkStep(2, rule, ipa, result, walkEvents);
    if (!result.ok) return fault(makeFault(result.type, 2, s2Context, s2.recordFaults, result.reason), step.events, step.action, step.source);
    trail.add({ ...step, input: { ipa }, output: { gpa: result.output } });
    return { kind: 'translated', gpa: result.output };
  }
  return { kind: 'translated', gpa: ipa };
}

function walkStep(stage: 1 | 2, rule: string, input: bigint, result: WalkResult, events: EventRef[]) {
  const mappingEvents = result.ok || result.mapping !== undefined ? [(result.ok ? result.mapping : result.mapping!).setBy] : [];
  return {
    action: result.ok ? `stage-${stage} walk: ${hex(input)} -> ${hex(result.output)}` : `stage-${stage} walk: ${result.type}`,
    rule,
    source: stage === 1 ? 'smmu_ptw_64_s1' : 'smmu_ptw_64_s2',
    input: { address: input },
    output: {},
    events: [...events, ...mappingEvents],
  };
}
