// Buses: pxb-pcie root complexes, PCIe root ports, switch ports and PCI bridges (BusAdded).

import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { resourcePaths } from '../../app/links.js';
import { executeCommand } from '../../app/execute-command.js';
import { loadVm } from '../../app/load-vm.js';
import { loadBus } from '../../app/vm-parts.js';
import { commandContext, sendAnswer, sendJson, type RouteOptions } from '../http.js';
import { baseUrlOf } from '../links.js';
import { ListQueryOf, listResponses, sendCollection } from '../lists.js';
import { busResource } from '../representations.js';
import { ADDABLE_BUS_TYPES } from '../../domain/topology/types.js';
import { AddBusBody, BusParams } from '../schemas/bus.js';
import {
  AsOfQuery,
  CommandHeaders,
  commandResponses,
  OneOf,
  Query,
  readResponses,
  VmParams,
} from '../schemas/common.js';

const BusRef = Type.Ref('Bus');

export const busRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { services, publicUrl }) => {
  app.post(
    '/v1/vms/:vm/buses',
    {
      schema: {
        operationId: 'addBus',
        tags: ['buses'],
        summary: 'Add a pxb-pcie, pcie-root-port, switch port or PCI bridge (BusAdded)',
        params: VmParams,
        body: AddBusBody,
        headers: CommandHeaders,
        response: commandResponses(201, BusRef, 'the bus'),
      },
    },
    async (request, reply) => {
      const { vm } = request.params;
      const b = request.body;
      const answer = await executeCommand(services, {
        vmId: vm,
        command: {
          type: 'AddBus',
          busId: b.id,
          busType: b.type,
          busNr: b.busNr,
          bus: b.bus,
          secondaryBusNr: b.secondaryBusNr,
          bypassIommu: b.bypassIommu,
          slot: b.slot,
          function: b.function,
        },
        status: 201,
        represent: ({ state }) => ({
          body: busResource(baseUrlOf(request, publicUrl), vm, state.buses.get(b.id)!),
          location: resourcePaths.bus(vm, b.id),
        }),
        ...commandContext(request),
      });
      return sendAnswer(reply, answer);
    },
  );

  app.get(
    '/v1/vms/:vm/buses',
    {
      schema: {
        operationId: 'listBuses',
        tags: ['buses'],
        summary: "A VM's buses (pcie.0, pxb-pcie, root ports, switch ports, bridges); filter type",
        params: VmParams,
        querystring: ListQueryOf(
          { type: Type.Optional(OneOf(['pcie-root', ...ADDABLE_BUS_TYPES], 'only buses of this type')), ...AsOfQuery },
          ['id', 'busNumber', 'type'],
        ),
        response: listResponses(BusRef, 'a page of buses', { etag: true }),
      },
    },
    async (request, reply) => {
      const { type, asOf } = request.query;
      const state = await loadVm(services, request.params.vm, asOf);
      const base = baseUrlOf(request, publicUrl);
      const items = [...state.buses.values()]
        .filter((bus) => type === undefined || bus.type === type)
        .map((bus) => busResource(base, state.id, bus));
      sendCollection(reply, request, publicUrl, items, request.query, 'id', { version: state.version });
    },
  );

  app.get(
    '/v1/vms/:vm/buses/:bus',
    {
      schema: {
        operationId: 'getBus',
        tags: ['buses'],
        summary: 'Read a bus: its number and root bus',
        params: BusParams,
        querystring: Query({ ...AsOfQuery }),
        response: readResponses(BusRef, 'the bus'),
      },
    },
    async (request, reply) => {
      const { state, bus } = await loadBus(services, request.params.vm, request.params.bus, request.query.asOf);
      return sendJson(reply, busResource(baseUrlOf(request, publicUrl), state.id, bus), { version: state.version });
    },
  );
};
