// The committed OpenAPI document is the one the route schemas generate, and the service serves it.

import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateOpenApi, OPENAPI_PATH } from '../../scripts/openapi-document';
import { startTestApp, type TestApp } from '../helpers/test-app';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => t.close());

describe('OpenAPI', () => {
  it('committed openapi/openapi.json matches the route schemas (run `npm run openapi` after changing a route)', async () => {
    expect(readFileSync(OPENAPI_PATH, 'utf8')).toBe(await generateOpenApi());
  });

  it('is served at /openapi.json with every route of the contract and problem responses', async () => {
    const document = (await t.http.get('/openapi.json').expect(200)).body;
    const expected: [string, string][] = [
      ['post', '/v1/vms'],
      ['get', '/v1/vms'],
      ['get', '/v1/vms/{vm}'],
      ['post', '/v1/vms/{vm}/buses'],
      ['post', '/v1/vms/{vm}/smmus'],
      ['put', '/v1/vms/{vm}/smmus/{smmu}/accel'],
      ['put', '/v1/vms/{vm}/smmus/{smmu}/guest-state'],
      ['post', '/v1/vms/{vm}/devices'],
      ['delete', '/v1/vms/{vm}/devices/{dev}'],
      ['put', '/v1/vms/{vm}/devices/{dev}/ste'],
      ['post', '/v1/vms/{vm}/devices/{dev}/mappings'],
      ['delete', '/v1/vms/{vm}/devices/{dev}/mappings/{stage}/{iova}'],
      ['put', '/v1/vms/{vm}/devices/{dev}/msi-vectors/{n}'],
      ['get', '/v1/vms/{vm}/events'],
      ['get', '/v1/events'],
    ];
    for (const [method, path] of expected) {
      const operation = document.paths[path]?.[method];
      expect(operation, `${method.toUpperCase()} ${path}`).toBeDefined();
      expect(operation.responses['400'].content['application/problem+json'].schema.$ref).toBe('#/components/schemas/Problem');
    }
  });

  it('serves Swagger UI at /docs', async () => {
    const response = await t.http.get('/docs/').expect(200);
    expect(response.text).toContain('swagger-ui');
  });
});
