// Devices: attach and detach, the STE the guest programmed, IOVA mappings and MSI-X vectors.

import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Stores } from '../../db/stores';
import { DomainError } from '../../domain/errors';
import { getDevice } from '../../domain/topology/decide';
import { ADDRESS_SIZES } from '../../domain/topology/defaults';
import type { Stage } from '../../domain/topology/types';
import { runCommand, sendJson } from '../command';
import { loadVm, u64, page } from '../load';
import { deviceResource, mappingResource, vectorResource } from '../representations';
import { AsOfQuery, Body, CommandHeaders, commandResponses, DeviceParams, errorResponses, Hex, Id, ListQuery, VmParams } from '../schemas';

/** PCI host address as vfio-pci's host= takes it. */
const HOST_PATTERN = '^[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-1][0-9a-fA-F]\\.[0-7]$';

const AttachDeviceBody = Body({
  id: Id('device id (QEMU id), e.g. hostdev0'),
  driver: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,63}$', description: 'vfio-pci, or an emulated model such as virtio-net-pci', examples: ['vfio-pci'] }),
  bus: Id('pcie.0, a pxb-pcie or a pcie-root-port id'),
  slot: Type.Integer({ minimum: 0, maximum: 31, description: 'PCI slot (device number)' }),
  function: Type.Optional(Type.Integer({ minimum: 0, maximum: 7, description: 'PCI function (default 0)' })),
  host: Type.Optional(Type.String({ pattern: HOST_PATTERN, description: 'vfio-pci: host PCI address DDDD:BB:DD.F', examples: ['0019:06:00.0'] })),
  iommufd: Type.Optional(Id('vfio-pci: the iommufd object id (required behind accel=on)')),
});

const Granule = Type.Union([Type.Literal('4K'), Type.Literal('16K'), Type.Literal('64K')]);
const AddressSize = (description: string) => Type.Union(ADDRESS_SIZES.map((bits) => Type.Literal(bits)), { description });

const CdBody = Body(
  {
    granule: Type.Optional(Granule),
    t0sz: Type.Optional(Type.Integer({ minimum: 0, maximum: 63, description: 'CD.T0SZ; the SMMU accepts 16 to 39 (else C_BAD_CD)' })),
    epd1: Type.Optional(Type.Boolean({ description: 'CD.EPD1: TT1 walks disabled' })),
    ips: Type.Optional(AddressSize('CD.IPS in output bits')),
    recordFaults: Type.Optional(Type.Boolean({ description: 'CD.R: record stage-1 faults' })),
    affd: Type.Optional(Type.Boolean({ description: 'CD.AFFD: access-flag faults disabled' })),
  },
  'stage-1 context descriptor (s1, nested); fields left out take the defaults',
);

const S2Body = Body(
  {
    granule: Type.Optional(Granule),
    t0sz: Type.Optional(Type.Integer({ minimum: 0, maximum: 63, description: 'STE.S2T0SZ' })),
    ps: Type.Optional(AddressSize('STE.S2PS in output bits')),
    recordFaults: Type.Optional(Type.Boolean({ description: 'STE.S2R: record stage-2 faults' })),
  },
  'stage-2 fields of the STE (s2, nested); fields left out take the defaults',
);

const SteBody = Body({
  config: Type.Union([Type.Literal('invalid'), Type.Literal('abort'), Type.Literal('bypass'), Type.Literal('s1'), Type.Literal('s2'), Type.Literal('nested')], { description: 'STE.Config as the guest programmed it' }),
  cd: Type.Optional(CdBody),
  s2: Type.Optional(S2Body),
});

const StageNumber = Type.Union([Type.Literal(1), Type.Literal(2)], { description: 'translation stage' });

const MapBody = Body({
  stage: StageNumber,
  iova: Hex('input address (gIOVA for stage 1, IPA for stage 2)'),
  output: Hex('output address'),
  size: Hex('size in bytes, a multiple of the granule'),
  perm: Type.Optional(Type.Union([Type.Literal('rw'), Type.Literal('ro')], { description: 'access permission (default rw)' })),
  accessFlag: Type.Optional(Type.Boolean({ description: 'leaf PTE AF (default true)' })),
});

const MappingParams = Type.Object({ vm: Id('VM id'), dev: Id('device id'), stage: Type.Union([Type.Literal(1), Type.Literal(2)]), iova: Hex('input address the mapping starts at') });

const VectorParams = Type.Object({ vm: Id('VM id'), dev: Id('device id'), n: Type.Integer({ minimum: 0, maximum: 2047, description: 'MSI-X table entry' }) });
const VectorBody = Body({ address: Hex('message address the guest wrote (a gIOVA behind an SMMU)'), data: Hex('message data (EventID), 32 bits') });

const devicePath = (vm: string, dev: string) => `/v1/vms/${vm}/devices/${dev}`;

export function deviceRoutes(app: FastifyInstance, stores: Stores): void {
  app.post<{ Params: Static<typeof VmParams>; Body: Static<typeof AttachDeviceBody> }>(
    '/v1/vms/:vm/devices',
    { schema: { tags: ['topology'], summary: 'Attach a device (DeviceAttached)', params: VmParams, body: AttachDeviceBody, headers: CommandHeaders, response: commandResponses(201, 'the device') } },
    (request, reply) => {
      const { vm } = request.params;
      const b = request.body;
      return runCommand(stores, request, reply, {
        vmId: vm,
        command: { type: 'AttachDevice', deviceId: b.id, driver: b.driver, bus: b.bus, slot: b.slot, function: b.function, host: b.host, iommufd: b.iommufd },
        status: 201,
        render: ({ state }) => ({ body: deviceResource(state, state.devices.get(b.id)!), location: devicePath(vm, b.id) }),
      });
    },
  );

  const GetDeviceQuery = Type.Object({ ...AsOfQuery });
  app.get<{ Params: Static<typeof DeviceParams>; Querystring: Static<typeof GetDeviceQuery> }>(
    '/v1/vms/:vm/devices/:dev',
    { schema: { tags: ['topology'], summary: 'Read a device: placement, stream id, STE, vectors', params: DeviceParams, querystring: GetDeviceQuery, response: errorResponses(400, 404) } },
    (request, reply) => {
      const state = loadVm(stores, request.params.vm, request.query.asOf);
      return sendJson(reply, deviceResource(state, getDevice(state, request.params.dev)), { version: state.version });
    },
  );

  app.delete<{ Params: Static<typeof DeviceParams> }>(
    '/v1/vms/:vm/devices/:dev',
    { schema: { tags: ['topology'], summary: 'Detach a device (DeviceDetached)', params: DeviceParams, headers: CommandHeaders, response: commandResponses(200, 'the detached device id') } },
    (request, reply) => {
      const { vm, dev } = request.params;
      return runCommand(stores, request, reply, {
        vmId: vm,
        command: { type: 'DetachDevice', deviceId: dev },
        status: 200,
        render: () => ({ body: { id: dev, detached: true } }),
      });
    },
  );

  app.put<{ Params: Static<typeof DeviceParams>; Body: Static<typeof SteBody> }>(
    '/v1/vms/:vm/devices/:dev/ste',
    { schema: { tags: ['topology'], summary: 'Replace the STE the guest programmed (SteConfigured)', params: DeviceParams, body: SteBody, headers: CommandHeaders, response: commandResponses(200, 'the device') } },
    (request, reply) => {
      const { vm, dev } = request.params;
      const b = request.body;
      return runCommand(stores, request, reply, {
        vmId: vm,
        command: { type: 'ConfigureSte', deviceId: dev, config: b.config, cd: b.cd, s2: b.s2 },
        status: 200,
        render: ({ state }) => ({ body: deviceResource(state, state.devices.get(dev)!) }),
      });
    },
  );

  app.post<{ Params: Static<typeof DeviceParams>; Body: Static<typeof MapBody> }>(
    '/v1/vms/:vm/devices/:dev/mappings',
    { schema: { tags: ['topology'], summary: 'Map an IOVA range at stage 1 or 2 (IovaMapped)', params: DeviceParams, body: MapBody, headers: CommandHeaders, response: commandResponses(201, 'the mapping') } },
    (request, reply) => {
      const { vm, dev } = request.params;
      const b = request.body;
      const iova = u64(b.iova);
      return runCommand(stores, request, reply, {
        vmId: vm,
        command: { type: 'MapIova', deviceId: dev, stage: b.stage, iova, output: u64(b.output), size: u64(b.size), perm: b.perm, accessFlag: b.accessFlag },
        status: 201,
        render: ({ state }) => ({
          body: mappingResource(dev, state.devices.get(dev)!.mappings[b.stage].at(iova)!.value),
          location: `${devicePath(vm, dev)}/mappings/${b.stage}/0x${iova.toString(16)}`,
        }),
      });
    },
  );

  const ListMappingsQuery = Type.Object({ stage: Type.Optional(StageNumber), ...AsOfQuery, ...ListQuery });
  app.get<{ Params: Static<typeof DeviceParams>; Querystring: Static<typeof ListMappingsQuery> }>(
    '/v1/vms/:vm/devices/:dev/mappings',
    { schema: { tags: ['topology'], summary: "A device's mappings in address order (stage 1, then stage 2)", params: DeviceParams, querystring: ListMappingsQuery, response: errorResponses(400, 404) } },
    (request, reply) => {
      const { vm, dev } = request.params;
      const { stage, asOf, limit = 50, offset = 0 } = request.query;
      const state = loadVm(stores, vm, asOf);
      const device = getDevice(state, dev);
      const stages: Stage[] = stage === undefined ? [1, 2] : [stage];
      const total = stages.reduce((n, s) => n + device.mappings[s].count, 0);
      const items = stages.flatMap((s) => [...device.mappings[s].ranges()].map((r) => mappingResource(dev, r.value))).slice(offset, offset + limit);
      const query = stage === undefined ? '' : `?stage=${stage}`;
      return sendJson(reply, page(items, total, limit, offset, `${devicePath(vm, dev)}/mappings${query}`), { version: state.version });
    },
  );

  const GetMappingQuery = Type.Object({ ...AsOfQuery });
  app.get<{ Params: Static<typeof MappingParams>; Querystring: Static<typeof GetMappingQuery> }>(
    '/v1/vms/:vm/devices/:dev/mappings/:stage/:iova',
    { schema: { tags: ['topology'], summary: 'Read the mapping that starts at iova', params: MappingParams, querystring: GetMappingQuery, response: errorResponses(400, 404) } },
    (request, reply) => {
      const { vm, dev, stage, iova } = request.params;
      const state = loadVm(stores, vm, request.query.asOf);
      const mapping = getDevice(state, dev).mappings[stage].at(u64(iova));
      if (mapping === undefined) throw new DomainError('MAPPING_NOT_FOUND', `no stage-${stage} mapping of device ${dev} starts at ${iova}`);
      return sendJson(reply, mappingResource(dev, mapping.value), { version: state.version });
    },
  );

  app.delete<{ Params: Static<typeof MappingParams> }>(
    '/v1/vms/:vm/devices/:dev/mappings/:stage/:iova',
    { schema: { tags: ['topology'], summary: 'Unmap the range that starts at iova (IovaUnmapped)', params: MappingParams, headers: CommandHeaders, response: commandResponses(200, 'the removed mapping') } },
    (request, reply) => {
      const { vm, dev, stage, iova } = request.params;
      const start = u64(iova);
      return runCommand(stores, request, reply, {
        vmId: vm,
        command: { type: 'UnmapIova', deviceId: dev, stage, iova: start },
        status: 200,
        render: () => ({ body: { device: dev, stage, iova: start, unmapped: true } }),
      });
    },
  );

  app.put<{ Params: Static<typeof VectorParams>; Body: Static<typeof VectorBody> }>(
    '/v1/vms/:vm/devices/:dev/msi-vectors/:n',
    { schema: { tags: ['topology'], summary: 'Record an MSI-X table write by the guest (MsiVectorProgrammed)', params: VectorParams, body: VectorBody, headers: CommandHeaders, response: commandResponses(200, 'the vector') } },
    (request, reply) => {
      const { vm, dev, n } = request.params;
      return runCommand(stores, request, reply, {
        vmId: vm,
        command: { type: 'ProgramMsiVector', deviceId: dev, vector: n, address: u64(request.body.address), data: u64(request.body.data) },
        status: 200,
        render: ({ state }) => ({ body: vectorResource(dev, state.devices.get(dev)!.vectors.get(n)!) }),
      });
    },
  );
}
