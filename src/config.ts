// Configuration from the environment, checked once at start-up. A bad value is a ConfigError:
// the server prints its message as one line and exits, without a stack.

import { DEFAULT_DB_PATH } from './db/database.js';

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

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const logLevel = env.LOG_LEVEL ?? 'info';
  if (!LOG_LEVELS.includes(logLevel))
    throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, not ${JSON.stringify(logLevel)}`);
  return {
    port: integer(env, 'PORT', 8080, 0, 65535, 'a TCP port number'),
    host: env.HOST ?? '127.0.0.1',
    databasePath: env.DOORBELL_DB ?? DEFAULT_DB_PATH,
    logLevel,
    corsOrigins: origins(env.DOORBELL_CORS_ORIGINS),
    publicUrl: publicUrl(env.DOORBELL_PUBLIC_URL),
    shutdownTimeoutMs: integer(env, 'DOORBELL_SHUTDOWN_TIMEOUT_MS', 10_000, 100, 600_000, 'milliseconds'),
  };
}
