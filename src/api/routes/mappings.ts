// A device's IOVA mappings at stage 1 and stage 2 (IovaMapped, IovaUnmapped).

import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { resourcePaths } from '../../app/links.js';
import { executeCommand } from '../../app/execute-command.js';
import { hex } from '../../domain/address.js';
import { loadDevice, loadMapping } from '../../app/vm-parts.js';
import { STAGES, type Stage } from '../../domain/topology/types.js';
import { commandContext, sendAnswer, sendJson, u64, type RouteOptions } from '../http.js';
import { baseUrlOf } from '../links.js';
import { ListQueryOf, listResponses, sendCollection } from '../lists.js';
import { mappingResource } from '../representations.js';
import {
  AsOfQuery,
  CommandHeaders,
  commandResponses,
  DeviceParams,
  OneOf,
  Query,
  readResponses,
} from '../schemas/common.js';
import { MapBody, MappingParams, UnmappedSchema } from '../schemas/device.js';

const MappingRef = Type.Ref('Mapping');

export const mappingRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { services, publicUrl }) => {
  app.post(
    '/v1/vms/:vm/devices/:dev/mappings',
    {
      schema: {
        operationId: 'mapIova',
        tags: ['mappings'],
        summary: 'Map an IOVA range at stage 1 or 2 (IovaMapped)',
        params: DeviceParams,
        body: MapBody,
        headers: CommandHeaders,
        response: commandResponses(201, MappingRef, 'the mapping'),
      },
    },
    async (request, reply) => {
      const { vm, dev } = request.params;
      const b = request.body;
      const iova = u64(b.iova);
      const answer = await executeCommand(services, {
        vmId: vm,
        command: {
          type: 'MapIova',
          deviceId: dev,
          stage: b.stage,
          iova,
          output: u64(b.output),
          size: u64(b.size),
          perm: b.perm,
          accessFlag: b.accessFlag,
        },
        status: 201,
        represent: ({ state }) => ({
          body: mappingResource(
            baseUrlOf(request, publicUrl),
            vm,
            dev,
            state.devices.get(dev)!.mappings[b.stage].at(iova)!.value,
          ),
          location: resourcePaths.mapping(vm, dev, `${b.stage}/${hex(iova)}`),
        }),
        ...commandContext(request),
      });
      return sendAnswer(reply, answer);
    },
  );

  app.get(
    '/v1/vms/:vm/devices/:dev/mappings',
    {
      schema: {
        operationId: 'listMappings',
        tags: ['mappings'],
        summary: "A device's mappings (default: stage 1, then stage 2, each in address order); filter stage",
        params: DeviceParams,
        querystring: ListQueryOf({ stage: Type.Optional(OneOf(STAGES, 'only this stage')), ...AsOfQuery }, [
          'stage',
          'iova',
          'output',
          'size',
        ]),
        response: listResponses(MappingRef, 'a page of mappings', { etag: true }),
      },
    },
    async (request, reply) => {
      const { vm, dev } = request.params;
      const { stage, asOf } = request.query;
      const { state, device } = await loadDevice(services, vm, dev, asOf);
      const base = baseUrlOf(request, publicUrl);
      const stages: Stage[] = stage === undefined ? [1, 2] : [stage];
      const items = stages.flatMap((s) =>
        [...device.mappings[s].ranges()].map((r) => mappingResource(base, state.id, dev, r.value)),
      );
      sendCollection(reply, request, publicUrl, items, request.query, 'stage', { version: state.version });
    },
  );

  app.get(
    '/v1/vms/:vm/devices/:dev/mappings/:stage/:iova',
    {
      schema: {
        operationId: 'getMapping',
        tags: ['mappings'],
        summary: 'Read the mapping that starts at iova',
        params: MappingParams,
        querystring: Query({ ...AsOfQuery }),
        response: readResponses(MappingRef, 'the mapping'),
      },
    },
    async (request, reply) => {
      const { vm, dev, stage, iova } = request.params;
      const { state, mapping } = await loadMapping(services, vm, dev, stage, u64(iova), request.query.asOf, iova);
      return sendJson(reply, mappingResource(baseUrlOf(request, publicUrl), state.id, dev, mapping), {
        version: state.version,
      });
    },
  );

  app.delete(
    '/v1/vms/:vm/devices/:dev/mappings/:stage/:iova',
    {
      schema: {
        operationId: 'unmapIova',
        tags: ['mappings'],
        summary: 'Unmap the range that starts at iova (IovaUnmapped)',
        params: MappingParams,
        headers: CommandHeaders,
        response: commandResponses(200, UnmappedSchema, 'the removed mapping'),
      },
    },
    async (request, reply) => {
      const { vm, dev, stage, iova } = request.params;
      const start = u64(iova);
      const answer = await executeCommand(services, {
        vmId: vm,
        command: { type: 'UnmapIova', deviceId: dev, stage, iova: start },
        status: 200,
        represent: () => ({ body: { device: dev, stage, iova: start, unmapped: true } }),
        ...commandContext(request),
      });
      return sendAnswer(reply, answer);
    },
  );
};
