// VMs: define one, list them, read one's topology (optionally as of a version), declare the QEMU
// build it runs, and draw its topology.

import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { vmPath } from '../../app/links.js';
import { executeCommand } from '../../app/execute-command.js';
import { STREAM_STATUSES } from '../../db/port.js';
import { topologyPicture } from '../../pictures/topology-picture.js';
import type { VmView } from '../../pictures/topology-view.js';
import { bigintsToHex } from '../../domain/address.js';
import { baseUrlOf } from '../links.js';
import { ListQueryOf, listParameters, listResponses, sendPage } from '../lists.js';
import { etagOf } from '../../errors/problem.js';
import { listVms, loadVm } from '../../app/load-vm.js';
import { commandContext, optionalU64, sendAnswer, sendJson, sendSvg, type RouteOptions } from '../http.js';
import { svgResponses } from '../schemas/picture.js';
import { QemuBody } from '../schemas/qemu-build.js';
import { vmResource } from '../representations.js';
import {
  AsOfQuery,
  CommandHeaders,
  commandResponses,
  OneOf,
  Query,
  readResponses,
  VmParams,
} from '../schemas/common.js';
import { DefineVmBody } from '../schemas/vm.js';

const VmRef = Type.Ref('Vm');

export const vmRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { services, publicUrl }) => {
  app.post(
    '/v1/vms',
    {
      schema: {
        operationId: 'defineVm',
        tags: ['vms'],
        summary:
          'Define a VM (VmDefined, then QemuBuildDeclared when qemu is given, GuestProfileDeclared when guest is)',
        description:
          'qemu declares the QEMU build the VM runs (domain reference §10); a malformed field of it is a 400 naming it (errors[].pointer such as /qemu/version).',
        body: DefineVmBody,
        headers: CommandHeaders,
        response: commandResponses(201, VmRef, 'the VM'),
      },
    },
    async (request, reply) => {
      const b = request.body;
      const answer = await executeCommand(services, {
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
          defaultBusBypassIommu: b.defaultBusBypassIommu,
          qemu: b.qemu,
          guest: b.guest,
        },
        status: 201,
        represent: ({ state }) => ({
          body: vmResource(state, baseUrlOf(request, publicUrl)),
          location: vmPath(state.id),
        }),
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
        summary: 'List VMs with their projected topology (in service only, unless status says otherwise)',
        querystring: ListQueryOf(
          {
            status: Type.Optional(
              OneOf(
                STREAM_STATUSES,
                'active (default): VMs in service; decommissioned: those taken out of service; all: both',
              ),
            ),
          },
          ['id', 'version'],
        ),
        response: listResponses(VmRef, 'a page of VMs'),
      },
    },
    async (request, reply) => {
      const { status = 'active' } = request.query;
      const { limit, offset, brief, ordering } = listParameters(request.query, 'id');
      const base = baseUrlOf(request, publicUrl);
      const { states, total } = await listVms(services, {
        limit,
        offset,
        status,
        orderBy: ordering.field as 'id' | 'version',
        descending: ordering.descending,
      });
      const vms = states.map((state) => vmResource(state, base));
      sendPage(reply, request, publicUrl, { items: vms, total, limit, offset, brief });
    },
  );

  app.delete(
    '/v1/vms/:vm',
    {
      schema: {
        operationId: 'decommissionVm',
        tags: ['vms'],
        summary: 'Decommission a VM (VmDecommissioned): it takes no more commands; history and records stay readable',
        description:
          'Afterwards every command on the VM is a 409 VM_DECOMMISSIONED, and so is defining a VM with its id again (the id stays bound to its history). GET of the VM, its parts, events and resolution records still answer; GET /v1/vms lists it only with status=decommissioned or status=all.',
        params: VmParams,
        headers: CommandHeaders,
        response: commandResponses(200, VmRef, 'the VM as decommissioned'),
      },
    },
    async (request, reply) => {
      const answer = await executeCommand(services, {
        vmId: request.params.vm,
        command: { type: 'DecommissionVm' },
        status: 200,
        represent: ({ state }) => ({ body: vmResource(state, baseUrlOf(request, publicUrl)) }),
        ...commandContext(request),
      });
      return sendAnswer(reply, answer);
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
    async (request, reply) => {
      const { asOf } = request.query;
      const state = await loadVm(services, request.params.vm, asOf);
      return sendJson(reply, vmResource(state, baseUrlOf(request, publicUrl), asOf), { version: state.version });
    },
  );

  app.put(
    '/v1/vms/:vm/qemu',
    {
      schema: {
        operationId: 'declareQemuBuild',
        tags: ['vms'],
        summary: 'Declare the QEMU build the VM runs now: an upgrade, a downgrade, a probe result (QemuBuildDeclared)',
        description:
          'Classified by the rules Q1-Q8 (GET /v1/qemu-builds). A build that cannot create what the VM has is refused: an SMMU with accel=on on a build without accel mode (422 ACCEL_NOT_IN_QEMU_BUILD), an SMMU that must be a -device arm-smmuv3 (on a pxb-pcie, or beside another) on a build before 10.2, virtio-iommu-pci on a build before 7.0 (422 QEMU_BUILD_LACKS_CAPABILITY). The same evidence again appends nothing. Resolutions without semantics then use the new behaviour; with asOf, the build declared at that version.',
        params: VmParams,
        body: QemuBody,
        headers: CommandHeaders,
        response: commandResponses(200, VmRef, 'the VM'),
      },
    },
    async (request, reply) => {
      const answer = await executeCommand(services, {
        vmId: request.params.vm,
        command: { type: 'DeclareQemuBuild', qemu: request.body },
        status: 200,
        represent: ({ state }) => ({ body: vmResource(state, baseUrlOf(request, publicUrl)) }),
        ...commandContext(request),
      });
      return sendAnswer(reply, answer);
    },
  );

  app.get(
    '/v1/vms/:vm/topology.svg',
    {
      schema: {
        operationId: 'getVmTopologyPicture',
        tags: ['vms'],
        summary: 'The VM as a picture: root complexes, ports, SMMUs (accel marked), devices with stream ids, the ITS',
        params: VmParams,
        querystring: Query({ ...AsOfQuery }),
        response: svgResponses('the topology (image/svg+xml)', { etag: true }),
      },
    },
    async (request, reply) => {
      const state = await loadVm(services, request.params.vm, request.query.asOf);
      const view = bigintsToHex(vmResource(state, baseUrlOf(request, publicUrl))) as unknown as VmView;
      return sendSvg(reply, topologyPicture(view), { etag: etagOf(state.version) });
    },
  );
};
