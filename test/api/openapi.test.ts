// The committed OpenAPI document is the one the route schemas generate, and the service serves it.

import { readFileSync } from 'node:fs';
import Ajv from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateOpenApi, OPENAPI_PATH } from '../../scripts/openapi-document';
import { ResolutionSchema, SweepSchema } from '../../src/api/schemas/resolution';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { acceleratedS10, command, emulatedBaseline } from '../helpers/topology';

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
      ['post', '/v1/vms/{vm}/msi-resolutions'],
      ['get', '/v1/vms/{vm}/msi-resolutions'],
      ['get', '/v1/msi-resolutions/{id}'],
      ['post', '/v1/vms/{vm}/msi-sweeps'],
      ['get', '/v1/msi-sweeps/{id}'],
    ];
    for (const [method, path] of expected) {
      const operation = document.paths[path]?.[method];
      expect(operation, `${method.toUpperCase()} ${path}`).toBeDefined();
      expect(operation.responses['400'].content['application/problem+json'].schema.$ref).toBe('#/components/schemas/Problem');
    }
  });

  it('describes resolutions and sweeps as the service actually sends them', async () => {
    const ajv = new Ajv({ allErrors: true, strict: false });
    ajv.addSchema(ResolutionSchema);
    const validResolution = ajv.getSchema('Resolution')!;
    const validSweep = ajv.compile(SweepSchema);
    await acceleratedS10(t, 'doc');
    await command(t, 'put', '/v1/vms/doc/devices/hostdev0/msi-vectors/1', { address: '0x08090042', data: '0x1' });
    for (const semantics of ['upstream', 'pre-fix', 'address-space']) {
      const r = (await t.http.post('/v1/vms/doc/msi-resolutions').send({ device: 'hostdev0', vector: 0, semantics }).expect(201)).body;
      expect(validResolution(r), JSON.stringify(validResolution.errors)).toBe(true);
    }
    const sweep = (await t.http.post('/v1/vms/doc/msi-sweeps').send({ semantics: 'pre-fix' }).expect(201)).body;
    expect(validSweep(sweep), JSON.stringify(validSweep.errors)).toBe(true);

    await emulatedBaseline(t, 'doc-emulated');
    const faulted = (await t.http.post('/v1/vms/doc-emulated/msi-resolutions').send({ device: 'net0', address: '0xffffe040', data: '0x0' }).expect(201)).body;
    expect(faulted.fault.type).toBe('F_TRANSLATION');
    expect(validResolution(faulted), JSON.stringify(validResolution.errors)).toBe(true);
  });

  it('serves Swagger UI at /docs', async () => {
    const response = await t.http.get('/docs/').expect(200);
    expect(response.text).toContain('swagger-ui');
  });
});
