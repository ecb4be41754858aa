// Addresses, sizes, MSI data and stream ids are bigint inside the domain and `0x`-hex strings at
// the edge. This module is the one place that converts between the two.

export const U64_MAX = (1n << 64n) - 1n;

/** Matches the contract's hex form: `0x` + 1 to 16 hex digits, any case. */
export const HEX_PATTERN = '^0[xX][0-9a-fA-F]{1,16}$';
const HEX_RE = new RegExp(HEX_PATTERN);

/** Parses the contract's hex form. Returns undefined for anything else (the caller names the field). */
export function parseHex(text: string): bigint | undefined {
  return HEX_RE.test(text) ? BigInt(text.toLowerCase()) : undefined;
}

/** Canonical output form: lowercase, no leading zeros (`0x8090040`). */
export function hex(value: bigint): string {
  return `0x${value.toString(16)}`;
}

/** Fixed-width form (`0x0000000008090040`): keeps every bit and sorts as text in the same order as the number. */
export function hexFixed(value: bigint): string {
  return `0x${value.toString(16).padStart(16, '0')}`;
}

export function isAligned(value: bigint, granule: bigint): boolean {
  return value % granule === 0n;
}

/** True when [base, base + size) stays inside the 64-bit address space. */
export function fitsIn64Bits(base: bigint, size: bigint): boolean {
  return base + size - 1n <= U64_MAX;
}

/** A half-open range check: base <= address < base + size. */
export function inRange(address: bigint, base: bigint, size: bigint): boolean {
  return address >= base && address - base < size;
}

/** A deep copy of a value with every bigint written in the canonical hex form, ready for JSON. */
export function bigintsToHex(value: unknown): unknown {
  if (typeof value === 'bigint') return hex(value);
  if (Array.isArray(value)) return value.map(bigintsToHex);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) out[key] = bigintsToHex(inner);
    return out;
  }
  return value;
}
