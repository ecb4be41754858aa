// Which semantics a resolution runs when the client names none (contract v1.2, "A VM's QEMU
// build"): the VM's declared behaviour when it is one of the two that shipped (upstream,
// address-space), otherwise upstream, and the answer says which it was.

import type { QemuBuildClassification } from './classify.js';

/** The three QEMU behaviours a resolution can be asked for (contract, "MSI doorbell resolution"). */
export const SEMANTICS = ['pre-fix', 'address-space', 'upstream'] as const;
export type Semantics = (typeof SEMANTICS)[number];

export const SEMANTICS_SOURCES = ['request', 'declared-qemu', 'default'] as const;
export type SemanticsSource = (typeof SEMANTICS_SOURCES)[number];

export const DEFAULT_SEMANTICS: Semantics = 'upstream';

export interface SemanticsChoice {
  semantics: Semantics;
  source: SemanticsSource;
}

export function chooseSemantics(build: QemuBuildClassification, requested?: Semantics): SemanticsChoice {
  if (requested !== undefined) return { semantics: requested, source: 'request' };
  if (build.behaviour === 'upstream' || build.behaviour === 'address-space')
    return { semantics: build.behaviour, source: 'declared-qemu' };
  return { semantics: DEFAULT_SEMANTICS, source: 'default' };
}

/** One line naming a build: "11.0.0", "10.1.0 (Debian 1:10.1.0+nvidia1-unstable)", "no build declared". */
export function describeBuild(build: Pick<QemuBuildClassification, 'version' | 'package' | 'rule'>): string {
  if (build.version === null && build.package === null) return `no build declared (${build.rule})`;
  const name = [build.version ?? 'version unknown', build.package === null ? '' : `(${build.package})`]
    .filter((p) => p !== '')
    .join(' ');
  return `QEMU ${name} (${build.rule})`;
}

/** Why the default applied (diagnostic QEMU_BUILD_UNKNOWN): what is known of the build, and what would settle it. */
export function fallbackMessage(build: QemuBuildClassification, accel: boolean): string {
  const named = describeBuild(build);
  if (build.behaviour === 'none')
    return `${named} has no accel mode (${build.basis}): without accel every semantics routes alike; resolved as ${DEFAULT_SEMANTICS}`;
  const alike = accel ? '' : ' (the device is not behind an accel SMMU, so every semantics routes it alike)';
  return `${named}: its MSI behaviour is unknown (${build.basis}); resolved as ${DEFAULT_SEMANTICS}${alike}. Declare the build (PUT /v1/vms/{vm}/qemu), best with the arm-smmuv3 properties from QMP device-list-properties, or name the semantics`;
}
