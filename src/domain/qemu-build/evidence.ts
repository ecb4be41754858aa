// Combines the declared forms into one version, one package and one property list: the facts the
// rules of §10 look at.
//
// When forms disagree, the one closest to the running VM wins, and the disagreement is reported
// (not refused: a binary upgraded on disk under a VM that still runs the old one is an ordinary
// state of a fleet, and exactly the case where the answer must follow the VM):
//   1. queryVersion: §10 "the QMP answer is the only one taken from the running VM";
//   2. version / package: the client's own statement about this VM;
//   3. versionText: "reports the binary on disk, not the running VM's process"
//      (qemu-versions.md §5, caveat);
//   4. the upstream version inside a distribution package string ("1:10.1.0+nvidia1-unstable"
//      -> 10.1.0), used only when no form above gives a version. It is how Debian, Fedora and
//      Proxmox name their builds (qemu-versions.md §4, §7); a git-describe package
//      ("v10.2.0-989-g5cfb672a711") names the last tag, not the version (§3: that binary is
//      10.2.50), so it is never read for a version.
// A package that names only a release series ("Debian 1:7.2+dfsg-7+deb12u18+b3": 7.2) agrees with
// any version of that series: Debian's bookworm package 1:7.2+dfsg-… carries the 7.2.x stable
// updates, and its binary prints "QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)"
// (qemu-system-aarch64 --version on Debian 12). Alone, such a package stands for X.Y.0.
// smmuProperties come from one form only and need no reconciling.

import type { DeclaredQemuBuild } from './declaration.js';
import { formatVersion, sameVersion, type QemuVersion } from './version.js';

export type VersionSource = 'queryVersion' | 'version' | 'versionText' | 'package';
export type PackageSource = 'queryVersion' | 'package' | 'versionText';

export interface Conflict {
  readonly field: 'version' | 'package';
  readonly used: { readonly from: VersionSource | PackageSource; readonly value: string | null };
  readonly ignored: readonly { readonly from: VersionSource | PackageSource; readonly value: string | null }[];
}

export interface BuildFacts {
  readonly version: QemuVersion | null;
  readonly versionFrom: VersionSource | null;
  readonly package: string | null;
  readonly packageFrom: PackageSource | null;
  readonly smmuProperties: readonly string[] | null;
  readonly conflicts: readonly Conflict[];
}

// Debian "1:10.1.0+…" (after the epoch), Fedora "qemu-10.1.0-8.fc44", Proxmox
// "pve-qemu-kvm_9.2.0-2": the upstream version follows the start, a space, ':', '-' or '_'.
// A 'v' before it (git describe) does not qualify.
const PACKAGE_UPSTREAM_VERSION = /(?:^|[\s:_-])(\d{1,4}\.\d{1,4}(?:\.\d{1,4})?)(?=$|[\s+~_-])/;

/** The upstream version a distribution package string carries, if it carries one ("X.Y" reads as X.Y.0). */
export function upstreamVersionOfPackage(pkg: string): QemuVersion | undefined {
  return upstreamOfPackage(pkg)?.version;
}

/** A version as one form gives it; `seriesOnly` when the form named X.Y without a micro. */
interface StatedVersion {
  readonly version: QemuVersion;
  readonly seriesOnly: boolean;
}

function upstreamOfPackage(pkg: string): StatedVersion | undefined {
  const match = PACKAGE_UPSTREAM_VERSION.exec(pkg);
  if (match === null) return undefined;
  const [major, minor, micro] = match[1]!.split('.').map(Number);
  return { version: { major: major!, minor: minor!, micro: micro ?? 0 }, seriesOnly: micro === undefined };
}

const exactly = (version: QemuVersion): StatedVersion => ({ version, seriesOnly: false });

/** Two forms agree when they name one version, or when one names only the series the other is in. */
function agree(a: StatedVersion, b: StatedVersion): boolean {
  if (a.seriesOnly || b.seriesOnly) return a.version.major === b.version.major && a.version.minor === b.version.minor;
  return sameVersion(a.version, b.version);
}

const showStated = (v: StatedVersion) =>
  v.seriesOnly ? `${v.version.major}.${v.version.minor}` : formatVersion(v.version);

export function factsOf(declared: DeclaredQemuBuild = {}): BuildFacts {
  const packages: Candidate<PackageSource, string | null>[] = [];
  if (declared.queryVersion?.package !== undefined)
    packages.push({ from: 'queryVersion', value: declared.queryVersion.package });
  if (declared.package !== undefined) packages.push({ from: 'package', value: declared.package });
  if (declared.versionText !== undefined) packages.push({ from: 'versionText', value: declared.versionText.package });
  const pkg = pick(
    'package',
    packages,
    (a, b) => a === b,
    (v) => v,
  );

  const versions: Candidate<VersionSource, StatedVersion>[] = [];
  if (declared.queryVersion !== undefined)
    versions.push({ from: 'queryVersion', value: exactly(declared.queryVersion.version) });
  if (declared.version !== undefined) versions.push({ from: 'version', value: exactly(declared.version) });
  if (declared.versionText !== undefined)
    versions.push({ from: 'versionText', value: exactly(declared.versionText.version) });
  const packageVersion = pkg.used?.value == null ? undefined : upstreamOfPackage(pkg.used.value);
  if (packageVersion !== undefined) versions.push({ from: 'package', value: packageVersion });
  const version = pick('version', versions, agree, showStated);

  return {
    version: version.used?.value.version ?? null,
    versionFrom: version.used?.from ?? null,
    package: pkg.used?.value ?? null,
    packageFrom: pkg.used?.from ?? null,
    smmuProperties: declared.smmuProperties ?? null,
    conflicts: [version.conflict, pkg.conflict].filter((c): c is Conflict => c !== undefined),
  };
}

interface Candidate<S, V> {
  from: S;
  value: V;
}

/** The first candidate (they come in order of precedence), and the others that disagree with it. */
function pick<S extends VersionSource | PackageSource, V>(
  field: Conflict['field'],
  candidates: Candidate<S, V>[],
  same: (a: V, b: V) => boolean,
  show: (v: V) => string | null,
) {
  const [used, ...others] = candidates;
  if (used === undefined) return { used: undefined, conflict: undefined };
  const ignored = others.filter((c) => !same(c.value, used.value));
  const conflict: Conflict | undefined =
    ignored.length === 0
      ? undefined
      : {
          field,
          used: { from: used.from, value: show(used.value) },
          ignored: ignored.map((c) => ({ from: c.from, value: show(c.value) })),
        };
  return { used, conflict };
}
