// How resolution bodies are stored: deflate-raw with a preset dictionary of typical resolutions
// (dictionary-d1.mjs). A stored body names its codec, so that a later dictionary can be added
// without making older bodies unreadable. Plain JavaScript: the writer thread loads it too.

import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { DICTIONARY_D1 } from './dictionary-d1.mjs';

export const RECORD_CODEC = 'deflate-raw:d1';

const DICTIONARIES = { 'deflate-raw:d1': Buffer.from(DICTIONARY_D1) };

/** @param {string} text @returns {Buffer} */
export function pack(text) {
  return deflateRawSync(text, { level: 9, dictionary: DICTIONARIES[RECORD_CODEC] });
}

/** @param {string} codec @param {Uint8Array} packed @returns {string} */
export function unpack(codec, packed) {
  const dictionary = DICTIONARIES[/** @type {keyof typeof DICTIONARIES} */ (codec)];
  if (dictionary === undefined) throw new Error(`unknown record codec ${codec}`);
  return inflateRawSync(packed, { dictionary }).toString('utf8');
}
