// doorbell record show ID: reads what the service stored, without the service. The database is
// DOORBELL_DB (default ./data/doorbell.db, or a postgres:// URL), as for the server.

import { existsSync } from 'node:fs';
import { storedSweep } from '../app/resolve-msi.js';
import { loadConfig } from '../config.js';
import type { ResolutionPort } from '../db/port.js';
import { createStores, isPostgresUrl } from '../db/index.js';
import { ServiceError } from '../errors/problem.js';
import { CliError, EXIT } from './exit-codes.js';

/** A sweep as GET /v1/msi-sweeps/{id} answers it (its first page), or undefined. */
async function sweepOrUndefined(stores: { resolutions: ResolutionPort }, id: string): Promise<string | undefined> {
  try {
    return await storedSweep(stores, id);
  } catch (error) {
    if (error instanceof ServiceError && error.code === 'SWEEP_NOT_FOUND') return undefined;
    throw error;
  }
}

async function show(stores: { resolutions: ResolutionPort }, id: string, where: string): Promise<number> {
  const text = (await stores.resolutions.findResolution(id)) ?? (await sweepOrUndefined(stores, id));
  if (text === undefined) throw new CliError(EXIT.refused, `no resolution or sweep record ${id} in ${where}`);
  process.stdout.write(`${text}\n`);
  return EXIT.ok;
}

export async function showRecord(id: string): Promise<number> {
  const path = loadConfig().databasePath;
  // Reading must not leave an empty database behind where the operator mistyped the path.
  if (!isPostgresUrl(path) && !existsSync(path))
    throw new CliError(EXIT.refused, `no database at ${path} (set DOORBELL_DB)`);
  const stores = await createStores(path);
  try {
    return await show(stores, id, stores.describe);
  } finally {
    await stores.close();
  }
}
