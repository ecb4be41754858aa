// The emulated vSMMUv3's translation of one write (smmuv3_translate, domain reference R2-R7, §3,
// §9): SMMUEN/GBPA, the stream table, the whole STE (stage-2 fields included), the CD (fetched
// and decoded through stage 2 when nested), then the stage walks. The order is QEMU's
// (smmuv3_decode_config, then smmu_ptw; §9.7), so a nested STE with several errors gives
// C_BAD_STE first. Every outcome is a gPA, an abort (no event) or a fault (recorded or not).

import { hex } from '../address.js';
import { usesStage1, usesStage2 } from '../topology/defaults.js';
import type { ContextDescriptor, Device, EventRef, Smmu, Stage2Config } from '../topology/types.js';
import { findSte } from '../translation/stream-table.js';
import { configFault, walkFault, type FaultContext } from './faults.js';
import { walkStage, type WalkResult } from './stage-walk.js';
import type { Trail } from './trail.js';
import type { Fault, FaultClass } from './types.js';

export type Translation =
  | { kind: 'translated'; gpa: bigint }
  | { kind: 'aborted'; reason: string }
  | { kind: 'fault'; fault: Fault };

export interface SmmuTarget {
  device: Device;
  smmu: Smmu;
  streamId: bigint;
  /** The events that put the device behind this SMMU with this stream id. */
  placementEvents: readonly EventRef[];
}

/** CD.TxSZ range the SMMU accepts (decode_cd: outside [16, 39] is C_BAD_CD). */
const CD_TSZ_MIN = 16;
const CD_TSZ_MAX = 39;
/** S2T0SZ is at most 39 (SMMU_IDR3.STT == 0). */
const S2T0SZ_MAX = 39;

/** decode_cd: cfg->oas = min(CD.IPS, OAS), and at most 48 bits unless the TT uses a 64K granule. */
export function stage1OutputBits(cd: ContextDescriptor, smmu: Smmu): number {
  const bits = Math.min(cd.ips, smmu.oas);
  return cd.granule === '64K' ? bits : Math.min(bits, 48);
}

/** decode_ste_s2_cfg: eff_ps = min(STE.S2PS, OAS), capped at 48 unless the S2 granule is 64K. */
export function effectiveS2ps(s2: Stage2Config, smmu: Smmu): number {
  const bits = Math.min(s2.ps, smmu.oas);
  return s2.granule === '64K' ? bits : Math.min(bits, 48);
}

/** s2t0sz_valid: the smallest S2T0SZ the effective S2PS allows (reference §9.6, not IAS). */
export function minS2t0sz(s2: Stage2Config, smmu: Smmu): number {
  const effPs = effectiveS2ps(s2, smmu);
  return s2.granule === '64K' ? 64 - effPs : Math.max(64 - effPs, 16);
}

type Step = Translation | { kind: 'ok'; output: bigint };

export function translateThroughSmmu(target: SmmuTarget, address: bigint, trail: Trail): Translation {
  return new SmmuWalk(target, address, trail).translate();
}

/**
 * One write through the emulated vSMMU, a method per phase of smmuv3_translate. A phase returns
 * the write's outcome when it ends the walk (an abort, a fault, a bypass), undefined to go on.
 */
class SmmuWalk {
  private readonly faultContext: FaultContext;
  private readonly ste: Device['ste'];
  private readonly steEvents: EventRef[];
  /** R2 (s1), R3 (s2) or R4 (nested): the rule the walks of the MSI itself follow. */
  private readonly rule: string;

  constructor(
    private readonly target: SmmuTarget,
    private readonly address: bigint,
    private readonly trail: Trail,
  ) {
    const { device, smmu, streamId } = target;
    this.faultContext = { streamId, inputAddress: address, eventqEnabled: smmu.guest.eventqEnabled.value };
    this.ste = device.ste;
    this.steEvents = [device.ste.setBy, smmu.addedBy];
    this.rule = this.ste.config === 'nested' ? 'R4' : this.ste.config === 's2' ? 'R3' : 'R2';
  }

  translate(): Translation {
    const ended = this.whenDisabled() ?? this.lookUpSte() ?? this.decodeSte();
    if (ended !== undefined) return ended;
    if (!usesStage1(this.ste.config)) {
      // Stage 2 only: the input is the IPA, checked against IAS (= OAS for AArch64).
      return this.translated(
        this.stage2(this.address, { cls: 'IN', label: 'the input', iasBits: this.target.smmu.oas }),
      );
    }
    const cd = this.ste.cd!;
    const badCd = this.decodeCd(cd);
    if (badCd !== undefined) return badCd;
    const ipa = this.stage1(cd);
    if (ipa.kind !== 'ok' || !usesStage2(this.ste.config)) return this.translated(ipa);
    return this.translated(this.stage2(ipa.output, { cls: 'IN', label: 'the IPA', iasBits: null }));
  }

  private translated(step: Step): Translation {
    return step.kind === 'ok' ? { kind: 'translated', gpa: step.output } : step;
  }

  private fault(f: Fault, events: EventRef[], action: string, source: string): Translation {
    const { address } = this;
    this.trail.add({
      action,
      source,
      input: { address },
      output: { fault: f.type, code: f.code, stage: f.stage, class: f.class, recorded: f.recorded, reason: f.reason },
      events: [...events, this.target.smmu.guest.eventqEnabled.setBy],
    });
    return { kind: 'fault', fault: f };
  }

  /** R5: with SMMUEN=0, GBPA decides: bypass (reset value 0x1000) or abort. */
  private whenDisabled(): Translation | undefined {
    const { smmu } = this.target;
    const { guest } = smmu;
    const { address } = this;
    if (guest.enabled.value) return undefined;
    const events = [guest.enabled.setBy, guest.gbpaAbort.setBy];
    if (guest.gbpaAbort.value) {
      this.trail.add({
        action: 'SMMU disabled with GBPA.ABORT=1: the write aborts, no event is recorded',
        rule: 'R5',
        source: 'smmuv3_translate (SMMU_TRANS_ABORT)',
        input: { address },
        output: { aborted: true },
        events,
      });
      return { kind: 'aborted', reason: `SMMU ${smmu.id} is disabled (CR0.SMMUEN=0) with GBPA.ABORT=1` };
    }
    this.trail.add({
      action: 'SMMU disabled with GBPA.ABORT=0: the write passes untranslated',
      rule: 'R5',
      source: 'smmuv3_translate (SMMU_TRANS_DISABLE)',
      input: { address },
      output: { address },
      events,
    });
    return { kind: 'translated', gpa: address };
  }

  /** smmu_find_ste: the stream table (linear or 2-level) must hold the stream id. */
  private lookUpSte(): Translation | undefined {
    const { guest } = this.target.smmu;
    const { streamId } = this.target;
    const lookup = findSte(guest, streamId);
    const streamTableEvents = [...this.target.placementEvents, guest.enabled.setBy, ...lookup.events];
    if (!lookup.found) {
      return this.fault(
        configFault(lookup.type, this.faultContext, lookup.reason),
        streamTableEvents,
        `look up the STE: ${lookup.type}`,
        'smmu_find_ste',
      );
    }
    this.trail.add({
      action: 'look up the STE for the stream id',
      source: 'smmu_find_ste',
      input: { streamId },
      output: { steConfig: this.ste.config, entry: lookup.detail },
      events: [...streamTableEvents, this.ste.setBy],
    });
    return undefined;
  }

  private badSte(reason: string, action: string, source = 'decode_ste'): Translation {
    return this.fault(configFault('C_BAD_STE', this.faultContext, reason), this.steEvents, action, source);
  }

  /** decode_ste: the whole STE, stage-2 fields included, before any CD is fetched (§9.7). */
  private decodeSte(): Translation | undefined {
    const { smmu } = this.target;
    const { ste, steEvents, address } = this;
    switch (ste.config) {
      case 'invalid':
        return this.badSte('the STE is not valid (V=0)', 'decode the STE: invalid');
      case 'abort':
        this.trail.add({
          action: 'STE abort: the write aborts, no event is recorded',
          rule: 'R7',
          source: 'smmuv3_translate (SMMU_TRANS_ABORT)',
          input: { address },
          output: { aborted: true },
          events: steEvents,
        });
        return {
          kind: 'aborted',
          reason: `the STE of stream ${hex(this.target.streamId)} is abort (V=1, Config=0b000)`,
        };
      case 'bypass':
        this.trail.add({
          action: 'STE bypass: identity',
          rule: 'R6',
          source: 'smmuv3_translate (SMMU_TRANS_BYPASS)',
          input: { address },
          output: { address },
          events: steEvents,
        });
        return { kind: 'translated', gpa: address };
    }
    const needsS1 = usesStage1(ste.config);
    const needsS2 = usesStage2(ste.config);
    const hasS1 = smmu.stage !== '2';
    const hasS2 = smmu.stage !== '1';
    if ((needsS1 && !hasS1) || (needsS2 && !hasS2)) {
      return this.badSte(
        `STE config ${ste.config} uses stage ${needsS1 && !hasS1 ? 1 : 2}, which ${smmu.id} (stage=${smmu.stage}) does not advertise`,
        'decode the STE: stage not advertised',
      );
    }
    if (!needsS2) return undefined;
    const s2 = ste.s2!;
    const min = minS2t0sz(s2, smmu);
    if (s2.t0sz > S2T0SZ_MAX || s2.t0sz < min) {
      return this.badSte(
        `STE.S2T0SZ=${s2.t0sz} is outside [${min}, ${S2T0SZ_MAX}] for the effective S2PS of ${effectiveS2ps(s2, smmu)} bits (min(S2PS=${s2.ps}, OAS=${smmu.oas})) and a ${s2.granule} granule`,
        'decode the STE: bad stage-2 fields',
        'decode_ste_s2_cfg, s2t0sz_valid',
      );
    }
    this.trail.add({
      action: `decode the STE: config ${ste.config}, S2T0SZ=${s2.t0sz} within [${min}, ${S2T0SZ_MAX}] (effective S2PS ${effectiveS2ps(s2, smmu)} bits)`,
      source: 'decode_ste_s2_cfg, s2t0sz_valid',
      input: { config: ste.config },
      output: { s2t0sz: s2.t0sz, effectiveS2ps: effectiveS2ps(s2, smmu) },
      events: steEvents,
    });
    return undefined;
  }

  /**
   * One stage-2 translation: of the input (CLASS=IN, a write) or of a descriptor's IPA in nested
   * mode (CLASS=CD or TT, a read). iasBits: the stage-1 input-size check smmu_ptw makes when it
   * runs stage 2 alone; its fault is flagged stage 1 and gated on a record flag not yet decoded
   * (reference Q8), so it is never recorded.
   */
  private stage2(ipa: bigint, what: { cls: FaultClass; label: string; iasBits: number | null }): Step {
    const { smmu, device } = this.target;
    const { ste, faultContext } = this;
    const s2 = ste.s2!;
    const access = what.cls === 'IN' ? 'write' : 'read';
    if (what.iasBits !== null && ipa >= 1n << BigInt(what.iasBits)) {
      return this.fault(
        walkFault(
          'F_ADDR_SIZE',
          1,
          what.cls,
          faultContext,
          false,
          `${what.label} ${hex(ipa)} is at or beyond IAS 2^${what.iasBits}`,
        ),
        [ste.setBy],
        `stage-2 walk of ${what.label}: input address size`,
        'smmu_ptw (IAS = OAS)',
      );
    }
    const ipaBits = 64 - s2.t0sz;
    if (ipa >= 1n << BigInt(ipaBits)) {
      return this.fault(
        walkFault(
          'F_TRANSLATION',
          2,
          what.cls,
          faultContext,
          s2.recordFaults,
          `${what.label} ${hex(ipa)} is at or beyond 2^${ipaBits} (S2T0SZ=${s2.t0sz})`,
        ),
        [ste.setBy],
        `stage-2 walk of ${what.label}: IPA beyond S2T0SZ`,
        'smmu_ptw_64_s2',
      );
    }
    const result = walkStage(device.mappings[2], ipa, {
      stage: 2,
      affd: false,
      outputBits: effectiveS2ps(s2, smmu),
      access,
    });
    // The rule (R3/R4) marks the walks of the MSI itself; a descriptor fetch is a side walk.
    const step = walkStep(
      2,
      what.cls === 'IN' ? this.rule : undefined,
      ipa,
      result,
      [ste.setBy],
      what.cls === 'IN' ? '' : ` of ${what.label} (CLASS=${what.cls}, a read)`,
    );
    if (!result.ok) {
      const f = walkFault(result.type, 2, what.cls, faultContext, s2.recordFaults, `${what.label}: ${result.reason}`);
      return this.fault(f, step.events, step.action, step.source);
    }
    this.trail.add({
      ...step,
      input: what.cls === 'IN' ? { ipa } : { [what.label]: ipa },
      output: what.cls === 'IN' ? { gpa: result.output } : { pa: result.output },
    });
    return { kind: 'ok', output: result.output };
  }

  /**
   * smmu_get_cd and decode_cd: nested, the CD address is an IPA read through stage 2 (CLASS=CD);
   * then each enabled TT in turn: its TxSZ, then its TTB (beyond the stage-1 output size is
   * C_BAD_CD; nested, the TTB is an IPA read through stage 2, CLASS=TT; §9.3).
   */
  private decodeCd(cd: ContextDescriptor): Translation | undefined {
    const { smmu } = this.target;
    const { ste } = this;
    const nested = ste.config === 'nested';
    const cdEvents = [ste.setBy];
    const badCd = (reason: string) =>
      this.fault(configFault('C_BAD_CD', this.faultContext, reason), cdEvents, 'decode the CD: invalid', 'decode_cd');
    const unstated: string[] = [];

    if (nested) {
      if (ste.cdAddress === null) unstated.push('the CD address (STE.S1ContextPtr)');
      else {
        const out = this.stage2(ste.cdAddress, { cls: 'CD', label: 'the CD address', iasBits: smmu.oas });
        if (out.kind !== 'ok') return out;
      }
    }
    const oasBits = stage1OutputBits(cd, smmu);
    const tables = [
      { tt: 'TT0', tsz: cd.t0sz, field: 'T0SZ', ttb: ste.ttb0 },
      ...(cd.epd1 ? [] : [{ tt: 'TT1', tsz: cd.t1sz, field: 'T1SZ', ttb: ste.ttb1 }]),
    ];
    for (const { tt, tsz, field, ttb } of tables) {
      if (tsz < CD_TSZ_MIN || tsz > CD_TSZ_MAX)
        return badCd(
          `CD.${field}=${tsz} is outside [${CD_TSZ_MIN}, ${CD_TSZ_MAX}]${tt === 'TT1' ? ' and TT1 is enabled (EPD1=0)' : ''}`,
        );
      if (ttb === null) {
        if (nested) unstated.push(`the ${tt} base (CD.TTB${tt.at(-1)})`);
        continue;
      }
      if (ttb >= 1n << BigInt(oasBits))
        return badCd(
          `CD.TTB${tt.at(-1)}=${hex(ttb)} is beyond the stage-1 output size 2^${oasBits} (min(CD.IPS, OAS))`,
        );
      if (nested) {
        const out = this.stage2(ttb, { cls: 'TT', label: `the ${tt} base`, iasBits: null });
        if (out.kind !== 'ok') return out;
      }
    }
    if (nested) {
      unstated.push('the next-level stage-1 tables');
      this.trail.add({
        action: `nested: ${unstated.join(', ')} ${unstated.length === 1 ? 'is' : 'are'} IPAs that QEMU reads through stage 2 (CLASS=CD/TT); the topology does not state them, so they are assumed to translate cleanly`,
        source: 'smmu_get_cd, decode_cd, smmu_ptw_64_s1 (translate_table_addr_ipa)',
        input: { assumedClean: unstated },
        output: {},
        events: cdEvents,
      });
    }
    return undefined;
  }

  /** select_tt, then the stage-1 walk: TT0 covers [0, 2^(64-T0SZ)), TT1 the top 2^(64-T1SZ) bytes when EPD1=0 (§9.2). */
  private stage1(cd: ContextDescriptor): Step {
    const { address, ste, faultContext } = this;
    const tt0Bits = 64 - cd.t0sz;
    const tt1Bits = 64 - cd.t1sz;
    const inTt0 = address < 1n << BigInt(tt0Bits);
    const inTt1 = !cd.epd1 && address >= (1n << 64n) - (1n << BigInt(tt1Bits));
    if (!inTt0 && !inTt1) {
      const reason = cd.epd1
        ? `${hex(address)} is outside TT0 (below 2^${tt0Bits}, T0SZ=${cd.t0sz}), so the disabled TT1 (EPD1=1) is selected`
        : `${hex(address)} is in the gap between TT0 (below 2^${tt0Bits}, T0SZ=${cd.t0sz}) and TT1 (the top 2^${tt1Bits}, T1SZ=${cd.t1sz})`;
      return this.fault(
        walkFault('F_TRANSLATION', 1, 'IN', faultContext, cd.recordFaults, reason),
        [ste.setBy],
        'stage-1 walk: select the translation table',
        'select_tt',
      );
    }
    const outputBits = stage1OutputBits(cd, this.target.smmu);
    const result = walkStage(this.target.device.mappings[1], address, {
      stage: 1,
      affd: cd.affd,
      outputBits,
      access: 'write',
    });
    const step = walkStep(1, this.rule, address, result, [ste.setBy]);
    if (!result.ok) {
      const f = walkFault(result.type, 1, 'IN', faultContext, cd.recordFaults, result.reason);
      return this.fault(f, step.events, step.action, step.source);
    }
    this.trail.add({ ...step, input: { iova: address, tt: inTt0 ? 'TT0' : 'TT1' }, output: { ipa: result.output } });
    return { kind: 'ok', output: result.output };
  }
}

function walkStep(
  stage: 1 | 2,
  rule: string | undefined,
  input: bigint,
  result: WalkResult,
  events: EventRef[],
  what = '',
) {
  const mappingEvents =
    result.ok || result.mapping !== undefined ? [(result.ok ? result.mapping : result.mapping!).setBy] : [];
  return {
    action: result.ok
      ? `stage-${stage} walk${what}: ${hex(input)} -> ${hex(result.output)}`
      : `stage-${stage} walk${what}: ${result.type}`,
    ...(rule === undefined ? {} : { rule }),
    source: stage === 1 ? 'smmu_ptw_64_s1' : 'smmu_ptw_64_s2',
    input: { address: input },
    output: {},
    events: [...events, ...mappingEvents],
  };
}
