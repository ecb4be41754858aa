// The service: configuration from the environment, the SQLite database, the HTTP server, and a
// graceful shutdown (in-flight requests finish, then the database is closed).

import { buildApp } from './api/app';
import { loadConfig } from './config';
import { createStores } from './db/stores';

const config = loadConfig();
const stores = createStores(config.databasePath);
const app = await buildApp({ stores, logger: { level: config.logLevel } });

let closing = false;
async function shutdown(signal: string): Promise<void> {
  if (closing) return;
  closing = true;
  app.log.info({ signal }, 'shutting down: finishing in-flight requests');
  try {
    await app.close();
  } finally {
    await stores.close();
    app.log.info('database closed; bye');
  }
}
process.once('SIGINT', () => void shutdown('SIGINT'));
process.once('SIGTERM', () => void shutdown('SIGTERM'));

try {
  const address = await app.listen({ port: config.port, host: config.host });
  app.log.info(`doorbell is up: API ${address}/v1, Swagger UI ${address}/docs, OpenAPI ${address}/openapi.json, database ${config.databasePath}`);
} catch (error) {
  app.log.error({ err: error }, 'could not start');
  await stores.close();
  process.exitCode = 1;
}
