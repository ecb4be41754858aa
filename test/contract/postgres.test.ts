// The storage contract on PostgreSQL: two instances on one fresh database, as two nodes would be.
// Skipped, with one line saying so, when no server answers (see test/helpers/pg.ts).

import { createTestDatabase, pgAbsentSuite, pgAvailable, rawClient } from '../helpers/pg';
import { storageContract } from './storage-contract';

if (await pgAvailable()) {
  storageContract('postgres', async () => {
    const database = await createTestDatabase();
    return {
      setting: database.url,
      raw: async (sql) => {
        const client = await rawClient(database.url);
        try {
          await client.query(sql);
        } finally {
          await client.end();
        }
      },
      drop: database.drop,
    };
  });
} else pgAbsentSuite('storage contract on postgres');
