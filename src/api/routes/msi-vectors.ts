// MSI-X vectors as the guest programmed them (MsiVectorProgrammed).

import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { executeCommand } from '../../app/execute-command.js';
import type { Stores } from '../../db/stores.js';
import { commandContext, sendAnswer, u64 } from '../http.js';
import { vectorResource } from '../representations.js';
import { CommandHeaders, commandResponses } from '../schemas/common.js';
import { VectorBody, VectorParams } from '../schemas/device.js';

export const msiVectorRoutes: FastifyPluginAsyncTypebox<{ stores: Stores }> = async (app, { stores }) => {
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
