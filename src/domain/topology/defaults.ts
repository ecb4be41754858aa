// What a booted Linux guest has set up, so that a client only states what differs (contract,
// "Defaults").

import type { ContextDescriptor, Granule, SmmuGuestState, Stage2Config, Ste } from './types.js';

export const PCIE_ROOT_BUS = 'pcie.0';

/** Linux arm-smmu-v3 STRTAB_SPLIT: a 2-level table indexes its L2 tables with the low 8 SID bits. */
export const LINUX_STRTAB_SPLIT = 8;
/** Linux writes every L1 descriptor it fills with span STRTAB_SPLIT + 1 (arm_smmu_write_strtab_l1_desc). */
export const LINUX_L1_SPAN = LINUX_STRTAB_SPLIT + 1;

/**
 * The stream table stays linear by default, so that streams stored before the format existed keep
 * their meaning. (A Linux guest on QEMU's SIDSIZE=16 actually picks 2-level with SPLIT=8; with the
 * spans Linux writes, every in-range SID finds its STE either way.)
 */
export const DEFAULT_GUEST_STATE: SmmuGuestState = {
  enabled: true,
  gbpaAbort: false,
  eventqEnabled: true,
  streamTableLog2Size: 16,
  streamTableFormat: 'linear',
  split: LINUX_STRTAB_SPLIT,
  l1Span: LINUX_L1_SPAN,
  rmrHonoured: true,
};

/** t1sz is not here: it defaults to the CD's t0sz (steWithDefaults). */
export const DEFAULT_CD: Omit<ContextDescriptor, 't1sz'> = {
  granule: '4K',
  t0sz: 16,
  epd1: true,
  ips: 44,
  recordFaults: true,
  affd: false,
};
export const DEFAULT_S2: Stage2Config = { granule: '4K', t0sz: 24, ps: 44, recordFaults: true };

/** Which parts of the STE each config uses. */
export function usesStage1(config: Ste['config']): boolean {
  return config === 's1' || config === 'nested';
}
export function usesStage2(config: Ste['config']): boolean {
  return config === 's2' || config === 'nested';
}

/** A CD from the fields given; CD.T1SZ left out takes the CD's T0SZ (reference §9.2). */
export function cdWithDefaults(cd?: Partial<ContextDescriptor>): ContextDescriptor {
  const merged = { ...DEFAULT_CD, ...cd };
  return { ...merged, t1sz: cd?.t1sz ?? merged.t0sz };
}

type DescriptorAddresses = Partial<Pick<Ste, 'cdAddress' | 'ttb0' | 'ttb1'>>;

/** A full STE from a config and the fields given: what is left out takes the defaults again. */
export function steWithDefaults(
  config: Ste['config'],
  cd?: Partial<ContextDescriptor>,
  s2?: Partial<Stage2Config>,
  addresses: DescriptorAddresses = {},
): Ste {
  const s1 = usesStage1(config);
  return {
    config,
    cd: s1 ? cdWithDefaults(cd) : null,
    s2: usesStage2(config) ? { ...DEFAULT_S2, ...s2 } : null,
    cdAddress: s1 ? (addresses.cdAddress ?? null) : null,
    ttb0: s1 ? (addresses.ttb0 ?? null) : null,
    ttb1: s1 ? (addresses.ttb1 ?? null) : null,
  };
}

export const DEFAULT_STE: Ste = steWithDefaults('s1');

export const GRANULE_BYTES: Record<Granule, bigint> = { '4K': 0x1000n, '16K': 0x4000n, '64K': 0x1_0000n };

/** CD.IPS / STE.S2PS encodings, in bits. */
export const ADDRESS_SIZES = [32, 36, 40, 42, 44, 48, 52] as const;
