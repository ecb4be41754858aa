// The edges a client hits before any rule of the domain: URLs, methods, headers, caching, CORS.
// Each answer is what a browser, curl or a generated client sees on the wire.

import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_PARAM_LENGTH } from '../../../src/api/app';
import { startTestApp, type TestApp } from '../../helpers/test-app';
import { command } from '../../helpers/topology';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ corsOrigins: ['https://inventory.example'] });
  await command(t, 'post', '/v1/vms', { id: 'vm1' });
});
afterAll(async () => t.close());

function expectProblem(
  response: { status: number; headers: Record<string, string>; text: string },
  status: number,
  code: string,
) {
  expect(response.status).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(JSON.parse(response.text)).toMatchObject({ status, code });
}

describe('URLs and methods', () => {
  it('a huge offset is a 400 naming /query/offset, not a 500', async () => {
    const response = await t.http.get('/v1/vms?offset=1e20');
    expectProblem(response, 400, 'VALIDATION_FAILED');
    expect(response.body.errors).toContainEqual(expect.objectContaining({ pointer: '/query/offset' }));
  });

  it('limit and offset take 1..1000 and 0..10^9', async () => {
    await t.http.get('/v1/vms?limit=1000&offset=1000000000').expect(200);
    expectProblem(await t.http.get('/v1/vms?limit=0'), 400, 'VALIDATION_FAILED');
    expectProblem(await t.http.get('/v1/vms?offset=1000000001'), 400, 'VALIDATION_FAILED');
  });

  it('an unknown query parameter is a 400 naming it', async () => {
    const response = await t.http.get('/v1/vms?limt=5');
    expectProblem(response, 400, 'VALIDATION_FAILED');
    expect(response.body.errors).toContainEqual(expect.objectContaining({ pointer: '/query/limt' }));
  });

  it('bad percent-encoding in the path is a 400 BAD_URL', async () => {
    expectProblem(await t.http.get('/v1/vms/%ZZ'), 400, 'BAD_URL');
  });

  it(`a path parameter over ${MAX_PARAM_LENGTH} characters is a 414`, async () => {
    expectProblem(await t.http.get(`/v1/vms/${'a'.repeat(200)}`), 414, 'URI_TOO_LONG');
  });

  it('a URL over 8 KiB is a 414', async () => {
    expectProblem(await t.http.get(`/v1/vms?asOf=${'1'.repeat(9000)}`), 414, 'URI_TOO_LONG');
  });

  it('PATCH on a resource is a 405 with Allow', async () => {
    const response = await t.http.patch('/v1/vms/vm1').send({});
    expectProblem(response, 405, 'METHOD_NOT_ALLOWED');
    expect(response.headers.allow).toBe('DELETE, GET, HEAD, OPTIONS');
  });

  it('OPTIONS answers 204 with the methods of the path', async () => {
    const response = await t.http.options('/v1/vms/vm1/buses').expect(204);
    expect(response.headers.allow).toBe('GET, HEAD, POST, OPTIONS');
  });

  it('HEAD answers the headers of GET without a body', async () => {
    const response = await t.http.head('/v1/vms/vm1').expect(200);
    expect(response.headers.etag).toBe('"1"');
    expect(response.text ?? '').toBe('');
  });

  it('a trailing slash names the same resource', async () => {
    expect((await t.http.get('/v1/vms/').expect(200)).body.count).toBe(1);
    expect((await t.http.get('/v1/vms/vm1/').expect(200)).body.id).toBe('vm1');
  });

  it('an unknown path is a 404 ROUTE_NOT_FOUND', async () => {
    expectProblem(await t.http.get('/v1/nothing-here'), 404, 'ROUTE_NOT_FOUND');
  });
});

describe('answers', () => {
  it('every JSON answer ends with a newline, problems included', async () => {
    expect((await t.http.get('/v1/vms/vm1')).text.endsWith('}\n')).toBe(true);
    expect((await t.http.get('/v1/vms/nope')).text.endsWith('}\n')).toBe(true);
  });

  it('If-None-Match with the current ETag is a 304 without a body; another version is a 200', async () => {
    const response = await t.http.get('/v1/vms/vm1').set('If-None-Match', '"1"').expect(304);
    expect(response.text ?? '').toBe('');
    expect(response.headers.etag).toBe('"1"');
    await t.http.get('/v1/vms/vm1').set('If-None-Match', '"0"').expect(200);
    await t.http.get('/v1/vms/vm1').set('If-None-Match', 'W/"1"').expect(304);
  });

  it('CORS: an allowed origin gets the headers and its preflight; another origin gets none', async () => {
    const allowed = await t.http.get('/v1/vms/vm1').set('Origin', 'https://inventory.example').expect(200);
    expect(allowed.headers['access-control-allow-origin']).toBe('https://inventory.example');
    expect(allowed.headers['access-control-expose-headers']).toContain('ETag');
    const preflight = await t.http
      .options('/v1/vms')
      .set('Origin', 'https://inventory.example')
      .set('Access-Control-Request-Method', 'POST')
      .expect(204);
    expect(preflight.headers['access-control-allow-methods']).toContain('POST');
    const other = await t.http.get('/v1/vms/vm1').set('Origin', 'https://attacker.example').expect(200);
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('CORS is off unless origins are configured', async () => {
    const plain = await startTestApp();
    try {
      const response = await plain.http.get('/v1/vms').set('Origin', 'https://inventory.example').expect(200);
      expect(response.headers['access-control-allow-origin']).toBeUndefined();
    } finally {
      await plain.close();
    }
  });
});

describe("Node's own HTTP errors", () => {
  it('20 KiB of headers get a 431 problem+json, on a real socket', async () => {
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = t.app.server.address() as AddressInfo;
    const response = await new Promise<{ status: number; type: string; body: string }>((resolve, reject) => {
      const req = httpRequest(
        { host: '127.0.0.1', port, path: '/v1/vms', headers: { 'x-padding': 'x'.repeat(20 * 1024) } },
        (res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk.toString()));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }),
          );
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(response.status).toBe(431);
    expect(response.type).toMatch(/^application\/problem\+json/);
    expect(JSON.parse(response.body)).toMatchObject({ status: 431, code: 'HEADERS_TOO_LARGE' });
  });
});
