// Malformed input of every kind gets a 4xx application/problem+json naming what is wrong, and
// appends nothing. Never a 500.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BODY_LIMIT } from '../../../src/api/app';
import { eventCount, startTestApp, type TestApp } from '../../helpers/test-app';
import { emulatedBaseline } from '../../helpers/topology';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
  await emulatedBaseline(t, 'vm1');
});
afterAll(async () => t.close());

interface BadRequest {
  what: string;
  method: 'get' | 'post' | 'put' | 'delete';
  path: string;
  body?: unknown;
  raw?: { contentType: string; text: string };
  status: number;
  code: string;
  pointer?: string;
  detail?: RegExp;
}

const vector = '/v1/vms/vm1/devices/net0/msi-vectors/0';
const mappings = '/v1/vms/vm1/devices/net0/mappings';

const cases: BadRequest[] = [
  {
    what: 'an address as a JSON number',
    method: 'put',
    path: vector,
    body: { address: 134807616, data: '0x0' },
    status: 400,
    code: 'VALIDATION_FAILED',
    pointer: '/address',
    detail: /never a JSON number/,
  },
  {
    what: 'an address of 17 hex digits',
    method: 'put',
    path: vector,
    body: { address: '0x10000000000000000', data: '0x0' },
    status: 400,
    code: 'VALIDATION_FAILED',
    pointer: '/address',
  },
  {
    what: 'an address without 0x',
    method: 'put',
    path: vector,
    body: { address: '8090040', data: '0x0' },
    status: 400,
    code: 'VALIDATION_FAILED',
    pointer: '/address',
  },
  {
    what: 'a missing field',
    method: 'put',
    path: vector,
    body: { address: '0x8090040' },
    status: 400,
    code: 'VALIDATION_FAILED',
    pointer: '/data',
    detail: /data is required/,
  },
  {
    what: 'an unknown field',
    method: 'put',
    path: vector,
    body: { address: '0x8090040', data: '0x0', adress: '0x1' },
    status: 400,
    code: 'VALIDATION_FAILED',
    pointer: '/adress',
    detail: /not a known field/,
  },
  {
    what: 'an unknown nested field',
    method: 'put',
    path: '/v1/vms/vm1/devices/net0/ste',
    body: { config: 's1', cd: { tosz: 25 } },
    status: 400,
    code: 'VALIDATION_FAILED',
    pointer: '/cd/tosz',
  },
  {
    what: 'a wrong enum value',
    method: 'put',
    path: '/v1/vms/vm1/devices/net0/ste',
    body: { config: 'translate' },
    status: 400,
    code: 'VALIDATION_FAILED',
    pointer: '/config',
  },
  {
    what: 'a stage given as a string',
    method: 'post',
    path: mappings,
    body: { stage: '1', iova: '0x1000', output: '0x1000', size: '0x1000' },
    status: 400,
    code: 'VALIDATION_FAILED',
    pointer: '/stage',
  },
  {
    what: 'a slot out of range',
    method: 'post',
    path: '/v1/vms/vm1/devices',
    body: { id: 'n2', driver: 'virtio-net-pci', bus: 'pcie.0', slot: 32 },
    status: 400,
    code: 'VALIDATION_FAILED',
    pointer: '/slot',
  },
  {
    what: 'an id with a space',
    method: 'post',
    path: '/v1/vms',
    body: { id: 'my vm' },
    status: 400,
    code: 'VALIDATION_FAILED',
    pointer: '/id',
  },
  {
    what: 'a body that is an array',
    method: 'post',
    path: '/v1/vms',
    body: [{ id: 'x' }],
    status: 400,
    code: 'VALIDATION_FAILED',
  },
  {
    what: 'an empty guest-state change',
    method: 'put',
    path: '/v1/vms/vm1/smmus/smmuv3.0/guest-state',
    body: {},
    status: 400,
    code: 'VALIDATION_FAILED',
  },
  {
    what: 'a vector number past the MSI-X table',
    method: 'put',
    path: '/v1/vms/vm1/devices/net0/msi-vectors/2048',
    body: { address: '0x8090040', data: '0x0' },
    status: 400,
    code: 'VALIDATION_FAILED',
  },
  {
    what: 'a stage in the path that is not 1 or 2',
    method: 'delete',
    path: `${mappings}/3/0x1000`,
    status: 400,
    code: 'VALIDATION_FAILED',
  },
  {
    what: 'an iova in the path that is not hex',
    method: 'delete',
    path: `${mappings}/1/4096`,
    status: 400,
    code: 'VALIDATION_FAILED',
  },
  {
    what: 'an asOf that is not a number',
    method: 'get',
    path: '/v1/vms/vm1?asOf=latest',
    status: 400,
    code: 'VALIDATION_FAILED',
  },
  {
    what: 'an asOf past the last version',
    method: 'get',
    path: '/v1/vms/vm1?asOf=999',
    status: 404,
    code: 'VERSION_NOT_FOUND',
    pointer: '/asOf',
  },
  { what: 'a limit above 1000', method: 'get', path: '/v1/events?limit=1001', status: 400, code: 'VALIDATION_FAILED' },
  { what: 'a negative offset', method: 'get', path: '/v1/vms?offset=-1', status: 400, code: 'VALIDATION_FAILED' },
  {
    what: 'malformed JSON',
    method: 'post',
    path: '/v1/vms',
    raw: { contentType: 'application/json', text: '{"id": "vm9",' },
    status: 400,
    code: 'MALFORMED_JSON',
  },
  {
    what: 'an empty JSON body',
    method: 'post',
    path: '/v1/vms',
    raw: { contentType: 'application/json', text: '' },
    status: 400,
    code: 'EMPTY_JSON_BODY',
  },
  {
    what: 'a wrong content type',
    method: 'post',
    path: '/v1/vms',
    raw: { contentType: 'text/plain', text: 'id=vm9' },
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
  },
  {
    what: 'a form-encoded body',
    method: 'post',
    path: '/v1/vms',
    raw: { contentType: 'application/x-www-form-urlencoded', text: 'id=vm9' },
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
  },
  {
    what: 'a body over the limit',
    method: 'post',
    path: '/v1/vms',
    raw: { contentType: 'application/json', text: JSON.stringify({ id: 'vm9', pad: 'x'.repeat(BODY_LIMIT) }) },
    status: 413,
    code: 'BODY_TOO_LARGE',
  },
  { what: 'an unknown route', method: 'get', path: '/v1/vm', status: 404, code: 'ROUTE_NOT_FOUND' },
  {
    what: 'a method the route does not have',
    method: 'delete',
    path: '/v1/vms',
    status: 405,
    code: 'METHOD_NOT_ALLOWED',
  },
  { what: 'an unknown VM', method: 'get', path: '/v1/vms/nope', status: 404, code: 'VM_NOT_FOUND' },
  { what: 'an unknown device', method: 'get', path: '/v1/vms/vm1/devices/nope', status: 404, code: 'DEVICE_NOT_FOUND' },
];

describe('malformed input', () => {
  for (const c of cases) {
    it(`${c.what} -> ${c.status} ${c.code}`, async () => {
      const before = await eventCount(t);
      let request = t.http[c.method](c.path);
      if (c.raw !== undefined) request = request.set('content-type', c.raw.contentType).send(c.raw.text);
      else if (c.body !== undefined) request = request.send(c.body as object);
      const response = await request;

      expect(response.status).toBe(c.status);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      const problem = JSON.parse(response.text);
      expect(problem).toMatchObject({
        status: c.status,
        code: c.code,
        type: expect.stringMatching(/^urn:doorbell:problem:/),
        title: expect.any(String),
        detail: expect.any(String),
      });
      if (c.pointer !== undefined)
        expect(problem.errors).toContainEqual(expect.objectContaining({ pointer: c.pointer }));
      if (c.detail !== undefined) expect(problem.detail).toMatch(c.detail);
      expect(await eventCount(t)).toBe(before);
    });
  }

  it('lists every invalid field at once', async () => {
    const response = await t.http.post(mappings).send({ stage: 3, iova: 4096, extra: true }).expect(400);
    const pointers = response.body.errors.map((e: { pointer: string }) => e.pointer);
    expect(pointers).toEqual(expect.arrayContaining(['/stage', '/iova', '/output', '/size', '/extra']));
  });
});
