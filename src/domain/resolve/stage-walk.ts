// One stage of a page-table walk over the guest's recorded mappings (smmu_ptw_64_s1/_s2): find
// the leaf that covers the input, then the checks in QEMU's order: access flag, permission for
// a write, output address size.

import { hex } from '../address.js';
import type { RangeIndex } from '../translation/range-index.js';
import type { Mapping, Stage } from '../topology/types.js';
import type { FaultType } from './types.js';

export interface WalkConfig {
  stage: Stage;
  /** CD.AFFD (stage 1); stage-2 AF faults are never disabled in this model. */
  affd: boolean;
  /** Output addresses must stay below 2^outputBits (min(CD.IPS, OAS), or the effective S2PS). */
  outputBits: number;
  /** The MSI is a write (IOMMU_WO); a descriptor fetch through stage 2 is a read (IOMMU_RO), which every leaf allows. */
  access: 'write' | 'read';
}

export type WalkResult =
  | { ok: true; output: bigint; mapping: Mapping }
  | {
      ok: false;
      type: Exclude<FaultType, 'C_BAD_STREAMID' | 'C_BAD_STE' | 'C_BAD_CD'>;
      reason: string;
      mapping?: Mapping;
    };

export function walkStage(mappings: RangeIndex<Mapping>, input: bigint, config: WalkConfig): WalkResult {
  const hit = mappings.containing(input);
  if (hit === undefined) {
    return {
      ok: false,
      type: 'F_TRANSLATION',
      reason: `no stage-${config.stage} mapping covers ${hex(input)} (invalid PTE)`,
    };
  }
  const mapping = hit.value;
  const leaf = `the stage-${config.stage} leaf [${hex(mapping.iova)}, ${hex(mapping.iova + mapping.size)})`;
  if (!mapping.accessFlag && !config.affd) {
    return { ok: false, type: 'F_ACCESS', reason: `${leaf} has AF=0 and access-flag faults are enabled`, mapping };
  }
  if (mapping.perm === 'ro' && config.access === 'write') {
    return { ok: false, type: 'F_PERMISSION', reason: `${leaf} is read-only and the MSI is a write`, mapping };
  }
  const output = mapping.output + (input - mapping.iova);
  if (output >= 1n << BigInt(config.outputBits)) {
    return {
      ok: false,
      type: 'F_ADDR_SIZE',
      reason: `${leaf} outputs ${hex(output)}, at or beyond 2^${config.outputBits}`,
      mapping,
    };
  }
  return { ok: true, output, mapping };
}
