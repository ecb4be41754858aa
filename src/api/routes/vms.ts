// VMs: define one, list them, read one's topology (optionally as of a version).

import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Stores } from '../../db/stores';
import { runCommand, sendJson } from '../command';
import { loadVm, optionalU64, page } from '../load';
import { vmResource } from '../representations';
import { AsOfQuery, Body, CommandHeaders, commandResponses, errorResponses, Hex, Id, ListQuery, VmParams } from '../schemas';

const DefineVmBody = Body({
  id: Id('VM id, chosen by the client'),
  ramSize: Type.Optional(Hex('RAM size; RAM starts at 0x40000000 (default 0x40000000)')),
  gicVersion: Type.Optional(Type.Union([Type.Literal(2), Type.Literal(3)], { description: 'GIC version (default 3)' })),
  its: Type.Optional(Type.Boolean({ description: 'in-kernel vITS (default true with gicVersion 3)' })),
  kvm: Type.Optional(Type.Boolean({ description: 'KVM with in-kernel irqchip (default true)' })),
  hostItsBase: Type.Optional(Hex('physical ITS base of the host, for the hardware path')),
});

export function vmRoutes(app: FastifyInstance, stores: Stores): void {
  app.post<{ Body: Static<typeof DefineVmBody> }>(
    '/v1/vms',
    { schema: { tags: ['topology'], summary: 'Define a VM (VmDefined)', body: DefineVmBody, headers: CommandHeaders, response: commandResponses(201, 'the VM') } },
    (request, reply) => {
      const b = request.body;
      return runCommand(stores, request, reply, {
        vmId: b.id,
        command: { type: 'DefineVm', vmId: b.id, ramSize: optionalU64(b.ramSize), gicVersion: b.gicVersion, its: b.its, kvm: b.kvm, hostItsBase: optionalU64(b.hostItsBase) },
        status: 201,
        render: ({ state }) => ({ body: vmResource(state), location: `/v1/vms/${state.id}` }),
      });
    },
  );

  const ListVmsQuery = Type.Object({ ...ListQuery });
  app.get<{ Querystring: Static<typeof ListVmsQuery> }>(
    '/v1/vms',
    { schema: { tags: ['topology'], summary: 'List VMs with their projected topology', querystring: ListVmsQuery, response: errorResponses(400) } },
    (request, reply) => {
      const { limit = 50, offset = 0 } = request.query;
      const vms = stores.events.streams(limit, offset).flatMap((s) => {
        const state = stores.vms.load(s.streamId);
        return state === undefined ? [] : [vmResource(state)];
      });
      return sendJson(reply, page(vms, stores.events.streamCount(), limit, offset, '/v1/vms'));
    },
  );

  const GetVmQuery = Type.Object({ ...AsOfQuery });
  app.get<{ Params: Static<typeof VmParams>; Querystring: Static<typeof GetVmQuery> }>(
    '/v1/vms/:vm',
    { schema: { tags: ['topology'], summary: 'Read a VM topology as projected (optionally asOf a version)', params: VmParams, querystring: GetVmQuery, response: errorResponses(400, 404) } },
    (request, reply) => {
      const state = loadVm(stores, request.params.vm, request.query.asOf);
      return sendJson(reply, vmResource(state), { version: state.version });
    },
  );
}
