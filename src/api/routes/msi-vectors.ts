// MSI-X vectors as the guest programmed them (MsiVectorProgrammed), and where each lands now: the
// live route (nothing stored), as JSON and as a picture.

import { type Static, Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { executeCommand } from '../../app/execute-command.js';
import { liveRoute } from '../../app/resolve-msi.js';
import { resolutionPicture } from '../../pictures/resolution-picture.js';
import type { ResolutionView } from '../../pictures/resolution-view.js';
import { loadDevice, loadVector } from '../../app/vm-parts.js';
import { commandContext, sendAnswer, sendJson, sendJsonText, sendSvg, u64, type RouteOptions } from '../http.js';
import { ListQueryOf, listResponses, sendCollection } from '../lists.js';
import { baseUrlOf } from '../links.js';
import { svgResponses } from '../schemas/picture.js';
import { RouteQuery } from '../schemas/resolution.js';
import { vectorResource } from '../representations.js';
import {
  AsOfQuery,
  CommandHeaders,
  commandResponses,
  DeviceParams,
  errorResponses,
  Query,
  readResponses,
} from '../schemas/common.js';

const VectorRef = Type.Ref('MsiVector');
import { VectorBody, VectorParams } from '../schemas/device.js';

const ROUTE_DESCRIPTION =
  'Resolved now (or asOf a version) and not stored. Without semantics, the VM\'s declared QEMU build picks it, as for a resolution. ETag: the VM version and the semantics asked for ("<version>-<semantics>", or "<version>-declared"); If-None-Match answers 304. Served from the per-state memo: asking again after no change costs nothing.';

export const msiVectorRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { services, publicUrl }) => {
  /** The live route a route or route.svg request names. */
  const liveRouteOf = (
    { vm, dev, n }: Static<typeof VectorParams>,
    { semantics, asOf }: Static<typeof RouteQuery>,
    request: FastifyRequest,
  ) =>
    liveRoute(services, { vmId: vm, device: dev, vector: n, semantics, asOf, baseUrl: baseUrlOf(request, publicUrl) });

  app.get(
    '/v1/vms/:vm/devices/:dev/msi-vectors',
    {
      schema: {
        operationId: 'listMsiVectors',
        tags: ['msi-vectors'],
        summary: "A device's programmed MSI-X vectors",
        params: DeviceParams,
        querystring: ListQueryOf({ ...AsOfQuery }, ['vector', 'address', 'data']),
        response: listResponses(VectorRef, 'a page of vectors', { etag: true }),
      },
    },
    async (request, reply) => {
      const { vm, dev } = request.params;
      const { state, device } = await loadDevice(services, vm, dev, request.query.asOf);
      const base = baseUrlOf(request, publicUrl);
      const items = [...device.vectors.values()].map((v) => vectorResource(base, state.id, dev, v));
      sendCollection(reply, request, publicUrl, items, request.query, 'vector', { version: state.version });
    },
  );

  app.get(
    '/v1/vms/:vm/devices/:dev/msi-vectors/:n',
    {
      schema: {
        operationId: 'getMsiVector',
        tags: ['msi-vectors'],
        summary: 'Read a programmed MSI-X vector: its address and data as the guest wrote them',
        params: VectorParams,
        querystring: Query({ ...AsOfQuery }),
        response: readResponses(VectorRef, 'the vector'),
      },
    },
    async (request, reply) => {
      const { vm, dev, n } = request.params;
      const { state, vector } = await loadVector(services, vm, dev, n, request.query.asOf);
      return sendJson(reply, vectorResource(baseUrlOf(request, publicUrl), state.id, dev, vector), {
        version: state.version,
      });
    },
  );

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
      // The bytes as encoded once for this state (the text with its newline, see http.ts).
      return sendJsonText(reply.header('etag', route.etag).header('cache-control', 'no-cache'), route.bytes);
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
      const answer = await executeCommand(services, {
        vmId: vm,
        command: {
          type: 'ProgramMsiVector',
          deviceId: dev,
          vector: n,
          address: u64(request.body.address),
          data: u64(request.body.data),
        },
        status: 200,
        represent: ({ state }) => ({
          body: vectorResource(baseUrlOf(request, publicUrl), vm, dev, state.devices.get(dev)!.vectors.get(n)!),
        }),
        ...commandContext(request),
      });
      return sendAnswer(reply, answer);
    },
  );
};
