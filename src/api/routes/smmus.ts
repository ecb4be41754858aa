// SMMUs: add an arm-smmuv3, toggle accel mode, and record the guest driver's SMMU state.

import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Stores } from '../../db/stores';
import { getSmmu } from '../../domain/topology/decide';
import { runCommand, sendJson } from '../command';
import { loadVm } from '../load';
import { smmuResource } from '../representations';
import { AsOfQuery, Body, CommandHeaders, commandResponses, errorResponses, Id, SmmuParams, VmParams } from '../schemas';

const AddSmmuBody = Body({
  id: Id('SMMU id (QEMU id), e.g. smmuv3.0'),
  primaryBus: Id('pcie.0 or a pxb-pcie id'),
  accel: Type.Optional(Type.Boolean({ description: 'accel=on: nested, hardware-accelerated mode (default false)' })),
  stage: Type.Optional(Type.Union([Type.Literal('1'), Type.Literal('2'), Type.Literal('nested')], { description: 'stage property (default "1")' })),
  oas: Type.Optional(Type.Integer({ description: 'output address size in bits: 44 (default), or 48 with accel' })),
});

const AccelBody = Body({ enabled: Type.Boolean({ description: 'accel=on' }) });

const GuestStateBody = Type.Object(
  {
    enabled: Type.Optional(Type.Boolean({ description: 'CR0.SMMUEN' })),
    gbpaAbort: Type.Optional(Type.Boolean({ description: 'GBPA.ABORT (used while SMMUEN=0)' })),
    eventqEnabled: Type.Optional(Type.Boolean({ description: 'CR0.EVENTQEN' })),
    streamTableLog2Size: Type.Optional(Type.Integer({ minimum: 0, maximum: 31, description: 'STRTAB_BASE_CFG.LOG2SIZE' })),
  },
  { additionalProperties: false, minProperties: 1 },
);

export function smmuRoutes(app: FastifyInstance, stores: Stores): void {
  app.post<{ Params: Static<typeof VmParams>; Body: Static<typeof AddSmmuBody> }>(
    '/v1/vms/:vm/smmus',
    { schema: { tags: ['topology'], summary: 'Add an arm-smmuv3 (SmmuAdded)', params: VmParams, body: AddSmmuBody, headers: CommandHeaders, response: commandResponses(201, 'the SMMU') } },
    (request, reply) => {
      const { vm } = request.params;
      const b = request.body;
      return runCommand(stores, request, reply, {
        vmId: vm,
        command: { type: 'AddSmmu', smmuId: b.id, primaryBus: b.primaryBus, accel: b.accel, stage: b.stage, oas: b.oas },
        status: 201,
        render: ({ state }) => ({ body: smmuResource(state.smmus.get(b.id)!), location: `/v1/vms/${vm}/smmus/${b.id}` }),
      });
    },
  );

  const GetSmmuQuery = Type.Object({ ...AsOfQuery });
  app.get<{ Params: Static<typeof SmmuParams>; Querystring: Static<typeof GetSmmuQuery> }>(
    '/v1/vms/:vm/smmus/:smmu',
    { schema: { tags: ['topology'], summary: "Read an SMMU: mode and the guest driver's state", params: SmmuParams, querystring: GetSmmuQuery, response: errorResponses(400, 404) } },
    (request, reply) => {
      const state = loadVm(stores, request.params.vm, request.query.asOf);
      return sendJson(reply, smmuResource(getSmmu(state, request.params.smmu)), { version: state.version });
    },
  );

  app.put<{ Params: Static<typeof SmmuParams>; Body: Static<typeof AccelBody> }>(
    '/v1/vms/:vm/smmus/:smmu/accel',
    { schema: { tags: ['topology'], summary: 'Enable or disable accel mode (SmmuAccelModeChanged)', params: SmmuParams, body: AccelBody, headers: CommandHeaders, response: commandResponses(200, 'the SMMU') } },
    (request, reply) => {
      const { vm, smmu } = request.params;
      return runCommand(stores, request, reply, {
        vmId: vm,
        command: { type: 'SetSmmuAccel', smmuId: smmu, enabled: request.body.enabled },
        status: 200,
        render: ({ state }) => ({ body: smmuResource(state.smmus.get(smmu)!) }),
      });
    },
  );

  app.put<{ Params: Static<typeof SmmuParams>; Body: Static<typeof GuestStateBody> }>(
    '/v1/vms/:vm/smmus/:smmu/guest-state',
    { schema: { tags: ['topology'], summary: "Record the guest driver's SMMU state (SmmuGuestStateChanged)", params: SmmuParams, body: GuestStateBody, headers: CommandHeaders, response: commandResponses(200, 'the SMMU') } },
    (request, reply) => {
      const { vm, smmu } = request.params;
      return runCommand(stores, request, reply, {
        vmId: vm,
        command: { type: 'SetSmmuGuestState', smmuId: smmu, changes: request.body },
        status: 200,
        render: ({ state }) => ({ body: smmuResource(state.smmus.get(smmu)!) }),
      });
    },
  );
}
