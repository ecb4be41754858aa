// Devices: attach and detach, and the STE the guest programmed for them.

import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { executeCommand } from '../../app/execute-command.js';
import { loadVm } from '../../app/load-vm.js';
import { getDevice } from '../../domain/topology/decide.js';
import { commandContext, optionalU64, sendAnswer, sendJson, type RouteOptions } from '../http.js';
import { deviceResource } from '../representations.js';
import {
  AsOfQuery,
  CommandHeaders,
  commandResponses,
  DeviceParams,
  Query,
  readResponses,
  VmParams,
} from '../schemas/common.js';
import { AttachDeviceBody, DetachedSchema, SteBody } from '../schemas/device.js';

const DeviceRef = Type.Ref('Device');
export const devicePath = (vm: string, dev: string) => `/v1/vms/${vm}/devices/${dev}`;

export const deviceRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { stores }) => {
  app.post(
    '/v1/vms/:vm/devices',
    {
      schema: {
        operationId: 'attachDevice',
        tags: ['devices'],
        summary: 'Attach a device (DeviceAttached)',
        params: VmParams,
        body: AttachDeviceBody,
        headers: CommandHeaders,
        response: commandResponses(201, DeviceRef, 'the device'),
      },
    },
    async (request, reply) => {
      const { vm } = request.params;
      const b = request.body;
      const answer = await executeCommand(stores, {
        vmId: vm,
        command: {
          type: 'AttachDevice',
          deviceId: b.id,
          driver: b.driver,
          bus: b.bus,
          slot: b.slot,
          function: b.function,
          host: b.host,
          iommufd: b.iommufd,
        },
        status: 201,
        represent: ({ state }) => ({
          body: deviceResource(state, state.devices.get(b.id)!),
          location: devicePath(vm, b.id),
        }),
        ...commandContext(request),
      });
      return sendAnswer(reply, answer);
    },
  );

  app.get(
    '/v1/vms/:vm/devices/:dev',
    {
      schema: {
        operationId: 'getDevice',
        tags: ['devices'],
        summary: 'Read a device: placement, stream id, STE, vectors',
        params: DeviceParams,
        querystring: Query({ ...AsOfQuery }),
        response: readResponses(DeviceRef, 'the device'),
      },
    },
    async (request, reply) => {
      const state = await loadVm(stores, request.params.vm, request.query.asOf);
      return sendJson(reply, deviceResource(state, getDevice(state, request.params.dev)), { version: state.version });
    },
  );

  app.put(
    '/v1/vms/:vm/devices/:dev/ste',
    {
      schema: {
        operationId: 'configureSte',
        tags: ['devices'],
        summary: 'Replace the STE the guest programmed (SteConfigured)',
        params: DeviceParams,
        body: SteBody,
        headers: CommandHeaders,
        response: commandResponses(200, DeviceRef, 'the device'),
      },
    },
    async (request, reply) => {
      const { vm, dev } = request.params;
      const b = request.body;
      const answer = await executeCommand(stores, {
        vmId: vm,
        command: {
          type: 'ConfigureSte',
          deviceId: dev,
          config: b.config,
          cd: b.cd,
          s2: b.s2,
          cdAddress: optionalU64(b.cdAddress),
          ttb0: optionalU64(b.ttb0),
          ttb1: optionalU64(b.ttb1),
        },
        status: 200,
        represent: ({ state }) => ({ body: deviceResource(state, state.devices.get(dev)!) }),
        ...commandContext(request),
      });
      return sendAnswer(reply, answer);
    },
  );

  app.delete(
    '/v1/vms/:vm/devices/:dev',
    {
      schema: {
        operationId: 'detachDevice',
        tags: ['devices'],
        summary: 'Detach a device (DeviceDetached)',
        params: DeviceParams,
        headers: CommandHeaders,
        response: commandResponses(200, DetachedSchema, 'the detached device id'),
      },
    },
    async (request, reply) => {
      const { vm, dev } = request.params;
      const answer = await executeCommand(stores, {
        vmId: vm,
        command: { type: 'DetachDevice', deviceId: dev },
        status: 200,
        represent: () => ({ body: { id: dev, detached: true } }),
        ...commandContext(request),
      });
      return sendAnswer(reply, answer);
    },
  );
};
