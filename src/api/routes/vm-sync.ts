// Staying in sync with the lab (issue 20): POST /v1/vms/{vm}/imports reads a source again into
// the VM, GET /v1/vms/{vm}/diff and diff.svg say what changed between two versions.

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { reimportVm } from '../../app/reimport-vm.js';
import { vmDiff } from '../../app/vm-diff.js';
import { bigintsToHex } from '../../domain/address.js';
import { type DiffView, diffPicture } from '../../pictures/diff-picture.js';
import { commandContext, type RouteOptions, sendAnswer, sendJsonText, sendSvg } from '../http.js';
import { baseUrlOf } from '../links.js';
import { commandResponses, CommandHeaders, readResponses, VmParams } from '../schemas/common.js';
import { svgResponses } from '../schemas/picture.js';
import { DiffPictureQuery, DiffQuery, DiffSchema, ReimportAnswer, ReimportBody } from '../schemas/vm-sync.js';

export const vmSyncRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { services, publicUrl }) => {
  app.post(
    '/v1/vms/:vm/imports',
    {
      schema: {
        operationId: 'reimportVm',
        tags: ['vms'],
        summary: 'Read a command line or a libvirt domain again into the VM: append only what changed',
        description:
          "The source is read as POST /v1/vm-imports reads it and compared with the VM; the commands that turn the VM into it (devices detached and attached, buses and SMMUs removed and added, accel on or off, the board) are appended as one change, each event with metadata.importedFrom {format, sha256}. Parts that stay keep their guest state (STEs, mappings, vectors); a part whose place or kind changed is removed and added again (a device at another slot starts from its defaults), and so is everything behind a bus that goes. The same source again: changes [] and nothing appended. dryRun: the same answer, nothing appended. routes: the programmed vectors whose route the change moves. What the source does not state (hostItsBase, rmrHonoured, the declared QEMU build and guest profile) stays. The VM's virtio-iommu cannot be removed (422 DEVICE_NOT_UNPLUGGABLE).",
        params: VmParams,
        body: ReimportBody,
        headers: CommandHeaders,
        response: commandResponses(200, ReimportAnswer, 'the changes, the routes they move, and the events appended'),
      },
    },
    async (request, reply) => {
      const b = request.body;
      const answer = await reimportVm(services, {
        vmId: request.params.vm,
        format: b.format,
        source: b.source,
        dryRun: b.dryRun,
        gicVersion: b.gicVersion,
        busNumbers: b.busNumbers,
        ...commandContext(request),
      });
      return sendAnswer(reply, answer);
    },
  );

  const DIFF_DESCRIPTION =
    'The parts added, removed and changed between two versions (as a re-import compares them), each with the positions of the events that touched it, and the programmed vectors whose route changed. ETag "<from>-<to>-<semantics>"; If-None-Match answers 304. A from after to, or a to the VM does not have: 400 naming the parameter.';

  app.get(
    '/v1/vms/:vm/diff',
    {
      schema: {
        operationId: 'getVmDiff',
        tags: ['vms'],
        summary: 'What changed in the VM between two versions',
        description: DIFF_DESCRIPTION,
        params: VmParams,
        querystring: DiffQuery,
        response: readResponses(DiffSchema, 'the diff'),
      },
    },
    async (request, reply) => {
      const { diff, etag } = await vmDiff(services, {
        vmId: request.params.vm,
        ...request.query,
        baseUrl: baseUrlOf(request, publicUrl),
      });
      reply.header('etag', etag).header('cache-control', 'no-cache');
      return sendJsonText(reply, JSON.stringify(bigintsToHex(diff)));
    },
  );

  app.get(
    '/v1/vms/:vm/diff.svg',
    {
      schema: {
        operationId: 'getVmDiffPicture',
        tags: ['vms'],
        summary: 'The diff as a picture: parts added, removed and changed, and the routes that changed',
        description: DIFF_DESCRIPTION,
        params: VmParams,
        querystring: DiffPictureQuery,
        response: svgResponses('the diff (image/svg+xml)', { etag: true }),
      },
    },
    async (request, reply) => {
      const { diff, etag, tree } = await vmDiff(services, {
        vmId: request.params.vm,
        ...request.query,
        baseUrl: baseUrlOf(request, publicUrl),
      });
      return sendSvg(reply, diffPicture(bigintsToHex(diff) as unknown as DiffView, tree), { etag });
    },
  );
};
