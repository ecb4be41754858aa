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
