// Which MSI behaviour a declared QEMU build carries (domain reference §10): the facts of the
// declaration (evidence.ts) against the rules Q1–Q8 in order (rules.ts), first one that applies.

import type { DeclaredQemuBuild } from './declaration.js';
import { factsOf, type Conflict, type PackageSource, type VersionSource } from './evidence.js';
import { QEMU_BUILD_RULES, RULE_APPLIES, type QemuBehaviour, type QemuBuildRuleId } from './rules.js';
import { formatVersion } from './version.js';

/** The answer of POST /v1/qemu-builds/classify and a VM's `qemu`. */
export interface QemuBuildClassification {
  /** "X.Y.Z", or null when no form gave one. */
  readonly version: string | null;
  readonly package: string | null;
  readonly smmuProperties: readonly string[] | null;
  readonly behaviour: QemuBehaviour;
  readonly rule: QemuBuildRuleId;
  readonly basis: string;
  /** Which form the version and the package were taken from (evidence.ts has the precedence). */
  readonly sources: { readonly version: VersionSource | null; readonly package: PackageSource | null };
  /** Forms that disagreed with the one used; empty when they all agree. */
  readonly conflicts: readonly Conflict[];
}

/** Classifies a parsed declaration; undefined (or {}) is "nothing declared" (Q8). */
export function classifyQemuBuild(declared?: DeclaredQemuBuild): QemuBuildClassification {
  const facts = factsOf(declared);
  // Q8 always applies, so the search cannot come back empty.
  const rule = QEMU_BUILD_RULES.find((r) => RULE_APPLIES[r.rule](facts))!;
  return {
    version: facts.version === null ? null : formatVersion(facts.version),
    package: facts.package,
    smmuProperties: facts.smmuProperties,
    behaviour: rule.behaviour,
    rule: rule.rule,
    basis: rule.basis,
    sources: { version: facts.versionFrom, package: facts.packageFrom },
    conflicts: facts.conflicts,
  };
}
