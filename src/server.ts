// The service process: configuration from the environment, the database, the HTTP server, and a
// graceful shutdown on SIGTERM/SIGINT (close-with-grace): in-flight requests finish, pending
// records are written, the database is closed; past the shutdown timeout the process exits anyway.

import closeWithGrace from 'close-with-grace';
import { buildApp } from './api/app.js';
import { type Config, ConfigError, loadConfig } from './config.js';
import { createStores } from './db/stores.js';

function configOrExit(): Config | undefined {
  try {
    return loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`doorbell: ${error.message}`);
    process.exitCode = 1;
    return undefined;
  }
}

const config = configOrExit();
if (config !== undefined) {
  const stores = createStores(config.databasePath);
  const app = await buildApp({
    stores,
    logger: { level: config.logLevel },
    corsOrigins: config.corsOrigins,
    publicUrl: config.publicUrl,
  });

  closeWithGrace({ delay: config.shutdownTimeoutMs }, async ({ signal, err }) => {
    if (err !== undefined) app.log.error({ err }, 'stopping after an uncaught error');
    else app.log.info({ signal }, 'shutting down: finishing in-flight requests');
    await app.close();
    await stores.close();
    app.log.info('database closed; bye');
  });

  try {
    const address = await app.listen({ port: config.port, host: config.host });
    app.log.info(
      `doorbell is up: API ${address}/v1, Swagger UI ${address}/docs, OpenAPI ${address}/openapi.json, database ${config.databasePath}`,
    );
  } catch (error) {
    console.error(`doorbell: could not listen on ${config.host}:${config.port}: ${(error as Error).message}`);
    await app.close();
    await stores.close();
    process.exitCode = 1;
  }
}
