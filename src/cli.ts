#!/usr/bin/env node
// doorbell, the command line: reads what the service stored, without the service.
//   doorbell record show ID    the resolution or sweep record ID, exactly as it was answered
// The database is DOORBELL_DB (default ./data/doorbell.db), as for the server.

import { existsSync } from 'node:fs';
import { loadConfig } from './config.js';
import { openDatabase } from './db/database.js';
import { ServiceError } from './errors/problem.js';
import { storedSweep } from './app/resolve-msi.js';
import { ResolutionStore } from './db/resolution-store.js';

const USAGE = 'usage: doorbell record show ID';

/** A sweep as GET /v1/msi-sweeps/{id} answers it (its first page), or undefined. */
async function sweepOrUndefined(stores: { resolutions: ResolutionStore }, id: string): Promise<string | undefined> {
  try {
    return await storedSweep(stores, id);
  } catch (error) {
    if (error instanceof ServiceError && error.code === 'SWEEP_NOT_FOUND') return undefined;
    throw error;
  }
}

async function main(args: string[]): Promise<number> {
  const [noun, verb, id, ...rest] = args;
  if (noun !== 'record' || verb !== 'show' || id === undefined || rest.length > 0) {
    console.error(USAGE);
    return 2;
  }
  const path = loadConfig().databasePath;
  // Reading must not leave an empty database behind where the operator mistyped the path.
  if (!existsSync(path)) {
    console.error(`doorbell: no database at ${path} (set DOORBELL_DB)`);
    return 1;
  }
  const database = openDatabase(path);
  try {
    const stores = { resolutions: new ResolutionStore(database.db) };
    const text = (await stores.resolutions.findResolution(id)) ?? (await sweepOrUndefined(stores, id));
    if (text === undefined) {
      console.error(`doorbell: no resolution or sweep record ${id} in ${database.path}`);
      return 1;
    }
    process.stdout.write(`${text}\n`);
    return 0;
  } finally {
    database.close();
  }
}

process.exitCode = await main(process.argv.slice(2));
