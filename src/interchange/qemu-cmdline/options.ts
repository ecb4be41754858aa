// QEMU's option syntax: `key=value` lists with `,,` for a literal comma (QemuOpts), the JSON form
// of -device, and the value types the import reads (booleans, numbers, sizes, PCI addresses).

import { malformed, type SourceRef } from '../report.js';

/** The options of a -device, -machine, -object or -accel, in order, with the implied first key. */
export type OptionList = [key: string, value: string][];

/** `driver,key=value,...` with `,,` escaping a comma; a bare `key` after the first item means key=on. */
export function keyValues(text: string, impliedKey: string): OptionList {
  const items: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (c === ',' && text[i + 1] === ',') {
      current += ',';
      i += 1;
    } else if (c === ',') {
      items.push(current);
      current = '';
    } else current += c;
  }
  items.push(current);
  return items
    .filter((item, i) => item !== '' || i === 0)
    .map((item, i): [string, string] => {
      const eq = item.indexOf('=');
      if (eq >= 0) return [item.slice(0, eq), item.slice(eq + 1)];
      return i === 0 ? [impliedKey, item] : [item, 'on'];
    });
}

/** -device '{"driver": ..., ...}' (JSON, as libvirt writes it): values become QemuOpts text. */
export function jsonOptions(text: string, at: SourceRef): OptionList {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw malformed(`-device JSON does not parse: ${(error as Error).message}`, at);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw malformed('-device JSON must be an object such as {"driver": "vfio-pci", ...}', at);
  return Object.entries(parsed).map(([key, value]): [string, string] => {
    if (typeof value === 'boolean') return [key, value ? 'on' : 'off'];
    if (typeof value === 'string' || typeof value === 'number') return [key, String(value)];
    throw malformed(`-device JSON property ${key} must be a string, a number or a boolean`, at);
  });
}

const TRUE = new Set(['on', 'yes', 'true', 'y']);
const FALSE = new Set(['off', 'no', 'false', 'n']);

export function parseBool(key: string, value: string, at: SourceRef): boolean {
  const v = value.toLowerCase();
  if (TRUE.has(v)) return true;
  if (FALSE.has(v)) return false;
  throw malformed(`${key}=${value} is not a boolean (on or off)`, at);
}

/** An unsigned integer as QEMU reads one: decimal or 0x hex. */
export function parseUint(key: string, value: string, at: SourceRef, max: number): number {
  const n = /^0x[0-9a-f]+$/i.test(value)
    ? Number.parseInt(value, 16)
    : /^\d+$/.test(value)
      ? Number(value)
      : Number.NaN;
  if (!Number.isSafeInteger(n) || n > max) throw malformed(`${key}=${value} is not an integer from 0 to ${max}`, at);
  return n;
}

/** addr=SS[.F]: slot and function in hex (pci-devfn), 0x allowed. */
export function parsePciAddr(value: string, at: SourceRef): { slot: number; function: number } {
  const m = /^(?:0x)?([0-9a-f]{1,2})(?:\.([0-7]))?$/i.exec(value);
  const slot = m === null ? Number.NaN : Number.parseInt(m[1]!, 16);
  if (m === null || slot > 31)
    throw malformed(`addr=${value} is not a PCI address: slot 0 to 1f in hex, then optionally .function (0-7)`, at);
  return { slot, function: m[2] === undefined ? 0 : Number(m[2]) };
}

const SIZE_UNITS: Record<string, bigint> = {
  '': 1n << 20n,
  B: 1n,
  K: 1n << 10n,
  M: 1n << 20n,
  G: 1n << 30n,
  T: 1n << 40n,
  P: 1n << 50n,
  E: 1n << 60n,
};

/** -m as QEMU reads it: a number with an optional K/M/G/T/P/E suffix; no suffix means MiB. */
export function parseRamSize(value: string, at: SourceRef): bigint {
  const m = /^(\d+)(?:\.(\d+))?([KMGTPEB]?)$/i.exec(value);
  if (m === null) throw malformed(`-m ${value} is not a size such as 16G or 4096 (MiB)`, at);
  const unit = SIZE_UNITS[m[3]!.toUpperCase()]!;
  const fraction = m[2] ?? '';
  const scale = 10n ** BigInt(fraction.length);
  return (BigInt(m[1]! + fraction) * unit) / scale;
}

/** A host PCI address DDDD:BB:DD.F (the domain may be left out, as QEMU allows). */
export function parseHostAddress(value: string, at: SourceRef): string {
  const m = /^(?:([0-9a-f]{1,4}):)?([0-9a-f]{1,2}):([0-9a-f]{1,2})\.([0-7])$/i.exec(value);
  if (m === null) throw malformed(`host=${value} is not a host PCI address (DDDD:BB:DD.F)`, at);
  const pad = (s: string | undefined, n: number) => (s ?? '0').toLowerCase().padStart(n, '0');
  return `${pad(m[1], 4)}:${pad(m[2], 2)}:${pad(m[3], 2)}.${m[4]}`;
}
