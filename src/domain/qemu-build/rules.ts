// Domain reference §10, "Classification of a declared build, first rule that applies": the rules
// Q1–Q8 as data (served by GET /v1/qemu-builds) and, beside each, the test that decides whether it
// applies. The order of QEMU_BUILD_RULES is the order of evaluation.

import type { BuildFacts } from './evidence.js';
import { compareVersions, version, type QemuVersion } from './version.js';

export type QemuBehaviour = 'upstream' | 'address-space' | 'none' | 'unknown';
export type QemuBuildRuleId = 'Q1' | 'Q2' | 'Q3' | 'Q4' | 'Q5' | 'Q6' | 'Q7' | 'Q8';

export interface QemuBuildRule {
  readonly rule: QemuBuildRuleId;
  /** §10 "what is known". */
  readonly when: string;
  readonly behaviour: QemuBehaviour;
  /** §10 "basis to report": what a classification by this rule rests on. */
  readonly basis: string;
  /** Why the rule holds, with the sources of qemu-versions.md. */
  readonly evidence: string;
}

export const QEMU_BUILD_RULES: readonly QemuBuildRule[] = [
  {
    rule: 'Q1',
    when: 'arm-smmuv3 properties include accel and msi-gpa',
    behaviour: 'upstream',
    basis: 'property probe',
    evidence:
      'msi-gpa arrives with get_msi_direct_gpa ([PATCH v6 17/33], merged as 5c921b29/3558c853/5ec2700d in pull-target-arm-20260129, merge d21a442a); the probe beats any version rule (qemu-versions.md §5, domain reference §10)',
  },
  {
    rule: 'Q2',
    when: 'arm-smmuv3 properties include accel, not msi-gpa',
    behaviour: 'address-space',
    basis: 'property probe',
    evidence:
      'accel without msi-gpa is a pre-v6 tree of the accel series (v3–v5, get_msi_address_space), as in NVIDIA/QEMU smmuv3-accel.c@081ceaed (qemu-versions.md §4, §5; derived)',
  },
  {
    rule: 'Q3',
    when: 'arm-smmuv3 properties given, no accel',
    behaviour: 'none',
    basis: 'property probe',
    evidence:
      'accel is a property only from [PATCH v6 26/33] (6cc3a621); without it QEMU refuses accel=on: 10.2.x and earlier (qemu-versions.md §2)',
  },
  {
    rule: 'Q4',
    when: 'package names NVIDIA and version < 11.0',
    behaviour: 'address-space',
    basis: 'vendor package (inferred pairing)',
    evidence:
      "NVIDIA's Debian package 1:10.1.0+nvidia1-unstable (2025-10-07, NVIDIA/QEMU debian/changelog@05c03e71) carries .get_msi_address_space = smmuv3_accel_find_msi_as; the pairing of package and file is derived (qemu-versions.md §4, §8.2)",
  },
  {
    rule: 'Q5',
    when: 'version >= 11.0.0, or 10.2.90 to 10.2.99',
    behaviour: 'upstream',
    basis: 'upstream release or rc',
    evidence:
      'accel first shipped in 11.0.0 (2026-04-22), in the same pull as the MSI fix and after it; the 11.0 release candidates report 10.2.90–10.2.94 (rc4 = 10.2.94, da6c4fe) (qemu-versions.md §0, §2, §3)',
  },
  {
    rule: 'Q6',
    when: 'version 10.2.50 to 10.2.89',
    behaviour: 'unknown',
    basis: 'development build',
    evidence:
      '11.0 development snapshots all report 10.2.50, e.g. "QEMU emulator version 10.2.50 (v10.2.0-989-g5cfb672a711)"; only those descending from d21a442a have accel (and then the fix): ask for the property probe (qemu-versions.md §3, §7)',
  },
  {
    rule: 'Q7',
    when: 'version < 10.2.50, no vendor package',
    behaviour: 'none',
    basis: 'upstream release',
    evidence:
      '10.2.x has an emulated-only arm-smmuv3 without accel, 10.1.x and earlier no user-creatable arm-smmuv3; distribution builds seen in the wild (Fedora qemu-10.1.0-8.fc44, Ubuntu 1:10.2.1+ds-1ubuntu3.1, Proxmox pve-qemu-kvm_9.2.0-2) have no accel (qemu-versions.md §1, §4, §7)',
  },
  {
    rule: 'Q8',
    when: 'nothing declared',
    behaviour: 'unknown',
    basis: 'none',
    evidence:
      'domain reference §10: without a probe, a version or a package nothing can be said; also the answer for a declaration no rule above places (such as a version between 10.3 and 11.0, which QEMU never released)',
  },
];

const V10_2_50 = version(10, 2, 50);
const V10_2_90 = version(10, 2, 90);
const V10_2_99 = version(10, 2, 99);
const V11_0_0 = version(11, 0, 0);

const between = (v: QemuVersion, low: QemuVersion, high: QemuVersion) =>
  compareVersions(v, low) >= 0 && compareVersions(v, high) <= 0;

/** A package of a vendor known to have shipped the accel series before 11.0 (§10: only NVIDIA). */
export const isVendorPackage = (pkg: string | null): boolean => pkg !== null && /nvidia/i.test(pkg);

export const RULE_APPLIES: Record<QemuBuildRuleId, (facts: BuildFacts) => boolean> = {
  Q1: ({ smmuProperties: p }) => p?.includes('accel') === true && p.includes('msi-gpa'),
  Q2: ({ smmuProperties: p }) => p?.includes('accel') === true,
  Q3: ({ smmuProperties: p }) => p !== null,
  Q4: ({ package: pkg, version: v }) => isVendorPackage(pkg) && v !== null && compareVersions(v, V11_0_0) < 0,
  Q5: ({ version: v }) => v !== null && (compareVersions(v, V11_0_0) >= 0 || between(v, V10_2_90, V10_2_99)),
  Q6: ({ version: v }) => v !== null && between(v, V10_2_50, version(10, 2, 89)),
  Q7: ({ version: v, package: pkg }) => v !== null && compareVersions(v, V10_2_50) < 0 && !isVendorPackage(pkg),
  // The catch-all: "nothing declared", or nothing a rule above can place.
  Q8: () => true,
};
