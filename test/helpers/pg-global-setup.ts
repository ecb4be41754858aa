// Vitest global setup: says once, in one line, when the PostgreSQL suites will be skipped
// because no server answers (each suite checks for itself, see pg.ts).

import { PG_SKIPPED, pgAvailable } from './pg';

export default async function setup(): Promise<void> {
  if (!(await pgAvailable())) console.log(PG_SKIPPED);
}
