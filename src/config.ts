// Configuration from the environment, checked once at start-up. A bad value is a ConfigError:
// the server prints its message as one line and exits, without a stack.

import { allowEntryError, DEFAULT_WEBHOOK_ALLOW } from './app/webhook-targets.js';
import { DEFAULT_DB_PATH } from './db/sqlite/database.js';

export interface Config {
  port: number;
  host: string;
  databasePath: string;
  logLevel: string;
  /** Origins allowed to call the API from a browser (CORS); empty: CORS off. */
  corsOrigins: string[];
  /** DOORBELL_PUBLIC_URL: the base of absolute links (no trailing slash); else each request's own host. */
  publicUrl?: string;
  /** How long a SIGTERM/SIGINT waits for in-flight requests before the process exits anyway. */
  shutdownTimeoutMs: number;
  /** Bearer tokens required ('on', the default); 'off' only with a loopback HOST. */
  auth: 'on' | 'off';
  /** Host header values served (`name` or `name:port`); undefined: HOST, localhost, 127.0.0.1, [::1] on PORT. */
  allowedHosts: string[] | undefined;
  /** Requests per minute per token (per client address when auth is off); 0: no limit. */
  rateLimitPerMinute: number;
  /** Open connections at most; more are closed at once. */
  maxConnections: number;
  /** A request's headers and body must arrive within this time, or the connection is cut (408). */
  requestTimeoutMs: number;
  /** PostgreSQL: connections in each node's pool (DOORBELL_PG_POOL_SIZE). */
  pgPoolSize: number;
  /** PostgreSQL: how long one statement may run before the server cancels it (DOORBELL_PG_STATEMENT_TIMEOUT_MS). */
  pgStatementTimeoutMs: number;
  /** GET /v1/events/stream: a comment line at least this often, and what may wait unread per stream. */
  eventStream: { heartbeatMs: number; maxQueuedBytes: number };
  /** Webhooks: where they may point (DOORBELL_WEBHOOK_ALLOW), attempt timeout, back-off, lease, secret grace. */
  webhooks: {
    allow: string[];
    timeoutMs: number;
    retryBaseMs: number;
    retryWindowMs: number;
    leaseMs: number;
    secretGraceMs: number;
  };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function integer(
  env: NodeJS.ProcessEnv,
  name: string,
  fallback: number,
  min: number,
  max: number,
  what: string,
): number {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || value < min || value > max)
    throw new ConfigError(`${name} must be ${what} (${min}-${max}), not ${JSON.stringify(text)}`);
  return value;
}

function origins(text: string | undefined): string[] {
  if (text === undefined || text.trim() === '') return [];
  return text.split(',').map((origin) => {
    const trimmed = origin.trim();
    let url: URL;
    try {
      url = new URL(trimmed);
    } catch {
      throw new ConfigError(
        `DOORBELL_CORS_ORIGINS must list origins such as https://inventory.example, not ${JSON.stringify(trimmed)}`,
      );
    }
    if (url.origin !== trimmed)
      throw new ConfigError(
        `DOORBELL_CORS_ORIGINS: ${JSON.stringify(trimmed)} is not an origin (scheme://host[:port], no path); did you mean ${url.origin}?`,
      );
    return trimmed;
  });
}

/** 127.0.0.0/8, ::1 and localhost: addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (bare === 'localhost' || bare === '::1' || bare === '0:0:0:0:0:0:0:1') return true;
  const octets = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(bare);
  return octets?.slice(1).every((o) => Number(o) <= 255) === true;
}

function auth(env: NodeJS.ProcessEnv, host: string): 'on' | 'off' {
  const value = (env.DOORBELL_AUTH ?? 'on').trim().toLowerCase();
  if (value !== 'on' && value !== 'off')
    throw new ConfigError(`DOORBELL_AUTH must be on or off, not ${JSON.stringify(env.DOORBELL_AUTH)}`);
  if (value === 'off' && !isLoopback(host))
    throw new ConfigError(
      `DOORBELL_AUTH=off is accepted only with a loopback HOST (127.0.0.1, ::1 or localhost), not ${JSON.stringify(host)}`,
    );
  return value;
}

const HOST_ENTRY = /^(\[[0-9a-f:.]+\]|[a-z0-9]([a-z0-9.-]*[a-z0-9])?)(:\d{1,5})?$/;

function allowedHosts(text: string | undefined): string[] | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  return text.split(',').map((entry) => {
    const host = entry.trim().toLowerCase();
    if (!HOST_ENTRY.test(host))
      throw new ConfigError(
        `DOORBELL_ALLOWED_HOSTS must list host names such as doorbell.example or doorbell.example:8080, not ${JSON.stringify(entry.trim())}`,
      );
    return host;
  });
}

function publicUrl(text: string | undefined): string | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw new ConfigError(
      `DOORBELL_PUBLIC_URL must be an http(s) URL such as https://doorbell.example, not ${JSON.stringify(text)}`,
    );
  }
  if (
    (url.protocol !== 'http:' && url.protocol !== 'https:') ||
    url.search !== '' ||
    url.hash !== '' ||
    url.username !== ''
  )
    throw new ConfigError(
      `DOORBELL_PUBLIC_URL must be an http(s) URL without credentials, query or fragment, not ${JSON.stringify(text)}`,
    );
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

function webhookAllow(text: string | undefined): string[] {
  if (text === undefined || text.trim() === '') return DEFAULT_WEBHOOK_ALLOW;
  return text.split(',').map((entry) => {
    const trimmed = entry.trim();
    const error = allowEntryError(trimmed);
    if (error !== undefined)
      throw new ConfigError(
        `DOORBELL_WEBHOOK_ALLOW must list host names, addresses or networks (hooks.example, 10.0.0.5, 10.0.0.0/8): ${JSON.stringify(trimmed)} is ${error}`,
      );
    return trimmed;
  });
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const logLevel = env.LOG_LEVEL ?? 'info';
  if (!LOG_LEVELS.includes(logLevel))
    throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, not ${JSON.stringify(logLevel)}`);
  const host = env.HOST ?? '127.0.0.1';
  return {
    port: integer(env, 'PORT', 8080, 0, 65535, 'a TCP port number'),
    host,
    databasePath: env.DOORBELL_DB ?? DEFAULT_DB_PATH,
    logLevel,
    corsOrigins: origins(env.DOORBELL_CORS_ORIGINS),
    publicUrl: publicUrl(env.DOORBELL_PUBLIC_URL),
    shutdownTimeoutMs: integer(env, 'DOORBELL_SHUTDOWN_TIMEOUT_MS', 10_000, 100, 600_000, 'milliseconds'),
    auth: auth(env, host),
    allowedHosts: allowedHosts(env.DOORBELL_ALLOWED_HOSTS),
    rateLimitPerMinute: integer(env, 'DOORBELL_RATE_LIMIT', 1200, 0, 10_000_000, 'requests per minute'),
    maxConnections: integer(env, 'DOORBELL_MAX_CONNECTIONS', 512, 1, 1_000_000, 'a number of connections'),
    requestTimeoutMs: integer(env, 'DOORBELL_REQUEST_TIMEOUT_MS', 10_000, 1000, 600_000, 'milliseconds'),
    pgPoolSize: integer(env, 'DOORBELL_PG_POOL_SIZE', 10, 2, 1000, 'a number of connections'),
    pgStatementTimeoutMs: integer(env, 'DOORBELL_PG_STATEMENT_TIMEOUT_MS', 10_000, 100, 3_600_000, 'milliseconds'),
    eventStream: {
      // The contract asks for a comment line at least every 15 s.
      heartbeatMs: integer(env, 'DOORBELL_SSE_HEARTBEAT_MS', 10_000, 100, 15_000, 'milliseconds'),
      maxQueuedBytes: integer(env, 'DOORBELL_SSE_MAX_QUEUED_BYTES', 4 * 1024 * 1024, 64 * 1024, 1024 ** 3, 'bytes'),
    },
    webhooks: {
      allow: webhookAllow(env.DOORBELL_WEBHOOK_ALLOW),
      timeoutMs: integer(env, 'DOORBELL_WEBHOOK_TIMEOUT_MS', 10_000, 100, 600_000, 'milliseconds'),
      retryBaseMs: integer(env, 'DOORBELL_WEBHOOK_RETRY_BASE_MS', 5_000, 1, 3_600_000, 'milliseconds'),
      retryWindowMs: integer(env, 'DOORBELL_WEBHOOK_RETRY_WINDOW_MS', 86_400_000, 1, 7 * 86_400_000, 'milliseconds'),
      leaseMs: integer(env, 'DOORBELL_WEBHOOK_LEASE_MS', 30_000, 200, 3_600_000, 'milliseconds'),
      secretGraceMs: integer(env, 'DOORBELL_WEBHOOK_SECRET_GRACE_MS', 86_400_000, 0, 30 * 86_400_000, 'milliseconds'),
    },
  };
}
