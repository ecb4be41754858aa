// The service process: configuration from the environment, the database, the HTTP server, and a
// graceful shutdown on SIGTERM/SIGINT (close-with-grace): in-flight requests finish, pending
// records are written, the database is closed; past the shutdown timeout the process exits anyway.

import closeWithGrace from 'close-with-grace';
import { collectDefaultMetrics } from 'prom-client';
import { buildApp } from './api/app.js';
import { createServices } from './app/services.js';
import { bootstrapAdminToken } from './app/tokens.js';
import { WebhookDeliverer } from './app/webhook-deliverer.js';
import { targetPolicy } from './app/webhook-targets.js';
import { type Config, ConfigError, loadConfig } from './config.js';
import { createStores, type Stores } from './db/index.js';
import { redactSecrets } from './db/pg/url.js';

/** The stores, or undefined after one line saying why they cannot be opened (a URL's password never in it). */
async function storesOrExit(config: Config): Promise<Stores | undefined> {
  try {
    return await createStores(config.databasePath, {
      poolSize: config.pgPoolSize,
      statementTimeoutMs: config.pgStatementTimeoutMs,
    });
  } catch (error) {
    console.error(
      `doorbell: ${redactSecrets(error instanceof Error ? error.message : String(error), config.databasePath)}`,
    );
    return undefined;
  }
}

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
  const stores = await storesOrExit(config);
  if (stores === undefined) process.exit(1);
  const services = createServices(stores);
  collectDefaultMetrics({ register: services.metrics.registry, prefix: 'doorbell_' });
  if (config.auth === 'on') {
    // The first start of a database without tokens: the admin token is shown here, once.
    const bootstrap = await bootstrapAdminToken(stores, config.databasePath);
    if (bootstrap !== undefined)
      console.log(
        [
          'doorbell: first start: created the admin token (shown once; keep it secret):',
          '',
          `    ${bootstrap.token}`,
          '',
          bootstrap.file === undefined
            ? `doorbell: the database is ${stores.engine === 'sqlite' ? 'in memory' : 'not a file'}, so the token is nowhere else.`
            : `doorbell: also written to ${bootstrap.file} (mode 0600). Send it as Authorization: Bearer <token>.`,
        ].join('\n'),
      );
  }
  // The webhook deliverer of this node: started once the server listens (the events it sends
  // carry links to this server), stopped before the database closes.
  let listening = config.publicUrl;
  let warn: (hookId: string, reason: string) => void = () => undefined;
  const policy = targetPolicy(config.webhooks.allow);
  const deliverer = new WebhookDeliverer(services, {
    policy,
    baseUrl: () => listening ?? '',
    timeoutMs: config.webhooks.timeoutMs,
    retryBaseMs: config.webhooks.retryBaseMs,
    retryWindowMs: config.webhooks.retryWindowMs,
    leaseMs: config.webhooks.leaseMs,
    onDisabled: (hookId, reason) => warn(hookId, reason),
  });
  const app = await buildApp({
    services,
    logger: { level: config.logLevel },
    corsOrigins: config.corsOrigins,
    publicUrl: config.publicUrl,
    auth: config.auth,
    allowedHosts: config.allowedHosts,
    listenHost: config.host,
    rateLimit: config.rateLimitPerMinute === 0 ? false : { max: config.rateLimitPerMinute, timeWindowMs: 60_000 },
    requestTimeoutMs: config.requestTimeoutMs,
    maxConnections: config.maxConnections,
    eventStream: config.eventStream,
    webhooks: { policy, secretGraceMs: config.webhooks.secretGraceMs, deliverer },
  });
  warn = (webhook, reason) => app.log.warn({ webhook, reason }, 'webhook disabled');
  if (config.auth === 'off')
    app.log.warn('authentication is off (DOORBELL_AUTH=off): anyone on this machine can write');
  if (config.allowedHosts === undefined && ['0.0.0.0', '::'].includes(config.host))
    app.log.warn(
      `HOST ${config.host} without DOORBELL_ALLOWED_HOSTS: only requests for localhost, 127.0.0.1 and [::1] are served (others get 421)`,
    );

  closeWithGrace({ delay: config.shutdownTimeoutMs }, async ({ signal, err }) => {
    if (err !== undefined) app.log.error({ err }, 'stopping after an uncaught error');
    else app.log.info({ signal }, 'shutting down: finishing in-flight requests');
    await deliverer.stop();
    await app.close();
    await stores.close();
    app.log.info('database closed; bye');
  });

  try {
    const address = await app.listen({ port: config.port, host: config.host });
    listening ??= address;
    deliverer.start();
    app.log.info(
      `doorbell is up: API ${address}/v1, Swagger UI ${address}/docs, OpenAPI ${address}/openapi.json, database ${stores.describe}`,
    );
  } catch (error) {
    console.error(`doorbell: could not listen on ${config.host}:${config.port}: ${(error as Error).message}`);
    await app.close();
    await stores.close();
    process.exitCode = 1;
  }
}
