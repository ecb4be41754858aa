// The storage contract on SQLite: two instances on one file, as two processes would be.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { storageContract } from './storage-contract';

storageContract('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'doorbell-contract-'));
  const setting = join(dir, 'doorbell.db');
  return {
    setting,
    raw: async (sql) => {
      const db = new Database(setting);
      try {
        db.exec(sql);
      } finally {
        db.close();
      }
    },
    drop: async () => rmSync(dir, { recursive: true, force: true }),
  };
});
