// What a booted Linux guest has set up, so that a client only states what differs (contract,
// "Defaults").

import type { ContextDescriptor, Granule, SmmuGuestState, Stage2Config, Ste } from './types.js';

export const PCIE_ROOT_BUS = 'pcie.0';

export const DEFAULT_GUEST_STATE: SmmuGuestState = {
  enabled: true,
  gbpaAbort: false,
  eventqEnabled: true,
  streamTableLog2Size: 16,
};

export const DEFAULT_CD: ContextDescriptor = { granule: '4K', t0sz: 16, epd1: true, ips: 44, recordFaults: true, affd: false };
export const DEFAULT_S2: Stage2Config = { granule: '4K', t0sz: 24, ps: 44, recordFaults: true };

/** Which parts of the STE each config uses. */
export function usesStage1(config: Ste['config']): boolean {
  return config === 's1' || config === 'nested';
}
export function usesStage2(config: Ste['config']): boolean {
  return config === 's2' || config === 'nested';
}

/** A full STE from a config and the fields given: what is left out takes the defaults again. */
export function steWithDefaults(config: Ste['config'], cd?: Partial<ContextDescriptor>, s2?: Partial<Stage2Config>): Ste {
  return {
    config,
    cd: usesStage1(config) ? { ...DEFAULT_CD, ...cd } : null,
    s2: usesStage2(config) ? { ...DEFAULT_S2, ...s2 } : null,
  };
}

export const DEFAULT_STE: Ste = steWithDefaults('s1');

export const GRANULE_BYTES: Record<Granule, bigint> = { '4K': 0x1000n, '16K': 0x4000n, '64K': 0x1_0000n };

/** CD.IPS / STE.S2PS encodings, in bits. */
export const ADDRESS_SIZES = [32, 36, 40, 42, 44, 48, 52] as const;
