// Devices: attach and detach, and the STE the guest programmed for them.

import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { resourcePaths } from '../../app/links.js';
import { executeCommand } from '../../app/execute-command.js';
import { loadVm } from '../../app/load-vm.js';
import { loadDevice } from '../../app/vm-parts.js';
import { commandContext, optionalU64, sendAnswer, sendJson, type RouteOptions } from '../http.js';
import { baseUrlOf } from '../links.js';
import { ListQueryOf, listResponses, sendCollection } from '../lists.js';
import { deviceResource } from '../representations.js';
import {
  AsOfQuery,
  CommandHeaders,
  commandResponses,
  DeviceParams,
  Id,
  Query,
  readResponses,
  VmParams,
} from '../schemas/common.js';
import { AttachDeviceBody, DetachedSchema, SteBody } from '../schemas/device.js';

const DeviceRef = Type.Ref('Device');

export const deviceRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { services, publicUrl }) => {
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
      const answer = await executeCommand(services, {
        vmId: vm,
        command: {
          type: 'AttachDevice',
          deviceId: b.id,
          driver: b.driver,
          bus: b.bus,
          slot: b.slot,
          function: b.function,
          host: b.host,
          hostFd: b.hostFd,
          iommufd: b.iommufd,
        },
        status: 201,
        represent: ({ state }) => ({
          body: deviceResource(baseUrlOf(request, publicUrl), state, state.devices.get(b.id)!),
          location: resourcePaths.device(vm, b.id),
        }),
        ...commandContext(request),
      });
      return sendAnswer(reply, answer);
    },
  );

  app.get(
    '/v1/vms/:vm/devices',
    {
      schema: {
        operationId: 'listDevices',
        tags: ['devices'],
        summary: "A VM's devices; filters driver, bus, smmu, accel",
        params: VmParams,
        querystring: ListQueryOf(
          {
            driver: Type.Optional(
              Type.String({
                minLength: 1,
                maxLength: 64,
                description: 'only devices of this driver',
                examples: ['vfio-pci'],
              }),
            ),
            bus: Type.Optional(Id('only devices on this bus', 'pcie.port1')),
            smmu: Type.Optional(Id('only devices behind this SMMU', 'smmuv3.0')),
            accel: Type.Optional(
              Type.Boolean({ description: 'only devices behind an SMMU with accel on (true), or not (false)' }),
            ),
            ...AsOfQuery,
          },
          ['id', 'bus', 'slot', 'streamId', 'driver'],
        ),
        response: listResponses(DeviceRef, 'a page of devices', { etag: true }),
      },
    },
    async (request, reply) => {
      const { driver, bus, smmu, accel, asOf } = request.query;
      const state = await loadVm(services, request.params.vm, asOf);
      const base = baseUrlOf(request, publicUrl);
      const items = [...state.devices.values()]
        .map((device) => deviceResource(base, state, device))
        .filter(
          (d) =>
            (driver === undefined || d.driver === driver) &&
            (bus === undefined || d.bus === bus) &&
            (smmu === undefined || d.smmu === smmu) &&
            (accel === undefined || (d.smmu !== null && state.smmus.get(d.smmu)?.accel.value === true) === accel),
        );
      sendCollection(reply, request, publicUrl, items, request.query, 'id', { version: state.version });
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
      const { state, device } = await loadDevice(services, request.params.vm, request.params.dev, request.query.asOf);
      return sendJson(reply, deviceResource(baseUrlOf(request, publicUrl), state, device), { version: state.version });
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
      const answer = await executeCommand(services, {
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
        represent: ({ state }) => ({
          body: deviceResource(baseUrlOf(request, publicUrl), state, state.devices.get(dev)!),
        }),
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
      const answer = await executeCommand(services, {
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
