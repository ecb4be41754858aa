#!/usr/bin/env node
// doorbell, the command line: reads what the service stored, without the service.
//   doorbell record show ID    the resolution or sweep record ID, exactly as it was answered
//   doorbell db copy --from ./data/doorbell.db --to postgres://...
//                              moves a SQLite database into an empty PostgreSQL database
// The database is DOORBELL_DB (default ./data/doorbell.db), as for the server.

import { existsSync } from 'node:fs';
import { loadConfig } from './config.js';
import { openDatabase } from './db/database.js';
import { ServiceError } from './errors/problem.js';
import { storedSweep } from './app/resolve-msi.js';
import { ResolutionStore } from './db/resolution-store.js';
import { CopyError, copyDatabase } from './db/copy.js';
import { redactUrl } from './db/pg/url.js';
import type { ResolutionPort } from './db/port.js';
import { createStores, isPostgresUrl } from './db/stores.js';

const USAGE = 'usage: doorbell record show ID | doorbell db copy --from SQLITE_FILE --to POSTGRES_URL';

/** A sweep as GET /v1/msi-sweeps/{id} answers it (its first page), or undefined. */
async function sweepOrUndefined(stores: { resolutions: ResolutionPort }, id: string): Promise<string | undefined> {
  try {
    return await storedSweep(stores, id);
  } catch (error) {
    if (error instanceof ServiceError && error.code === 'SWEEP_NOT_FOUND') return undefined;
    throw error;
  }
}

/** doorbell db copy --from FILE --to URL: one line of what was copied, or of why not. */
async function dbCopy(args: string[]): Promise<number> {
  const option = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const from = option('--from');
  const to = option('--to');
  if (from === undefined || to === undefined || args.length !== 4) {
    console.error(USAGE);
    return 2;
  }
  try {
    const report = await copyDatabase(from, to);
    const counts = Object.entries(report.rows)
      .map(([table, n]) => `${n} ${table}`)
      .join(', ');
    console.log(
      `doorbell: copied ${from} to ${redactUrl(to)}: ${counts}; log at position ${report.lastPosition}; checked`,
    );
    return 0;
  } catch (error) {
    if (!(error instanceof CopyError)) throw error;
    console.error(`doorbell: db copy: ${error.message}`);
    return 1;
  }
}

async function main(args: string[]): Promise<number> {
  if (args[0] === 'db' && args[1] === 'copy') return dbCopy(args.slice(2));
  const [noun, verb, id, ...rest] = args;
  if (noun !== 'record' || verb !== 'show' || id === undefined || rest.length > 0) {
    console.error(USAGE);
    return 2;
  }
  const path = loadConfig().databasePath;
  if (isPostgresUrl(path)) {
    const stores = await createStores(path);
    try {
      return await show(stores, id, stores.describe);
    } finally {
      await stores.close();
    }
  }
  // Reading must not leave an empty database behind where the operator mistyped the path.
  if (!existsSync(path)) {
    console.error(`doorbell: no database at ${path} (set DOORBELL_DB)`);
    return 1;
  }
  const database = openDatabase(path);
  try {
    return await show({ resolutions: new ResolutionStore(database.db) }, id, database.path);
  } finally {
    database.close();
  }
}

async function show(stores: { resolutions: ResolutionPort }, id: string, where: string): Promise<number> {
  const text = (await stores.resolutions.findResolution(id)) ?? (await sweepOrUndefined(stores, id));
  if (text === undefined) {
    console.error(`doorbell: no resolution or sweep record ${id} in ${where}`);
    return 1;
  }
  process.stdout.write(`${text}\n`);
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
