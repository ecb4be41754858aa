// The committed OpenAPI document is the one the route schemas generate, and the service serves it.

import { readFileSync } from 'node:fs';
import type { Static } from '@sinclair/typebox';
import Ajv from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateOpenApi, OPENAPI_PATH } from '../../../scripts/openapi-document';
import { ResolutionSchema, SweepSchema } from '../../../src/api/schemas/resolution';
import { startTestApp, type TestApp } from '../../helpers/test-app';
import { acceleratedS10, command, emulatedBaseline } from '../../helpers/topology';

let t: TestApp;

/** An operation of the document, as far as these tests read it. */
interface Operation {
  operationId?: string;
  responses: Record<string, { content?: Record<string, { schema?: object }> }>;
  requestBody?: { content: Record<string, { schema: object; examples?: Record<string, { value: unknown }> }> };
}
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
      expect(operation.responses['400'].content['application/problem+json'].schema.$ref).toBe(
        '#/components/schemas/Problem',
      );
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
      const r = (
        await t.http.post('/v1/vms/doc/msi-resolutions').send({ device: 'hostdev0', vector: 0, semantics }).expect(201)
      ).body;
      expect(validResolution(r), JSON.stringify(validResolution.errors)).toBe(true);
    }
    const sweep = (await t.http.post('/v1/vms/doc/msi-sweeps').send({ semantics: 'pre-fix' }).expect(201)).body;
    expect(validSweep(sweep), JSON.stringify(validSweep.errors)).toBe(true);

    await emulatedBaseline(t, 'doc-emulated');
    const faulted = (
      await t.http
        .post('/v1/vms/doc-emulated/msi-resolutions')
        .send({ device: 'net0', address: '0xffffe040', data: '0x0' })
        .expect(201)
    ).body;
    expect(faulted.fault.type).toBe('F_TRANSLATION');
    expect(validResolution(faulted), JSON.stringify(validResolution.errors)).toBe(true);
  });

  it('gives every operation an operationId, a 2xx schema and, with a body, a full request example', async () => {
    const document = (await t.http.get('/openapi.json').expect(200)).body;
    const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.entries(methods as Record<string, Operation>).map(([method, operation]) => ({
        at: `${method.toUpperCase()} ${path}`,
        operation,
      })),
    );
    expect(operations.length).toBeGreaterThanOrEqual(26);
    const ids = new Set<string>();
    for (const { at, operation } of operations) {
      expect(operation.operationId, at).toMatch(/^[a-z][A-Za-z]+$/);
      ids.add(String(operation.operationId));
      const success = Object.entries(operation.responses).find(([status]) => status.startsWith('2')) as
        | [string, { content: Record<string, { schema?: object }> }]
        | undefined;
      expect(success, `${at}: a 2xx response`).toBeDefined();
      // JSON everywhere, except the Prometheus text of GET /metrics, the pictures (image/svg+xml),
      // the exports (a command line as text/plain, a libvirt domain as application/xml) and the
      // change feed (text/event-stream).
      const content = success?.[1].content;
      const media =
        at === 'GET /metrics' || at === 'GET /v1/vms/{vm}/qemu-cmdline'
          ? 'text/plain'
          : at === 'GET /v1/vms/{vm}/libvirt-xml'
            ? 'application/xml'
            : at === 'GET /v1/events/stream'
              ? 'text/event-stream'
              : content?.['image/svg+xml']
                ? 'image/svg+xml'
                : 'application/json';
      expect(content?.[media]?.schema, `${at}: a 2xx schema`).toBeDefined();
      const body = operation.requestBody?.content['application/json'];
      if (body !== undefined) {
        const examples = Object.values(body.examples ?? {}) as { value: unknown }[];
        expect(examples.length, `${at}: a request example`).toBeGreaterThan(0);
        // A full example: it passes the body schema as the service validates it.
        const ajv = new Ajv({ strict: false });
        for (const { value } of examples)
          expect(
            ajv.validate(body.schema, value),
            `${at}: ${JSON.stringify(value)} ${JSON.stringify(ajv.errors)}`,
          ).toBe(true);
      }
    }
    expect(ids.size, 'operationIds are unique').toBe(operations.length);
  });

  it('documents ETag and Location on the answers that carry them', async () => {
    const document = (await t.http.get('/openapi.json').expect(200)).body;
    expect(document.paths['/v1/vms'].post.responses['201'].headers).toHaveProperty('ETag');
    expect(document.paths['/v1/vms'].post.responses['201'].headers).toHaveProperty('Location');
    expect(document.paths['/v1/vms/{vm}'].get.responses['200'].headers).toHaveProperty('ETag');
    expect(document.paths['/v1/vms/{vm}/msi-resolutions'].post.responses['201'].headers).toHaveProperty('Location');
  });

  it("describes a route as a union discriminated by installed, in route and in every comparison entry (contract v1.3, 'Edges')", async () => {
    const document = (await t.http.get('/openapi.json').expect(200)).body;
    interface Kind {
      type: string;
      required: string[];
      properties: Record<string, { enum?: unknown[] }>;
    }
    const kindsOf = (schema: { oneOf?: Kind[] }) => {
      // Exactly one kind per value of installed: a generated client narrows on it.
      expect(schema.oneOf).toHaveLength(2);
      const [installed, missing] = [true, false].map((value) =>
        schema.oneOf!.find(
          (kind) => kind.properties.installed?.enum?.length === 1 && kind.properties.installed.enum[0] === value,
        ),
      );
      return { installed, missing };
    };
    for (const component of ['Resolution', 'Route']) {
      const properties = document.components.schemas[component].properties;
      for (const [where, schema] of [
        ['route', properties.route],
        ['pre-fix', properties.comparison.properties['pre-fix']],
        ['address-space', properties.comparison.properties['address-space']],
        ['upstream', properties.comparison.properties.upstream],
      ]) {
        const { installed, missing } = kindsOf(schema);
        expect(installed?.required.sort(), `${component} ${where}, installed: true`).toEqual([
          'address',
          'data',
          'devid',
          'flags',
          'installed',
        ]);
        expect(missing?.required.sort(), `${component} ${where}, installed: false`).toEqual([
          'cause',
          'installed',
          'reason',
        ]);
      }
    }
    // A record that breaks the union is refused: an installed route without its address, a
    // missing route with an address and no cause.
    const ajv = new Ajv({ allErrors: true, strict: false });
    const valid = ajv.compile(document.components.schemas.Resolution.properties.route);
    expect(valid({ installed: true, data: '0x0', devid: '0x200', flags: 'KVM_MSI_VALID_DEVID' })).toBe(false);
    expect(valid({ installed: false, address: '0x8090040', reason: 'faulted' })).toBe(false);
    expect(valid({ installed: false, cause: 'fault', reason: 'stage 1 faulted' })).toBe(true);
  });

  it('types the route so that a client reads address only after checking installed (checked by tsc)', () => {
    type KvmRoute = Static<typeof ResolutionSchema>['route'];
    // Were route not a discriminated union, address would be `string | undefined` after the
    // check and cause possibly undefined: neither assignment below would type-check (npm test
    // runs tsc over test/).
    const describe = (route: KvmRoute): string => {
      if (route.installed) {
        const address: string = route.address;
        return `${address} data ${route.data}`;
      }
      const cause: string = route.cause;
      return `none: ${cause}`;
    };
    expect(describe({ installed: false, cause: 'fault', reason: 'F_TRANSLATION' })).toBe('none: fault');
  });

  it('serves Swagger UI at /docs', async () => {
    const response = await t.http.get('/docs/').expect(200);
    expect(response.text).toContain('swagger-ui');
  });
});
