// The real-world import corpus (libvirt's aarch64 test data, QEMU's documented command lines) is
// read in place from ../shared/corpus beside the repository, never copied into it. A clone with
// nothing beside it skips the corpus suites; the global setup says so in one line.
// DOORBELL_CORPUS names another folder (its README says where each file came from).

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));

export const CORPUS_DIR = process.env.DOORBELL_CORPUS ?? join(repoRoot, '..', 'shared', 'corpus');

export const corpusAvailable = (): boolean => existsSync(join(CORPUS_DIR, 'README.md'));

export const CORPUS_SKIPPED = `Corpus suites skipped: no import corpus at ${CORPUS_DIR} (set DOORBELL_CORPUS, or clone beside shared/)`;

/** Files of one corpus folder ('libvirt' or 'qemu') whose names end with `suffix`, sorted. */
export function corpusFiles(folder: 'libvirt' | 'qemu', suffix: string): string[] {
  if (!corpusAvailable()) return [];
  return readdirSync(join(CORPUS_DIR, folder))
    .filter((name) => name.endsWith(suffix))
    .sort();
}

export const readCorpus = (folder: 'libvirt' | 'qemu', name: string): string =>
  readFileSync(join(CORPUS_DIR, folder, name), 'utf8');
