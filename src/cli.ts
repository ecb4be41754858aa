#!/usr/bin/env node
// doorbell, the command line: reads what the service stored, without the service.
//   doorbell record show ID    the resolution or sweep record ID, exactly as it was answered
// The database is DOORBELL_DB (default ./data/doorbell.db), as for the server.

import { loadConfig } from './config.js';
import { openDatabase } from './db/database.js';
import { ResolutionStore } from './db/resolution-store.js';

const USAGE = 'usage: doorbell record show ID';

function main(args: string[]): number {
  const [noun, verb, id, ...rest] = args;
  if (noun !== 'record' || verb !== 'show' || id === undefined || rest.length > 0) {
    console.error(USAGE);
    return 2;
  }
  const database = openDatabase(loadConfig().databasePath);
  try {
    const records = new ResolutionStore(database.db);
    const text = records.findResolution(id) ?? records.findSweep(id);
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

process.exitCode = main(process.argv.slice(2));
