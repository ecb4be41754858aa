// Fleet sweeps: run one, list them, read one back (byte for byte, or a page of its results), and
// draw it.

import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { fleetSweep, fleetSweepWhole, listFleetSweeps, storedFleetSweep } from '../../app/fleet-sweep.js';
import { fleetPicture } from '../../pictures/fleet-picture.js';
import type { FleetSweepView } from '../../pictures/fleet-view.js';
import { idempotencyOf, page, sendAnswer, sendJsonText, sendSvg, type RouteOptions } from '../http.js';
import { baseUrlOf } from '../links.js';
import { ListQueryOf, listLink, listParameters, listResponses } from '../lists.js';
import { fleetSweepPath } from '../../app/links.js';
import { CommandHeaders, errorResponses, ListQuery, Query } from '../schemas/common.js';
import { FleetSweepBody } from '../schemas/fleet-sweep.js';
import { svgResponses } from '../schemas/picture.js';
import { RecordParams } from '../schemas/resolution.js';

const FleetSweepRef = Type.Ref('FleetSweep');

export const fleetSweepRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { services, publicUrl }) => {
  const { stores } = services;
  app.post(
    '/v1/fleet-sweeps',
    {
      schema: {
        operationId: 'sweepFleet',
        tags: ['fleet'],
        summary: "Resolve every programmed vector of every VM under its own QEMU build and under a target build's",
        description:
          'Answers 201 with the first page of per-VM results (limit, default 50) and a next link to the rest; the record keeps counts and verdicts, not resolutions. A target whose behaviour is none or unknown is a 422.',
        body: FleetSweepBody,
        headers: CommandHeaders,
        response: {
          201: {
            description: 'the fleet sweep, first page of results',
            headers: { Location: { type: 'string', description: 'where the record can be read again' } },
            content: { 'application/json': { schema: FleetSweepRef } },
          },
          ...errorResponses(400, 404, 415, 422),
        },
      },
    },
    async (request, reply) => {
      const { target, vm, limit } = request.body;
      const answer = await fleetSweep(services, {
        target,
        vm,
        limit,
        idempotency: idempotencyOf(request),
        baseUrl: baseUrlOf(request, publicUrl),
      });
      return sendAnswer(reply, answer);
    },
  );

  app.get(
    '/v1/fleet-sweeps',
    {
      schema: {
        operationId: 'listFleetSweeps',
        tags: ['fleet'],
        summary: 'Fleet sweeps as first returned, oldest first (ordering=-created: newest first)',
        querystring: ListQueryOf({}, ['created']),
        response: listResponses(FleetSweepRef, 'a page of fleet sweeps'),
      },
    },
    async (request, reply) => {
      const { limit, offset, brief, ordering } = listParameters(request.query, 'created');
      const { bodies, total } = await listFleetSweeps(stores, { limit, offset, descending: ordering.descending });
      const envelope = JSON.stringify(page([], total, limit, offset, listLink(request, publicUrl)));
      const base = baseUrlOf(request, publicUrl);
      const items = brief
        ? bodies.map((body) => {
            const { id, createdAt, totals } = JSON.parse(body) as {
              id: string;
              createdAt: string;
              totals: { vms: number };
            };
            return JSON.stringify({
              id,
              url: `${base}${fleetSweepPath(id)}`,
              display: `fleet sweep of ${totals.vms} VMs at ${createdAt}`,
            });
          })
        : // The stored records are spliced in as they are, byte for byte.
          bodies;
      return sendJsonText(reply, `${envelope.slice(0, -2)}${items.join(',')}]}`);
    },
  );

  app.get(
    '/v1/fleet-sweeps/:id',
    {
      schema: {
        operationId: 'getFleetSweep',
        tags: ['fleet'],
        summary: 'A stored fleet sweep: as first returned, or a page of its results',
        description:
          'Without limit and offset: the 201 body, byte for byte. With either: that page of the results under the same head.',
        params: RecordParams,
        querystring: Query({ ...ListQuery }),
        response: {
          200: { description: 'the fleet sweep', content: { 'application/json': { schema: FleetSweepRef } } },
          ...errorResponses(400, 404),
        },
      },
    },
    async (request, reply) => {
      // The query as sent: a default limit must not turn the plain read into a page.
      const asked = request.query as { limit?: number; offset?: number };
      const raw = new URL(request.url, 'http://x').searchParams;
      const body = await storedFleetSweep(stores, request.params.id, {
        limit: raw.has('limit') ? asked.limit : undefined,
        offset: raw.has('offset') ? asked.offset : undefined,
        baseUrl: baseUrlOf(request, publicUrl),
      });
      return sendJsonText(reply, body);
    },
  );

  app.get(
    '/v1/fleet-sweeps/:id.svg',
    {
      schema: {
        operationId: 'getFleetSweepPicture',
        tags: ['fleet'],
        summary: 'A fleet sweep as a chart: VMs by QEMU build and verdict',
        params: RecordParams,
        response: svgResponses('the chart (image/svg+xml)'),
      },
    },
    async (request, reply) => {
      const sweep = (await fleetSweepWhole(stores, request.params.id)) as unknown as FleetSweepView;
      return sendSvg(reply, fleetPicture(sweep));
    },
  );
};
