// MSI doorbell resolutions and sweeps: parse, call the application, send what it answers. Stored
// records are sent back as they were stored, byte for byte.

import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { loadVm } from '../../app/load-vm.js';
import { DEFAULT_SWEEP_PAGE, resolveMsi, storedResolution, storedSweep, sweepVm } from '../../app/resolve-msi.js';
import type { Stores } from '../../db/stores.js';
import { idempotencyOf, optionalU64, page, sendAnswer, sendJsonText } from '../http.js';
import { CommandHeaders, errorResponses, ListQuery, Page, Query, VmParams } from '../schemas/common.js';
import { RecordParams, ResolveBody, SweepBody } from '../schemas/resolution.js';

const LocationHeader = { Location: { type: 'string', description: 'where the record can be read again' } };
const created = (schema: 'Resolution' | 'Sweep', description: string) => ({
  201: { description, headers: LocationHeader, content: { 'application/json': { schema: Type.Ref(schema) } } },
  ...errorResponses(400, 404, 415, 422),
});
const found = (schema: 'Resolution' | 'Sweep') => ({
  200: {
    description: `the stored ${schema.toLowerCase()}, byte for byte`,
    content: { 'application/json': { schema: Type.Ref(schema) } },
  },
  ...errorResponses(400, 404),
});

export const resolutionRoutes: FastifyPluginAsyncTypebox<{ stores: Stores }> = async (app, { stores }) => {
  app.post(
    '/v1/vms/:vm/msi-resolutions',
    {
      schema: {
        operationId: 'resolveMsi',
        tags: ['msi'],
        summary: 'Resolve where one MSI lands (all three semantics compared) and keep the record',
        description:
          'A fault is not an error: it is a 201 whose route.installed is false. An unknown device or vector is a 404.',
        params: VmParams,
        body: ResolveBody,
        headers: CommandHeaders,
        response: created('Resolution', 'the resolution (also when it faults: route.installed is false)'),
      },
    },
    async (request, reply) => {
      const b = request.body;
      const answer = await resolveMsi(stores, {
        vmId: request.params.vm,
        msi: { device: b.device, vector: b.vector, address: optionalU64(b.address), data: optionalU64(b.data) },
        semantics: b.semantics ?? 'upstream',
        asOf: b.asOf,
        idempotency: idempotencyOf(request),
      });
      return sendAnswer(reply, answer);
    },
  );

  app.get(
    '/v1/msi-resolutions/:id',
    {
      schema: {
        operationId: 'getResolution',
        tags: ['msi'],
        summary: 'A stored resolution, exactly as it was returned',
        params: RecordParams,
        response: found('Resolution'),
      },
    },
    (request, reply) => sendJsonText(reply, storedResolution(stores, request.params.id)),
  );

  app.get(
    '/v1/vms/:vm/msi-resolutions',
    {
      schema: {
        operationId: 'listVmResolutions',
        tags: ['msi'],
        summary: "A VM's stored resolutions (sweeps' included), oldest first",
        params: VmParams,
        querystring: Query({ ...ListQuery }),
        response: {
          200: {
            description: 'a page of resolutions',
            content: { 'application/json': { schema: Page(Type.Ref('Resolution'), 'a page of resolutions') } },
          },
          ...errorResponses(400, 404),
        },
      },
    },
    (request, reply) => {
      const { vm } = request.params;
      const { limit = 50, offset = 0 } = request.query;
      loadVm(stores, vm);
      const { bodies, total } = stores.resolutions.listResolutions(vm, limit, offset);
      // The stored records are spliced in as they are, so each stays byte for byte what was returned.
      const envelope = JSON.stringify(page([], total, limit, offset, `/v1/vms/${vm}/msi-resolutions`));
      sendJsonText(reply, `${envelope.slice(0, -2)}${bodies.join(',')}]}`);
    },
  );

  app.post(
    '/v1/vms/:vm/msi-sweeps',
    {
      schema: {
        operationId: 'sweepVm',
        tags: ['msi'],
        summary: 'Resolve every programmed vector of the VM and count what is misrouted, missing, lost or blocked',
        params: VmParams,
        body: SweepBody,
        headers: CommandHeaders,
        response: created('Sweep', 'the sweep'),
      },
    },
    async (request, reply) => {
      const answer = await sweepVm(stores, {
        vmId: request.params.vm,
        semantics: request.body.semantics ?? 'upstream',
        asOf: request.body.asOf,
        limit: request.body.limit ?? DEFAULT_SWEEP_PAGE,
        idempotency: idempotencyOf(request),
      });
      return sendAnswer(reply, answer);
    },
  );

  app.get(
    '/v1/msi-sweeps/:id',
    {
      schema: {
        operationId: 'getSweep',
        tags: ['msi'],
        summary: 'A stored sweep, a page of its results at a time (without a query: exactly as it was returned)',
        params: RecordParams,
        querystring: Query({ ...ListQuery }),
        response: found('Sweep'),
      },
    },
    (request, reply) => {
      const { limit = DEFAULT_SWEEP_PAGE, offset = 0 } = request.query;
      sendJsonText(reply, storedSweep(stores, request.params.id, limit, offset));
    },
  );
};
