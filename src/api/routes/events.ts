// The event log: one VM's stream, or every event after a global position (for consumers that
// follow the log, such as a lab inventory).

import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { loadVm } from '../../app/load-vm.js';
import { page, sendJson, type RouteOptions } from '../http.js';
import { eventResource } from '../representations.js';
import { ListQuery, MAX_OFFSET, Page, Query, readResponses, VmParams } from '../schemas/common.js';

const EventPage = Page(Type.Ref('Event'), 'a page of events');

export const eventRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { stores }) => {
  app.get(
    '/v1/vms/:vm/events',
    {
      schema: {
        operationId: 'listVmEvents',
        tags: ['events'],
        summary: "A VM's events in stream order",
        params: VmParams,
        querystring: Query({ ...ListQuery }),
        response: readResponses(EventPage, "the VM's events"),
      },
    },
    async (request, reply) => {
      const { vm } = request.params;
      const { limit = 50, offset = 0 } = request.query;
      const state = await loadVm(stores, vm);
      // Stream versions run 1..version without gaps, so an offset is a version to read after.
      const events = (
        await stores.events.readStream(vm, { afterVersion: offset, toVersion: state.version, limit })
      ).map(eventResource);
      return sendJson(reply, page(events, state.version, limit, offset, `/v1/vms/${vm}/events`), {
        version: state.version,
      });
    },
  );

  app.get(
    '/v1/events',
    {
      schema: {
        operationId: 'listEvents',
        tags: ['events'],
        summary: 'All events after a global position, in position order',
        querystring: Query({
          after: Type.Optional(
            Type.Integer({
              minimum: 0,
              maximum: Number.MAX_SAFE_INTEGER - MAX_OFFSET,
              default: 0,
              description: 'global position to read after',
            }),
          ),
          ...ListQuery,
        }),
        response: readResponses(EventPage, 'the events', { etag: false }),
      },
    },
    async (request, reply) => {
      const { after = 0, limit = 50, offset = 0 } = request.query;
      const total = await stores.events.countAll(after);
      const events = (await stores.events.readAll(after + offset, limit)).map(eventResource);
      return sendJson(reply, page(events, total, limit, offset, `/v1/events?after=${after}`));
    },
  );
};
