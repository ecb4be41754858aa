// The HWPT an accel vSMMU attaches to a device in the physical SMMU, folded from the events that
// change it in QEMU 11.0 (reference §9.8, §9.9), and series v4's `s1_hwpt` (§9.1). QEMU acts on
// CFGI_STE and on GBPA writes; these facts keep what it did then, since later guest writes
// (CR0, the stream table) do not re-install anything.

import { hex } from '../address.js';
import { findSte } from '../translation/stream-table.js';
import type { Device, EventRef, HwptAttachment, Smmu, Ste } from './types.js';

type HwptFacts = Pick<Device, 'hwpt' | 'refusedInstall' | 'stage1Hwpt'>;

/** smmuv3_accel_gbpa_hwpt: GBPA.ABORT picks abort_hwpt, else bypass_hwpt. */
export function gbpaAttachment(smmu: Smmu | undefined): HwptAttachment {
  return { hwpt: smmu?.guest.gbpaAbort.value ? 'abort' : 'bypass', via: 'gbpa', config: null };
}

/**
 * CFGI_STE for the device's stream id: smmuv3_accel_install_ste (QEMU 11.0) and, for the v4
 * address space, smmuv3_accel_install_nested_ste.
 */
export function installSte(
  previous: HwptFacts,
  ste: Ste,
  smmu: Smmu | undefined,
  streamId: bigint,
  ref: EventRef,
): HwptFacts {
  const lookup = smmu === undefined ? ({ found: true } as const) : findSte(smmu.guest, streamId);
  if (!lookup.found) {
    // "No STE found, nothing to install": the previous HWPT (and v4's s1_hwpt) stay.
    return {
      ...previous,
      refusedInstall: {
        value: {
          config: ste.config,
          reason: `smmu_find_ste fails (${lookup.type}: ${lookup.reason}), so nothing is installed`,
        },
        setBy: ref,
      },
    };
  }
  const stage1Hwpt = { value: ste.config === 's1' || ste.config === 'nested', setBy: ref };
  if (smmu !== undefined && !smmu.guest.enabled.value) {
    return { hwpt: { value: gbpaAttachment(smmu), setBy: ref }, refusedInstall: null, stage1Hwpt };
  }
  switch (ste.config) {
    case 'invalid':
    case 'abort':
      return {
        hwpt: { value: { hwpt: 'abort', via: 'ste', config: ste.config }, setBy: ref },
        refusedInstall: null,
        stage1Hwpt,
      };
    case 'bypass':
      return {
        hwpt: { value: { hwpt: 'bypass', via: 'ste', config: ste.config }, setBy: ref },
        refusedInstall: null,
        stage1Hwpt,
      };
    case 's1':
      return {
        hwpt: { value: { hwpt: 'nested-s1', via: 'ste', config: ste.config }, setBy: ref },
        refusedInstall: null,
        stage1Hwpt,
      };
    case 's2':
    case 'nested':
      // Only STE_CFG_S1_TRANSLATE gets a HWPT; anything else fails before attaching (CERROR_ILL).
      return {
        hwpt: previous.hwpt,
        refusedInstall: {
          value: {
            config: ste.config,
            reason: `"Invalid STE config for sid ${hex(streamId)}" (smmuv3_accel_install_ste, CERROR_ILL)`,
          },
          setBy: ref,
        },
        stage1Hwpt,
      };
  }
}

/** A device as it appears: reset attaches the GBPA HWPT (smmuv3_accel_reset), then the booted guest installs its STE. */
export function initialHwpt(ste: Ste, smmu: Smmu | undefined, streamId: bigint, ref: EventRef): HwptFacts {
  const reset: HwptFacts = {
    hwpt: { value: gbpaAttachment(smmu), setBy: ref },
    refusedInstall: null,
    stage1Hwpt: { value: false, setBy: ref },
  };
  return installSte(reset, ste, smmu, streamId, ref);
}
