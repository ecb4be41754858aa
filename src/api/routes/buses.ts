// Buses: pxb-pcie root complexes and PCIe root ports (BusAdded).

import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Stores } from '../../db/stores';
import { DomainError } from '../../domain/errors';
import { runCommand, sendJson } from '../command';
import { loadVm } from '../load';
import { busResource } from '../representations';
import { AsOfQuery, Body, CommandHeaders, commandResponses, errorResponses, Id, VmParams } from '../schemas';

const BusNumber = (description: string) => Type.Integer({ minimum: 0, maximum: 255, description });

const AddBusBody = Body({
  id: Id('bus id (QEMU id), e.g. pcie.1 or pcie.port1'),
  type: Type.Union([Type.Literal('pxb-pcie'), Type.Literal('pcie-root-port')]),
  busNr: Type.Optional(BusNumber('pxb-pcie: its root bus number (bus_nr)')),
  bus: Type.Optional(Id('the bus it sits on: pcie.0 for a pxb-pcie (default), a root bus for a root port')),
  secondaryBusNr: Type.Optional(BusNumber('pcie-root-port: the number guest firmware gave its secondary bus')),
});

export function busRoutes(app: FastifyInstance, stores: Stores): void {
  app.post<{ Params: Static<typeof VmParams>; Body: Static<typeof AddBusBody> }>(
    '/v1/vms/:vm/buses',
    { schema: { tags: ['topology'], summary: 'Add a pxb-pcie or pcie-root-port (BusAdded)', params: VmParams, body: AddBusBody, headers: CommandHeaders, response: commandResponses(201, 'the bus') } },
    (request, reply) => {
      const { vm } = request.params;
      const b = request.body;
      return runCommand(stores, request, reply, {
        vmId: vm,
        command: { type: 'AddBus', busId: b.id, busType: b.type, busNr: b.busNr, bus: b.bus, secondaryBusNr: b.secondaryBusNr },
        status: 201,
        render: ({ state }) => ({ body: busResource(state.buses.get(b.id)!), location: `/v1/vms/${vm}/buses/${b.id}` }),
      });
    },
  );

  const BusParams = Type.Object({ vm: Id('VM id'), bus: Id('bus id') });
  const GetBusQuery = Type.Object({ ...AsOfQuery });
  app.get<{ Params: Static<typeof BusParams>; Querystring: Static<typeof GetBusQuery> }>(
    '/v1/vms/:vm/buses/:bus',
    { schema: { tags: ['topology'], summary: 'Read a bus: its number and root bus', params: BusParams, querystring: GetBusQuery, response: errorResponses(400, 404) } },
    (request, reply) => {
      const state = loadVm(stores, request.params.vm, request.query.asOf);
      const bus = state.buses.get(request.params.bus);
      if (bus === undefined) throw new DomainError('BUS_NOT_FOUND', `bus ${request.params.bus} does not exist in VM ${state.id}`);
      return sendJson(reply, busResource(bus), { version: state.version });
    },
  );
}
