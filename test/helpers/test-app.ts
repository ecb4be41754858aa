// The one way tests get a running service: the real app on a real SQLite file in a temp dir.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import supertest from 'supertest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/api/app';
import { createStores, type Stores } from '../../src/db/stores';

export interface TestApp {
  app: FastifyInstance;
  stores: Stores;
  dbPath: string;
  http: ReturnType<typeof supertest>;
  /** Closes the app and the database, then starts a fresh process-like instance on the same file. */
  restart(): Promise<TestApp>;
  close(): Promise<void>;
}

async function start(dbPath: string, cleanup: () => void): Promise<TestApp> {
  const stores = createStores(dbPath);
  const app = await buildApp({ stores });
  const close = async () => {
    await app.close();
    await stores.close();
  };
  return {
    app,
    stores,
    dbPath,
    http: supertest(app.server),
    restart: async () => {
      await close();
      return start(dbPath, cleanup);
    },
    close: async () => {
      await close();
      cleanup();
    },
  };
}

export async function startTestApp(): Promise<TestApp> {
  const dir = mkdtempSync(join(tmpdir(), 'doorbell-test-'));
  return start(join(dir, 'doorbell.db'), () => rmSync(dir, { recursive: true, force: true }));
}

/** A second service on the same database file, as another process would be. */
export async function startSecondInstance(dbPath: string): Promise<TestApp> {
  return start(dbPath, () => undefined);
}

/** Total number of events in the store, read through the API. */
export async function eventCount(t: TestApp): Promise<number> {
  const response = await t.http.get('/v1/events?limit=1').expect(200);
  return (response.body as { count: number }).count;
}
