// VMs: define one, list them, read one's topology (optionally as of a version).

import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { executeCommand } from '../../app/execute-command.js';
import type { Stores } from '../../db/stores.js';
import { loadVm } from '../../app/load-vm.js';
import { commandContext, optionalU64, page, sendAnswer, sendJson } from '../http.js';
import { vmResource } from '../representations.js';
import {
  AsOfQuery,
  CommandHeaders,
  commandResponses,
  ListQuery,
  Page,
  Query,
  readResponses,
  VmParams,
} from '../schemas/common.js';
import { DefineVmBody } from '../schemas/vm.js';

const VmRef = Type.Ref('Vm');

export const vmRoutes: FastifyPluginAsyncTypebox<{ stores: Stores }> = async (app, { stores }) => {
  app.post(
    '/v1/vms',
    {
      schema: {
        operationId: 'defineVm',
        tags: ['vms'],
        summary: 'Define a VM (VmDefined)',
        body: DefineVmBody,
        headers: CommandHeaders,
        response: commandResponses(201, VmRef, 'the VM'),
      },
    },
    async (request, reply) => {
      const b = request.body;
      const answer = await executeCommand(stores, {
        vmId: b.id,
        command: {
          type: 'DefineVm',
          vmId: b.id,
          ramSize: optionalU64(b.ramSize),
          gicVersion: b.gicVersion,
          its: b.its,
          kvm: b.kvm,
          hostItsBase: optionalU64(b.hostItsBase),
          rmrHonoured: b.rmrHonoured,
        },
        status: 201,
        represent: ({ state }) => ({ body: vmResource(state), location: `/v1/vms/${state.id}` }),
        ...commandContext(request),
      });
      return sendAnswer(reply, answer);
    },
  );

  app.get(
    '/v1/vms',
    {
      schema: {
        operationId: 'listVms',
        tags: ['vms'],
        summary: 'List VMs with their projected topology',
        querystring: Query({ ...ListQuery }),
        response: readResponses(Page(VmRef, 'a page of VMs'), 'VMs by id', { etag: false }),
      },
    },
    (request, reply) => {
      const { limit = 50, offset = 0 } = request.query;
      const vms = stores.events.streams(limit, offset).flatMap((s) => {
        const state = stores.vms.load(s.streamId);
        return state === undefined ? [] : [vmResource(state)];
      });
      return sendJson(reply, page(vms, stores.events.streamCount(), limit, offset, '/v1/vms'));
    },
  );

  app.get(
    '/v1/vms/:vm',
    {
      schema: {
        operationId: 'getVm',
        tags: ['vms'],
        summary: 'Read a VM topology as projected (optionally asOf a version)',
        params: VmParams,
        querystring: Query({ ...AsOfQuery }),
        response: readResponses(VmRef, 'the VM'),
      },
    },
    (request, reply) => {
      const state = loadVm(stores, request.params.vm, request.query.asOf);
      return sendJson(reply, vmResource(state), { version: state.version });
    },
  );
};
