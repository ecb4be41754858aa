// doorbell record show ID: reads what the service stored, without the service. The database is
// DOORBELL_DB (default ./data/doorbell.db), as for the server.

import { existsSync } from 'node:fs';
import { storedSweep } from '../app/resolve-msi.js';
import { loadConfig } from '../config.js';
import { openDatabase } from '../db/database.js';
import { ResolutionStore } from '../db/resolution-store.js';
import { ServiceError } from '../errors/problem.js';
import { CliError, EXIT } from './exit-codes.js';

/** A sweep as GET /v1/msi-sweeps/{id} answers it (its first page), or undefined. */
function sweepOrUndefined(stores: { resolutions: ResolutionStore }, id: string): string | undefined {
  try {
    return storedSweep(stores, id);
  } catch (error) {
    if (error instanceof ServiceError && error.code === 'SWEEP_NOT_FOUND') return undefined;
    throw error;
  }
}

export function showRecord(id: string): number {
  const path = loadConfig().databasePath;
  // Reading must not leave an empty database behind where the operator mistyped the path.
  if (!existsSync(path)) throw new CliError(EXIT.refused, `no database at ${path} (set DOORBELL_DB)`);
  const database = openDatabase(path);
  try {
    const stores = { resolutions: new ResolutionStore(database.db) };
    const text = stores.resolutions.findResolution(id) ?? sweepOrUndefined(stores, id);
    if (text === undefined) throw new CliError(EXIT.refused, `no resolution or sweep record ${id} in ${database.path}`);
    process.stdout.write(`${text}\n`);
    return EXIT.ok;
  } finally {
    database.close();
  }
}
