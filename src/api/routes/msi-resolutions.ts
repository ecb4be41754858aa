// MSI doorbell resolutions and sweeps: parse, call the application, send what it answers. Stored
// records are sent back as they were stored, byte for byte.

import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { loadVm } from '../../app/load-vm.js';
import { pictureUrls } from '../../app/links.js';
import { DEFAULT_SWEEP_PAGE, resolveMsi, storedResolution, storedSweep, sweepVm } from '../../app/resolve-msi.js';
import { resolutionPicture } from '../../pictures/resolution-picture.js';
import type { ResolutionView } from '../../pictures/resolution-view.js';
import { baseUrlOf } from '../links.js';
import { listLink } from '../lists.js';
import { idempotencyOf, optionalU64, page, sendAnswer, sendJsonText, sendSvg, type RouteOptions } from '../http.js';
import { svgResponses } from '../schemas/picture.js';
import { CommandHeaders, errorResponses, ListQuery, Page, Query, VmParams } from '../schemas/common.js';
import { RecordParams, ResolveBody, SweepBody } from '../schemas/resolution.js';

const LocationHeader = { Location: { type: 'string', description: 'where the record can be read again' } };
const created = (schema: 'Resolution' | 'Sweep', description: string) => ({
  201: { description, headers: LocationHeader, content: { 'application/json': { schema: Type.Ref(schema) } } },
  ...errorResponses(400, 404, 415, 422),
});
const found = (schema: 'Resolution' | 'Sweep', headers?: object) => ({
  200: {
    description: `the stored ${schema.toLowerCase()}, byte for byte`,
    headers,
    content: { 'application/json': { schema: Type.Ref(schema) } },
  },
  ...errorResponses(400, 404),
});

const PictureLink = {
  Link: {
    type: 'string',
    description:
      '<...svg>; rel="alternate"; type="image/svg+xml": the picture, also for records stored before they carried `picture`',
  },
};

export const resolutionRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { stores, publicUrl }) => {
  app.post(
    '/v1/vms/:vm/msi-resolutions',
    {
      schema: {
        operationId: 'resolveMsi',
        tags: ['msi'],
        summary: 'Resolve where one MSI lands (all three semantics compared) and keep the record',
        description:
          "A fault is not an error: it is a 201 whose route.installed is false. An unknown device or vector is a 404. Without semantics, the VM's declared QEMU build picks it (upstream or address-space), else upstream with a QEMU_BUILD_UNKNOWN diagnostic; semanticsSource says which. With asOf, the build declared at that version applies.",
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
        semantics: b.semantics,
        asOf: b.asOf,
        idempotency: idempotencyOf(request),
        baseUrl: baseUrlOf(request, publicUrl),
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
        response: found('Resolution', PictureLink),
      },
    },
    (request, reply) => {
      const body = storedResolution(stores, request.params.id);
      const picture = pictureUrls.resolution(baseUrlOf(request, publicUrl), request.params.id);
      return sendJsonText(reply.header('link', `<${picture}>; rel="alternate"; type="image/svg+xml"`), body);
    },
  );

  app.get(
    '/v1/msi-resolutions/:id.svg',
    {
      schema: {
        operationId: 'getResolutionPicture',
        tags: ['msi'],
        summary: 'The translation path of a stored resolution, as a picture',
        description:
          'A column per semantics (pre-fix, address-space, upstream) and the hardware path, a row per step, each box with its addresses and the event positions it relied on; the faulting step outlined, the steps after it marked not reached. Drawn from the stored record, also from records stored before they carried `picture`.',
        params: RecordParams,
        response: svgResponses('the picture (image/svg+xml)'),
      },
    },
    (request, reply) => {
      const record = JSON.parse(storedResolution(stores, request.params.id)) as ResolutionView;
      sendSvg(reply, resolutionPicture(record));
    },
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
      const envelope = JSON.stringify(page([], total, limit, offset, listLink(request, publicUrl)));
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
        semantics: request.body.semantics,
        asOf: request.body.asOf,
        limit: request.body.limit ?? DEFAULT_SWEEP_PAGE,
        idempotency: idempotencyOf(request),
        baseUrl: baseUrlOf(request, publicUrl),
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
