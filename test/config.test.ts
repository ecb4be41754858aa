// Configuration from the environment: DOORBELL_PUBLIC_URL, the base of absolute links.

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
