// The real-world import corpus (libvirt's aarch64 test data, QEMU's documented command lines) is
// read in place from ../shared/corpus beside the repository, never copied into it. A clone with
// nothing beside it skips each corpus suite, which says so in one line (as the PostgreSQL suites
// do), whatever else the environment says (CI=true included). DOORBELL_CORPUS names the folder
// explicitly, and then a missing corpus fails the run instead: .ci/run names ../shared/corpus so.
// (Its README says where each file came from.)

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'vitest';

const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));

export const CORPUS_DIR = process.env.DOORBELL_CORPUS ?? join(repoRoot, '..', 'shared', 'corpus');

export const corpusAvailable = (): boolean => existsSync(join(CORPUS_DIR, 'README.md'));

export const CORPUS_SKIPPED = `Corpus suites skipped: no import corpus at ${CORPUS_DIR} (set DOORBELL_CORPUS, or clone beside shared/)`;

/** A corpus named in DOORBELL_CORPUS (as .ci/run names ../shared/corpus) must be there: the suites run, not skip. */
export const CORPUS_REQUIRED = process.env.DOORBELL_CORPUS !== undefined;

export const CORPUS_MISSING = `The import corpus is required (DOORBELL_CORPUS is set) but ${CORPUS_DIR} holds none`;

/**
 * A suite that reads the corpus: run when it is there; otherwise skipped, its one test named with
 * the reason (the reporter shows that line), or failed when the corpus is required.
 */
export function describeWithCorpus(name: string, suite: () => void): void {
  if (corpusAvailable()) describe(name, suite);
  else if (CORPUS_REQUIRED)
    describe(name, () => {
      it('has the import corpus to read', () => {
        throw new Error(CORPUS_MISSING);
      });
    });
  else describe.skip(name, () => it(CORPUS_SKIPPED, () => undefined));
}

/** Files of one corpus folder ('libvirt' or 'qemu') whose names end with `suffix`, sorted. */
export function corpusFiles(folder: 'libvirt' | 'qemu', suffix: string): string[] {
  if (!corpusAvailable()) return [];
  return readdirSync(join(CORPUS_DIR, folder))
    .filter((name) => name.endsWith(suffix))
    .sort();
}

export const readCorpus = (folder: 'libvirt' | 'qemu', name: string): string =>
  readFileSync(join(CORPUS_DIR, folder, name), 'utf8');
