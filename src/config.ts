// Configuration from the environment, checked once at start-up.

import { DEFAULT_DB_PATH } from './db/database';

export interface Config {
  port: number;
  host: string;
  databasePath: string;
  logLevel: string;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const port = Number(env.PORT ?? 8080);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`PORT must be a TCP port number (0-65535), not ${JSON.stringify(env.PORT)}`);
  const logLevel = env.LOG_LEVEL ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) throw new Error(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, not ${JSON.stringify(logLevel)}`);
  return {
    port,
    host: env.HOST ?? '127.0.0.1',
    databasePath: env.DOORBELL_DB ?? DEFAULT_DB_PATH,
    logLevel,
  };
}
