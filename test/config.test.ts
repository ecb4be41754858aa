// Configuration from the environment: DOORBELL_PUBLIC_URL, the base of absolute links; the event stream settings.

import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config';

describe('DOORBELL_PUBLIC_URL', () => {
  it('is unset by default: links use the host of each request', () => {
    expect(loadConfig({}).publicUrl).toBeUndefined();
  });

  it('keeps scheme, host, port and path, without a trailing slash', () => {
    expect(loadConfig({ DOORBELL_PUBLIC_URL: 'https://doorbell.example/' }).publicUrl).toBe('https://doorbell.example');
    expect(loadConfig({ DOORBELL_PUBLIC_URL: 'http://lb.internal:8443/doorbell/' }).publicUrl).toBe(
      'http://lb.internal:8443/doorbell',
    );
  });

  it('refuses what is no http(s) base: another scheme, a query, credentials, no URL at all', () => {
    for (const bad of [
      'ftp://doorbell.example',
      'https://doorbell.example/?x=1',
      'https://u:p@doorbell.example',
      'doorbell',
    ])
      expect(() => loadConfig({ DOORBELL_PUBLIC_URL: bad }), bad).toThrow(ConfigError);
  });
});

describe('PostgreSQL settings', () => {
  it('have defaults, take whole numbers in range, and refuse anything else with the variable named', () => {
    expect(loadConfig({})).toMatchObject({ pgPoolSize: 10, pgStatementTimeoutMs: 10_000 });
    expect(loadConfig({ DOORBELL_PG_POOL_SIZE: '4', DOORBELL_PG_STATEMENT_TIMEOUT_MS: '2500' })).toMatchObject({
      pgPoolSize: 4,
      pgStatementTimeoutMs: 2500,
    });
    expect(() => loadConfig({ DOORBELL_PG_POOL_SIZE: '1' })).toThrow(/DOORBELL_PG_POOL_SIZE/);
    expect(() => loadConfig({ DOORBELL_PG_STATEMENT_TIMEOUT_MS: 'soon' })).toThrow(/DOORBELL_PG_STATEMENT_TIMEOUT_MS/);
  });
});

describe('DOORBELL_SSE_HEARTBEAT_MS and DOORBELL_SSE_MAX_QUEUED_BYTES', () => {
  it('default to a comment line every 10 s and 4 MiB unread per stream', () => {
    expect(loadConfig({}).eventStream).toEqual({ heartbeatMs: 10_000, maxQueuedBytes: 4 * 1024 * 1024 });
    expect(loadConfig({ DOORBELL_SSE_HEARTBEAT_MS: '2000' }).eventStream.heartbeatMs).toBe(2000);
  });

  it('refuse a heartbeat rarer than the 15 s the contract promises', () => {
    expect(() => loadConfig({ DOORBELL_SSE_HEARTBEAT_MS: '20000' })).toThrow(ConfigError);
    expect(() => loadConfig({ DOORBELL_SSE_MAX_QUEUED_BYTES: '10' })).toThrow(ConfigError);
  });
});
