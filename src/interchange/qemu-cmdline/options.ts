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

/**
 * The keys of a JSON object's top level, in order, duplicates kept (JSON.parse keeps only the
 * last one, while QEMU's parser refuses the text: qobject/json-parser.c parse_pair, "duplicate key").
 */
function topLevelKeys(text: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (c === '{' || c === '[') depth += 1;
    else if (c === '}' || c === ']') depth -= 1;
    else if (c === '"') {
      let end = i + 1;
      while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      const after = text.slice(end + 1).trimStart();
      if (depth === 1 && after.startsWith(':')) keys.push(JSON.parse(text.slice(i, end + 1)) as string);
      i = end;
    }
  }
  return keys;
}

/**
 * A JSON `addr` is a number only as the devfn itself (slot << 3 | function), -1 for "any": the
 * integer branch of set_pci_devfn (hw/core/qdev-properties-system.c). Written back as slot.function.
 */
function jsonDevfn(value: number, at: SourceRef): string {
  if (!Number.isInteger(value) || value < -1 || value > 255)
    throw malformed(`addr=${value}: a JSON addr number is a devfn, a value between -1 and 255`, at);
  return value === -1 ? '' : `${(value >> 3).toString(16)}.${value & 7}`;
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
  const keys = topLevelKeys(text);
  const duplicate = keys.find((key, i) => keys.indexOf(key) !== i);
  if (duplicate !== undefined)
    throw malformed(`JSON parse error, duplicate key (QEMU refuses the option): "${duplicate}" appears twice`, at);
  const list: OptionList = [];
  for (const [key, value] of Object.entries(parsed)) {
    if (key === 'addr' && typeof value === 'number') {
      const addr = jsonDevfn(value, at);
      if (addr !== '') list.push([key, addr]);
    } else if (typeof value === 'boolean') list.push([key, value ? 'on' : 'off']);
    else if (typeof value === 'string' || typeof value === 'number') list.push([key, String(value)]);
    else throw malformed(`-device JSON property ${key} must be a string, a number or a boolean`, at);
  }
  return list;
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

/**
 * addr= as QEMU's pci-devfn property reads a string (set_pci_devfn, hw/core/qdev-properties-system.c):
 * slot, then optionally `.` and function, each by strtoul(..., 16), so hex with or without 0x
 * (libvirt writes `0x1.0x1`); slot at most 0x1f, function at most 7, nothing after.
 */
export function parsePciAddr(value: string, at: SourceRef): { slot: number; function: number } {
  const hex = '\\s*\\+?(?:0x)?([0-9a-f]+)';
  const m = new RegExp(`^${hex}(?:\\.${hex})?$`, 'i').exec(value);
  const slot = m === null ? Number.NaN : Number.parseInt(m[1]!, 16);
  const fn = m?.[2] === undefined ? 0 : Number.parseInt(m[2], 16);
  if (m === null || slot > 31 || fn > 7)
    throw malformed(
      `addr=${value} is not a PCI address: slot 0 to 1f, then optionally .function 0 to 7, each in hex with or without 0x`,
      at,
    );
  return { slot, function: fn };
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
