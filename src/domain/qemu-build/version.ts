// A QEMU version as the binary reports it (VERSION, QMP query-version): major.minor.micro.
// qemu-versions.md §3 and §5: micro 50 is a development tree, micro 90 and above a release
// candidate of the next minor, below 50 a release or stable update.

export interface QemuVersion {
  readonly major: number;
  readonly minor: number;
  readonly micro: number;
}

/** Largest component accepted. QEMU's are two digits; the bound only keeps nonsense out. */
export const MAX_VERSION_COMPONENT = 9999;

// "X.Y.Z" or "X.Y" (= X.Y.0), decimal without leading zeros, as the contract's `version` field.
const VERSION_TEXT = /^(0|[1-9]\d{0,3})\.(0|[1-9]\d{0,3})(?:\.(0|[1-9]\d{0,3}))?$/;

/** Parses the contract's `version` form. Returns undefined for anything else (the caller names the field). */
export function parseVersion(text: string): QemuVersion | undefined {
  const match = VERSION_TEXT.exec(text);
  if (match === null) return undefined;
  return { major: Number(match[1]), minor: Number(match[2]), micro: Number(match[3] ?? '0') };
}

export function formatVersion(version: QemuVersion): string {
  return `${version.major}.${version.minor}.${version.micro}`;
}

/** Negative, zero or positive as a sorts before, with or after b. */
export function compareVersions(a: QemuVersion, b: QemuVersion): number {
  return a.major - b.major || a.minor - b.minor || a.micro - b.micro;
}

export function sameVersion(a: QemuVersion, b: QemuVersion): boolean {
  return compareVersions(a, b) === 0;
}

export const version = (major: number, minor: number, micro: number): QemuVersion => ({ major, minor, micro });
