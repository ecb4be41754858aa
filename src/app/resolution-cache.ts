// Resolving is pure and a VM's state is immutable once folded, so a resolution is computed once
// per state and question; repeated questions (an inventory polling its vectors, sweeps after no
// change, a fleet sweep whose target behaviour is the VM's own) reuse it. Its JSON (and the hash
// that names it as a stored body) is written the first time someone needs it. The memo lives
// exactly as long as the state object it hangs on: a new version is a new object, and the old
// entries go with the old state.

import { createHash } from 'node:crypto';
import { bigintsToHex } from '../domain/address.js';
import { resolve } from '../domain/resolve/resolve.js';
import type { MsiRequest, Resolution, Semantics } from '../domain/resolve/types.js';
import type { VmState } from '../domain/topology/types.js';

export interface Resolved {
  resolution: Resolution;
  /** The resolution as JSON, canonical hex for every 64-bit value. */
  readonly json: string;
  /** sha256 of the JSON: records that repeat it share one stored body. */
  readonly hash: string;
}

const MAX_ENTRIES_PER_STATE = 4096;
const memo = new WeakMap<VmState, Map<string, Resolved>>();

class LazyResolved implements Resolved {
  private text: string | undefined;
  private digest: string | undefined;
  constructor(readonly resolution: Resolution) {}
  get json(): string {
    this.text ??= JSON.stringify(bigintsToHex(this.resolution));
    return this.text;
  }
  get hash(): string {
    this.digest ??= createHash('sha256').update(this.json).digest('hex');
    return this.digest;
  }
}

/** The resolution under the semantics asked for; without one, under the one the VM's declared build picks. */
const keyOf = (request: MsiRequest, semantics: Semantics | undefined) =>
  `${request.deviceId}|${request.vector ?? ''}|${request.address ?? ''}|${request.data ?? ''}|${semantics ?? ''}`;

export function resolveToJson(state: VmState, request: MsiRequest, semantics?: Semantics): Resolved {
  const key = keyOf(request, semantics);
  let entries = memo.get(state);
  const hit = entries?.get(key);
  if (hit !== undefined) return hit;
  const resolved = new LazyResolved(resolve(state, request, semantics));
  if (entries === undefined) {
    entries = new Map();
    memo.set(state, entries);
  }
  if (entries.size >= MAX_ENTRIES_PER_STATE) entries.clear();
  entries.set(key, resolved);
  return resolved;
}

/** A live route's answer: its JSON text and the bytes sent (UTF-8, ending in a newline). */
export interface AnswerText {
  readonly json: string;
  readonly bytes: Buffer;
}

const MAX_ANSWERS_PER_STATE = 1024;
const answers = new WeakMap<VmState, Map<string, AnswerText>>();

/**
 * An answer built from the state alone (and from `key`, which names everything else it depends
 * on), built and encoded once: GET .../route asked again after no change sends the same bytes
 * without building a 5 KB string and encoding it again (issue 21).
 */
export function answerOnce(state: VmState, key: string, build: () => string): AnswerText {
  let entries = answers.get(state);
  const hit = entries?.get(key);
  if (hit !== undefined) return hit;
  const json = build();
  const answer = { json, bytes: Buffer.from(`${json}\n`) };
  if (entries === undefined) {
    entries = new Map();
    answers.set(state, entries);
  }
  if (entries.size >= MAX_ANSWERS_PER_STATE) entries.clear();
  entries.set(key, answer);
  return answer;
}

/**
 * The resolution if it is already memoized, else computed without keeping it: for a fleet sweep,
 * which needs each resolution once and would otherwise fill the memo of every VM it visits.
 */
export function resolveOnce(state: VmState, request: MsiRequest, semantics?: Semantics): Resolution {
  return memo.get(state)?.get(keyOf(request, semantics))?.resolution ?? resolve(state, request, semantics);
}
