// Vitest global setup: says once, in one line each, when the PostgreSQL suites will be skipped
// because no server answers (each suite checks for itself, see pg.ts), and when the corpus
// suites will be skipped because ../shared/corpus is not beside the clone (see corpus.ts). When
// DOORBELL_TEST_PG names a server (DOORBELL_CORPUS a corpus), a missing one fails the run.

import { CORPUS_MISSING, CORPUS_REQUIRED, CORPUS_SKIPPED, corpusAvailable } from './corpus';
import { PG_MISSING, PG_REQUIRED, PG_SKIPPED, pgAvailable } from './pg';

export default async function setup(): Promise<void> {
  if (!(await pgAvailable())) {
    if (PG_REQUIRED) throw new Error(PG_MISSING);
    console.log(PG_SKIPPED);
  }
  if (!corpusAvailable()) {
    if (CORPUS_REQUIRED) throw new Error(CORPUS_MISSING);
    console.log(CORPUS_SKIPPED);
  }
}
