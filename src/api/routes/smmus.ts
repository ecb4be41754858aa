// SMMUs: add an arm-smmuv3, toggle accel mode, and record the guest driver's SMMU state.

import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { resourcePaths } from '../../app/links.js';
import { executeCommand } from '../../app/execute-command.js';
import { loadVm } from '../../app/load-vm.js';
import { loadSmmu } from '../../app/vm-parts.js';
import { commandContext, sendAnswer, sendJson, type RouteOptions } from '../http.js';
import { baseUrlOf } from '../links.js';
import { ListQueryOf, listResponses, sendCollection } from '../lists.js';
import { smmuResource } from '../representations.js';
import {
  AsOfQuery,
  CommandHeaders,
  commandResponses,
  Query,
  readResponses,
  SmmuParams,
  VmParams,
} from '../schemas/common.js';
import { AccelBody, AddSmmuBody, GuestStateBody } from '../schemas/smmu.js';

const SmmuRef = Type.Ref('Smmu');

export const smmuRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { services, publicUrl }) => {
  app.post(
    '/v1/vms/:vm/smmus',
    {
      schema: {
        operationId: 'addSmmu',
        tags: ['smmus'],
        summary: 'Add an arm-smmuv3 (SmmuAdded)',
        params: VmParams,
        body: AddSmmuBody,
        headers: CommandHeaders,
        response: commandResponses(201, SmmuRef, 'the SMMU'),
      },
    },
    async (request, reply) => {
      const { vm } = request.params;
      const b = request.body;
      const answer = await executeCommand(services, {
        vmId: vm,
        command: {
          type: 'AddSmmu',
          smmuId: b.id,
          primaryBus: b.primaryBus,
          accel: b.accel,
          stage: b.stage,
          oas: b.oas,
        },
        status: 201,
        represent: ({ state }) => ({
          body: smmuResource(baseUrlOf(request, publicUrl), vm, state.smmus.get(b.id)!),
          location: resourcePaths.smmu(vm, b.id),
        }),
        ...commandContext(request),
      });
      return sendAnswer(reply, answer);
    },
  );

  app.get(
    '/v1/vms/:vm/smmus',
    {
      schema: {
        operationId: 'listSmmus',
        tags: ['smmus'],
        summary: "A VM's SMMUs; filter accel",
        params: VmParams,
        querystring: ListQueryOf(
          {
            accel: Type.Optional(Type.Boolean({ description: 'only SMMUs with accel on (true) or off (false)' })),
            ...AsOfQuery,
          },
          ['id', 'primaryBus'],
        ),
        response: listResponses(SmmuRef, 'a page of SMMUs', { etag: true }),
      },
    },
    async (request, reply) => {
      const { accel, asOf } = request.query;
      const state = await loadVm(services, request.params.vm, asOf);
      const base = baseUrlOf(request, publicUrl);
      const items = [...state.smmus.values()]
        .filter((smmu) => accel === undefined || smmu.accel.value === accel)
        .map((smmu) => smmuResource(base, state.id, smmu));
      sendCollection(reply, request, publicUrl, items, request.query, 'id', { version: state.version });
    },
  );

  app.get(
    '/v1/vms/:vm/smmus/:smmu',
    {
      schema: {
        operationId: 'getSmmu',
        tags: ['smmus'],
        summary: "Read an SMMU: mode and the guest driver's state",
        params: SmmuParams,
        querystring: Query({ ...AsOfQuery }),
        response: readResponses(SmmuRef, 'the SMMU'),
      },
    },
    async (request, reply) => {
      const { state, smmu } = await loadSmmu(services, request.params.vm, request.params.smmu, request.query.asOf);
      return sendJson(reply, smmuResource(baseUrlOf(request, publicUrl), state.id, smmu), { version: state.version });
    },
  );

  app.put(
    '/v1/vms/:vm/smmus/:smmu/accel',
    {
      schema: {
        operationId: 'setSmmuAccel',
        tags: ['smmus'],
        summary: 'Enable or disable accel mode (SmmuAccelModeChanged)',
        params: SmmuParams,
        body: AccelBody,
        headers: CommandHeaders,
        response: commandResponses(200, SmmuRef, 'the SMMU'),
      },
    },
    async (request, reply) => {
      const { vm, smmu } = request.params;
      const answer = await executeCommand(services, {
        vmId: vm,
        command: { type: 'SetSmmuAccel', smmuId: smmu, enabled: request.body.enabled },
        status: 200,
        represent: ({ state }) => ({
          body: smmuResource(baseUrlOf(request, publicUrl), state.id, state.smmus.get(smmu)!),
        }),
        ...commandContext(request),
      });
      return sendAnswer(reply, answer);
    },
  );

  app.put(
    '/v1/vms/:vm/smmus/:smmu/guest-state',
    {
      schema: {
        operationId: 'setSmmuGuestState',
        tags: ['smmus'],
        summary: "Record the guest driver's SMMU state (SmmuGuestStateChanged)",
        params: SmmuParams,
        body: GuestStateBody,
        headers: CommandHeaders,
        response: commandResponses(200, SmmuRef, 'the SMMU'),
      },
    },
    async (request, reply) => {
      const { vm, smmu } = request.params;
      const answer = await executeCommand(services, {
        vmId: vm,
        command: { type: 'SetSmmuGuestState', smmuId: smmu, changes: request.body },
        status: 200,
        represent: ({ state }) => ({
          body: smmuResource(baseUrlOf(request, publicUrl), state.id, state.smmus.get(smmu)!),
        }),
        ...commandContext(request),
      });
      return sendAnswer(reply, answer);
    },
  );
};
