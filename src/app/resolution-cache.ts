// Resolving is pure and a VM's state is immutable once folded, so the JSON of a resolution is
// computed once per state and question; repeated questions (an inventory polling its vectors,
// sweeps after no change) reuse it. The memo lives exactly as long as the state object it hangs
// on: a new version is a new object, and the old entries go with the old state.

import { createHash } from 'node:crypto';
import { bigintsToHex } from '../domain/address.js';
import { resolve } from '../domain/resolve/resolve.js';
import type { MsiRequest, Resolution, Semantics } from '../domain/resolve/types.js';
import type { VmState } from '../domain/topology/types.js';

export interface Resolved {
  resolution: Resolution;
  /** The resolution as JSON, canonical hex for every 64-bit value. */
  json: string;
  /** sha256 of the JSON: records that repeat it share one stored body. */
  hash: string;
}

const MAX_ENTRIES_PER_STATE = 4096;
const memo = new WeakMap<VmState, Map<string, Resolved>>();

export function resolveToJson(state: VmState, request: MsiRequest, semantics: Semantics): Resolved {
  const key = `${request.deviceId}|${request.vector ?? ''}|${request.address ?? ''}|${request.data ?? ''}|${semantics}`;
  let entries = memo.get(state);
  const hit = entries?.get(key);
  if (hit !== undefined) return hit;
  const resolution = resolve(state, request, semantics);
  const json = JSON.stringify(bigintsToHex(resolution));
  const resolved = { resolution, json, hash: createHash('sha256').update(json).digest('hex') };
  if (entries === undefined) {
    entries = new Map();
    memo.set(state, entries);
  }
  if (entries.size >= MAX_ENTRIES_PER_STATE) entries.clear();
  entries.set(key, resolved);
  return resolved;
}
