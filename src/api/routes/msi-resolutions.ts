// MSI doorbell resolutions and sweeps: parse, call the application, send what it answers. Stored
// records are sent back as they were stored, byte for byte.

import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { pictureUrls } from '../../app/links.js';
import {
  DEFAULT_SWEEP_PAGE,
  listRecords,
  resolveMsi,
  storedResolution,
  storedSweep,
  sweepVm,
} from '../../app/resolve-msi.js';
import { resolutionPicture } from '../../pictures/resolution-picture.js';
import type { ResolutionView } from '../../pictures/resolution-view.js';
import { baseUrlOf } from '../links.js';
import { type ListParameters, ListQueryOf, listLink, listParameters, listResponses } from '../lists.js';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { resolutionPath, sweepPath } from '../../app/links.js';
import {
  type ListedRecord,
  RECORD_ORDERINGS,
  type RecordFilter,
  type RecordOrder,
  SWEEP_ORDERINGS,
} from '../../db/port.js';
import { SEMANTICS } from '../../domain/resolve/types.js';
import { idempotencyOf, optionalU64, page, sendAnswer, sendJsonText, sendSvg, type RouteOptions } from '../http.js';
import { svgResponses } from '../schemas/picture.js';
import { CommandHeaders, errorResponses, Id, ListQuery, OneOf, Query, VmParams } from '../schemas/common.js';
import { RecordParams, ResolveBody, SweepBody } from '../schemas/resolution.js';

/** The filters of the record lists (contract v1.1). */
const RecordFilters = {
  device: Type.Optional(Id('only records about this device', 'hostdev0')),
  semantics: Type.Optional(OneOf(SEMANTICS, 'only records resolved under these semantics')),
  installed: Type.Optional(
    Type.Boolean({ description: 'only records whose route was installed (true) or not (false)' }),
  ),
  misroutedBeforeFix: Type.Optional(
    Type.Boolean({ description: 'only records that the pre-fix semantics misroutes (true) or not (false)' }),
  ),
};

/** A sweep in a list: its head (counts, no results), with its url and display. */
const SweepHead = Type.Object(
  {
    id: Type.String(),
    url: Type.String({ format: 'uri' }),
    display: Type.String(),
    vm: Type.String(),
    asOfVersion: Type.Integer(),
    semantics: Type.Optional(Type.String()),
    counts: Type.Object({}, { additionalProperties: true }),
  },
  { additionalProperties: true, description: 'a sweep without its results (GET its url for them)' },
);

/** A resolution in a list: its url and display, then the record as it was returned. */
const ListedResolution = Type.Intersect(
  [Type.Object({ url: Type.String({ format: 'uri' }), display: Type.String() }), Type.Ref('Resolution')],
  { description: 'a stored resolution, after its url (GET it for the record alone) and display' },
);

const LocationHeader = { Location: { type: 'string', description: 'where the record can be read again' } };
const created = (schema: 'Resolution' | 'Sweep', description: string) => ({
  201: { description, headers: LocationHeader, content: { 'application/json': { schema: Type.Ref(schema) } } },
  ...errorResponses(400, 404, 415, 422),
});
const found = (schema: 'Resolution' | 'Sweep', headers?: object) => ({
  200: {
    description: `the stored ${schema.toLowerCase()}, byte for byte`,
    headers,
    content: { 'application/json': { schema: Type.Ref(schema) } },
  },
  ...errorResponses(400, 404),
});

const PictureLink = {
  Link: {
    type: 'string',
    description:
      '<...svg>; rel="alternate"; type="image/svg+xml": the picture, also for records stored before they carried `picture`',
  },
};

export const resolutionRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { services, publicUrl }) => {
  const { stores } = services;
  app.post(
    '/v1/vms/:vm/msi-resolutions',
    {
      schema: {
        operationId: 'resolveMsi',
        tags: ['msi'],
        summary: 'Resolve where one MSI lands (all three semantics compared) and keep the record',
        description:
          "A fault is not an error: it is a 201 whose route.installed is false. An unknown device or vector is a 404. Without semantics, the VM's declared QEMU build picks it (upstream or address-space), else upstream with a QEMU_BUILD_UNKNOWN diagnostic; semanticsSource says which. With asOf, the build declared at that version applies.",
        params: VmParams,
        body: ResolveBody,
        headers: CommandHeaders,
        response: created('Resolution', 'the resolution (also when it faults: route.installed is false)'),
      },
    },
    async (request, reply) => {
      const b = request.body;
      const answer = await resolveMsi(services, {
        vmId: request.params.vm,
        msi: { device: b.device, vector: b.vector, address: optionalU64(b.address), data: optionalU64(b.data) },
        semantics: b.semantics,
        asOf: b.asOf,
        idempotency: idempotencyOf(request),
        baseUrl: baseUrlOf(request, publicUrl),
      });
      return sendAnswer(reply, answer);
    },
  );

  app.get(
    '/v1/msi-resolutions/:id',
    {
      schema: {
        operationId: 'getResolution',
        tags: ['msi'],
        summary: 'A stored resolution, exactly as it was returned',
        params: RecordParams,
        response: found('Resolution', PictureLink),
      },
    },
    async (request, reply) => {
      const body = await storedResolution(stores, request.params.id);
      const picture = pictureUrls.resolution(baseUrlOf(request, publicUrl), request.params.id);
      return sendJsonText(reply.header('link', `<${picture}>; rel="alternate"; type="image/svg+xml"`), body);
    },
  );

  app.get(
    '/v1/msi-resolutions/:id.svg',
    {
      schema: {
        operationId: 'getResolutionPicture',
        tags: ['msi'],
        summary: 'The translation path of a stored resolution, as a picture',
        description:
          'A column per semantics (pre-fix, address-space, upstream) and the hardware path, a row per step, each box with its addresses and the event positions it relied on; the faulting step outlined, the steps after it marked not reached. Drawn from the stored record, also from records stored before they carried `picture`.',
        params: RecordParams,
        response: svgResponses('the picture (image/svg+xml)'),
      },
    },
    async (request, reply) => {
      const record = JSON.parse(await storedResolution(stores, request.params.id)) as ResolutionView;
      return sendSvg(reply, resolutionPicture(record));
    },
  );

  const recordList = (kind: 'resolutions' | 'sweeps', scope: 'all' | 'vm') => ({
    operationId: {
      resolutions: { all: 'listResolutions', vm: 'listVmResolutions' },
      sweeps: { all: 'listSweeps', vm: 'listVmSweeps' },
    }[kind][scope],
    tags: ['msi'],
    summary:
      kind === 'resolutions'
        ? `Stored resolutions${scope === 'vm' ? ' of the VM' : ''} (sweeps' included), oldest first; filters ${scope === 'all' ? 'vm, ' : ''}device, semantics, installed, misroutedBeforeFix`
        : `Stored sweeps${scope === 'vm' ? ' of the VM' : ''} (each its head: counts, no results), oldest first; filters ${scope === 'all' ? 'vm, ' : ''}device, semantics, installed, misroutedBeforeFix`,
    description:
      kind === 'resolutions'
        ? 'Each item is the record byte for byte as it was first returned. Records stored before these filters existed whose body is shared and compressed have no device, semantics, installed or misroutedBeforeFix to filter on: a filter on those does not match them.'
        : 'A sweep matches device when it resolved a vector of that device, installed=true when every route was installed (false: some was not), misroutedBeforeFix=true when some vector was misrouted before the fix.',
    querystring: ListQueryOf(
      { ...(scope === 'all' ? { vm: Type.Optional(Id('only records of this VM', 'vm1')) } : {}), ...RecordFilters },
      kind === 'resolutions' ? RECORD_ORDERINGS : SWEEP_ORDERINGS,
    ),
    response: listResponses(
      kind === 'resolutions' ? ListedResolution : SweepHead,
      kind === 'resolutions' ? 'a page of resolutions' : 'a page of sweeps',
    ),
  });

  /** Answers a page of records: the stored JSON spliced in as it is, or brief items. */
  const sendRecords = async (
    request: FastifyRequest,
    reply: FastifyReply,
    kind: 'resolutions' | 'sweeps',
    filter: RecordFilter,
    query: ListParameters,
    ofVm = false,
  ) => {
    const { limit, offset, brief, ordering } = listParameters(query, 'created');
    const base = baseUrlOf(request, publicUrl);
    const { records, total } = await listRecords(services, kind, filter, ordering as RecordOrder<'created'>, {
      limit,
      offset,
      ofVm,
    });
    const urlOf = (id: string) => `${base}${kind === 'resolutions' ? resolutionPath(id) : sweepPath(id)}`;
    const displayOf = (r: ListedRecord) =>
      `${kind === 'resolutions' ? 'resolution' : 'sweep'} of ${r.device === null ? '' : `${r.device} in `}${r.vm}${r.semantics === null ? '' : ` (${r.semantics})`}`;
    const envelope = JSON.stringify(page([], total, limit, offset, listLink(request, publicUrl)));
    const items = brief
      ? records.map((r) => JSON.stringify({ id: r.id, url: urlOf(r.id), display: displayOf(r) }))
      : kind === 'resolutions'
        ? // The record as it was returned, byte for byte, after its url and display.
          records.map(
            (r) => `${JSON.stringify({ url: urlOf(r.id), display: displayOf(r) }).slice(0, -1)},${r.text.slice(1)}`,
          )
        : records.map((r) => {
            const { results: _results, ...head } = JSON.parse(r.text) as Record<string, unknown>;
            return JSON.stringify({ ...head, url: urlOf(r.id), display: displayOf(r) });
          });
    sendJsonText(reply, `${envelope.slice(0, -2)}${items.join(',')}]}`);
  };

  for (const kind of ['resolutions', 'sweeps'] as const) {
    app.get(`/v1/msi-${kind}`, { schema: recordList(kind, 'all') }, async (request, reply) => {
      const { vm, device, semantics, installed, misroutedBeforeFix } = request.query;
      await sendRecords(request, reply, kind, { vm, device, semantics, installed, misroutedBeforeFix }, request.query);
    });

    app.get(
      `/v1/vms/:vm/msi-${kind}`,
      { schema: { ...recordList(kind, 'vm'), params: VmParams } },
      async (request, reply) => {
        const { vm } = request.params;
        const { device, semantics, installed, misroutedBeforeFix } = request.query;
        // An unknown VM is a 404, a decommissioned one still answers.
        await sendRecords(
          request,
          reply,
          kind,
          { vm, device, semantics, installed, misroutedBeforeFix },
          request.query,
          true,
        );
      },
    );
  }

  app.post(
    '/v1/vms/:vm/msi-sweeps',
    {
      schema: {
        operationId: 'sweepVm',
        tags: ['msi'],
        summary: 'Resolve every programmed vector of the VM and count what is misrouted, missing, lost or blocked',
        description:
          'Answers the page of results that limit and offset name (default: the first 50, as every list), with next and previous; GET of the Location reads that page back byte for byte.',
        params: VmParams,
        querystring: Query({ ...ListQuery }),
        body: SweepBody,
        headers: CommandHeaders,
        response: created('Sweep', 'the sweep'),
      },
    },
    async (request, reply) => {
      const answer = await sweepVm(services, {
        vmId: request.params.vm,
        semantics: request.body.semantics,
        asOf: request.body.asOf,
        limit: request.query.limit ?? DEFAULT_SWEEP_PAGE,
        offset: request.query.offset ?? 0,
        idempotency: idempotencyOf(request),
        baseUrl: baseUrlOf(request, publicUrl),
      });
      return sendAnswer(reply, answer);
    },
  );

  app.get(
    '/v1/msi-sweeps/:id',
    {
      schema: {
        operationId: 'getSweep',
        tags: ['msi'],
        summary: 'A stored sweep, a page of its results at a time (without a query: exactly as it was returned)',
        params: RecordParams,
        querystring: Query({ ...ListQuery }),
        response: found('Sweep'),
      },
    },
    async (request, reply) => {
      const { limit = DEFAULT_SWEEP_PAGE, offset = 0 } = request.query;
      return sendJsonText(reply, await storedSweep(stores, request.params.id, limit, offset));
    },
  );
};
