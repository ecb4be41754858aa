// Import a VM from a qemu-system-aarch64 command line or a libvirt domain, and export a VM as
// either (contract v1.1: POST /v1/vm-imports, GET /v1/vms/{vm}/qemu-cmdline and /libvirt-xml).

import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { vmPath } from '../../app/links.js';
import type { FastifyReply } from 'fastify';
import { importVm } from '../../app/import-vm.js';
import { loadVm } from '../../app/load-vm.js';
import { etagOf } from '../../errors/problem.js';
import { writeLibvirtXml } from '../../interchange/libvirt-xml/write.js';
import { writeQemuCmdline } from '../../interchange/qemu-cmdline/write.js';
import { commandContext, type RouteOptions, sendAnswer } from '../http.js';
import { baseUrlOf } from '../links.js';
import { vmResource } from '../representations.js';
import { AsOfQuery, CommandHeaders, commandResponses, Query, VmParams } from '../schemas/common.js';
import { exportResponses, ImportBody } from '../schemas/interchange.js';

function sendExport(
  reply: FastifyReply,
  type: string,
  version: number,
  exported: { text: string; busNumbers: Record<string, number> },
): void {
  if (Object.keys(exported.busNumbers).length > 0)
    reply.header('doorbell-bus-numbers', JSON.stringify(exported.busNumbers));
  reply.header('etag', etagOf(version)).header('cache-control', 'no-cache').type(type).send(exported.text);
}

export const interchangeRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { services, publicUrl }) => {
  app.post(
    '/v1/vm-imports',
    {
      schema: {
        operationId: 'importVm',
        tags: ['vms'],
        summary: 'Create a VM from a qemu-system-aarch64 command line or a libvirt domain, in one atomic append',
        description:
          'qemu (the object of PUT /v1/vms/{vm}/qemu) and guest (the object of PUT /v1/vms/{vm}/guest) are declared in the same append, right after VmDefined, so every part is checked against the build. Every event carries metadata.importedFrom {format, sha256}. The report lists what each part of the source became, what was ignored and why, and the rule behind each bus number (EDK2 firmware numbering unless busNumbers gives it). Malformed text: 400 IMPORT_SOURCE_MALFORMED with errors[].token (command line) or errors[].line/column (XML). A topology rule broken by the text: its 409/422 code, pointing at the -device or element. An existing VM: 409 VM_EXISTS. Nothing is written on any error.',
        body: ImportBody,
        headers: CommandHeaders,
        response: commandResponses(
          201,
          Type.Intersect([Type.Ref('Vm'), Type.Object({ report: Type.Ref('ImportReport') })]),
          'the VM (as GET /v1/vms/{vm}), the events appended and the report',
        ),
      },
    },
    async (request, reply) => {
      const b = request.body;
      const answer = await importVm(services, {
        vmId: b.vm,
        format: b.format,
        source: b.source,
        busNumbers: b.busNumbers,
        gicVersion: b.gicVersion,
        qemu: b.qemu,
        guest: b.guest,
        represent: ({ state }, report) => ({
          body: { ...vmResource(state, baseUrlOf(request, publicUrl)), report },
          location: vmPath(state.id),
        }),
        ...commandContext(request),
      });
      return sendAnswer(reply, answer);
    },
  );

  app.get(
    '/v1/vms/:vm/qemu-cmdline',
    {
      schema: {
        operationId: 'exportQemuCmdline',
        tags: ['vms'],
        summary: 'The VM as a qemu-system-aarch64 command line that imports back to the same topology',
        description:
          'Buses, SMMUs, devices and the board; root ports get addr= (and bus-reserve=) so that EDK2 numbers them as stored. STEs, mappings and vectors are guest state, not command-line options.',
        params: VmParams,
        querystring: Query({ ...AsOfQuery }),
        response: exportResponses('text/plain', 'the command line, one option per line with continuations'),
      },
    },
    async (request, reply) => {
      const state = await loadVm(services, request.params.vm, request.query.asOf);
      return sendExport(reply, 'text/plain; charset=utf-8', state.version, writeQemuCmdline(state));
    },
  );

  app.get(
    '/v1/vms/:vm/libvirt-xml',
    {
      schema: {
        operationId: 'exportLibvirtXml',
        tags: ['vms'],
        summary: 'The VM as a libvirt <domain> that imports back to the same topology',
        description:
          "Controllers pcie-root, pcie-expander-bus and pcie-root-port, hostdevs, emulated interfaces and disks, one <iommu model='smmuv3'> per SMMU; ids as user aliases (ua-ID).",
        params: VmParams,
        querystring: Query({ ...AsOfQuery }),
        response: exportResponses('application/xml', 'the domain XML'),
      },
    },
    async (request, reply) => {
      const state = await loadVm(services, request.params.vm, request.query.asOf);
      return sendExport(reply, 'application/xml; charset=utf-8', state.version, writeLibvirtXml(state));
    },
  );
};
