// MSI-X vectors as the guest programmed them (MsiVectorProgrammed), and where each lands now: the
// live route (nothing stored), as JSON and as a picture.

import { type Static, Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { executeCommand } from '../../app/execute-command.js';
import { liveRoute } from '../../app/resolve-msi.js';
import { resolutionPicture } from '../../pictures/resolution-picture.js';
import type { ResolutionView } from '../../pictures/resolution-view.js';
import { commandContext, sendAnswer, sendJsonText, sendSvg, u64, type RouteOptions } from '../http.js';
import { baseUrlOf } from '../links.js';
import { svgResponses } from '../schemas/picture.js';
import { RouteQuery } from '../schemas/resolution.js';
import { vectorResource } from '../representations.js';
import { CommandHeaders, commandResponses, errorResponses } from '../schemas/common.js';
import { VectorBody, VectorParams } from '../schemas/device.js';

const ROUTE_DESCRIPTION =
  'Resolved now (or asOf a version) and not stored. Without semantics, the VM\'s declared QEMU build picks it, as for a resolution. ETag: the VM version and the semantics asked for ("<version>-<semantics>", or "<version>-declared"); If-None-Match answers 304. Served from the per-state memo: asking again after no change costs nothing.';

export const msiVectorRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { stores, publicUrl }) => {
  /** The live route a route or route.svg request names. */
  const liveRouteOf = (
    { vm, dev, n }: Static<typeof VectorParams>,
    { semantics, asOf }: Static<typeof RouteQuery>,
    request: FastifyRequest,
  ) => liveRoute(stores, { vmId: vm, device: dev, vector: n, semantics, asOf, baseUrl: baseUrlOf(request, publicUrl) });

  app.get(
    '/v1/vms/:vm/devices/:dev/msi-vectors/:n/route',
    {
      schema: {
        operationId: 'getMsiRoute',
        tags: ['msi-vectors'],
        summary: 'Where this vector lands now: the body of a resolution record without id, nothing stored',
        description: ROUTE_DESCRIPTION,
        params: VectorParams,
        querystring: RouteQuery,
        response: {
          200: {
            description: 'the live route',
            headers: { ETag: { type: 'string', description: '"<version>-<semantics>"' } },
            content: { 'application/json': { schema: Type.Ref('Route') } },
          },
          ...errorResponses(400, 404),
        },
      },
    },
    async (request, reply) => {
      const route = await liveRouteOf(request.params, request.query, request);
      return sendJsonText(reply.header('etag', route.etag).header('cache-control', 'no-cache'), route.json);
    },
  );

  app.get(
    '/v1/vms/:vm/devices/:dev/msi-vectors/:n/route.svg',
    {
      schema: {
        operationId: 'getMsiRoutePicture',
        tags: ['msi-vectors'],
        summary: 'The live route of this vector as a picture: the translation path under each semantics',
        description: ROUTE_DESCRIPTION,
        params: VectorParams,
        querystring: RouteQuery,
        response: svgResponses('the picture (image/svg+xml)', { etag: true }),
      },
    },
    async (request, reply) => {
      const route = await liveRouteOf(request.params, request.query, request);
      return sendSvg(reply, resolutionPicture(JSON.parse(route.json) as ResolutionView), { etag: route.etag });
    },
  );

  app.put(
    '/v1/vms/:vm/devices/:dev/msi-vectors/:n',
    {
      schema: {
        operationId: 'programMsiVector',
        tags: ['msi-vectors'],
        summary: 'Record an MSI-X table write by the guest (MsiVectorProgrammed)',
        params: VectorParams,
        body: VectorBody,
        headers: CommandHeaders,
        response: commandResponses(200, Type.Ref('MsiVector'), 'the vector'),
      },
    },
    async (request, reply) => {
      const { vm, dev, n } = request.params;
      const answer = await executeCommand(stores, {
        vmId: vm,
        command: {
          type: 'ProgramMsiVector',
          deviceId: dev,
          vector: n,
          address: u64(request.body.address),
          data: u64(request.body.data),
        },
        status: 200,
        represent: ({ state }) => ({ body: vectorResource(dev, state.devices.get(dev)!.vectors.get(n)!) }),
        ...commandContext(request),
      });
      return sendAnswer(reply, answer);
    },
  );
};
