// The event log: one VM's stream, or every event after a global position (for consumers that
// follow the log, such as a lab inventory).

import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Stores } from '../../db/stores';
import { sendJson } from '../command';
import { loadVm, page } from '../load';
import { eventResource } from '../representations';
import { errorResponses, ListQuery, VmParams } from '../schemas';

export function eventRoutes(app: FastifyInstance, stores: Stores): void {
  const StreamQuery = Type.Object({ ...ListQuery });
  app.get<{ Params: Static<typeof VmParams>; Querystring: Static<typeof StreamQuery> }>(
    '/v1/vms/:vm/events',
    { schema: { tags: ['events'], summary: "A VM's events in stream order", params: VmParams, querystring: StreamQuery, response: errorResponses(400, 404) } },
    (request, reply) => {
      const { vm } = request.params;
      const { limit = 50, offset = 0 } = request.query;
      const state = loadVm(stores, vm);
      // Stream versions run 1..version without gaps, so an offset is a version to read after.
      const events = stores.events.readStream(vm, { afterVersion: offset, toVersion: state.version, limit }).map(eventResource);
      return sendJson(reply, page(events, state.version, limit, offset, `/v1/vms/${vm}/events`), { version: state.version });
    },
  );

  const LogQuery = Type.Object({ after: Type.Optional(Type.Integer({ minimum: 0, default: 0, description: 'global position to read after' })), ...ListQuery });
  app.get<{ Querystring: Static<typeof LogQuery> }>(
    '/v1/events',
    { schema: { tags: ['events'], summary: 'All events after a global position, in position order', querystring: LogQuery, response: errorResponses(400) } },
    (request, reply) => {
      const { after = 0, limit = 50, offset = 0 } = request.query;
      const total = stores.events.countAll(after);
      const events = stores.events.readAll(after + offset, limit).map(eventResource);
      return sendJson(reply, page(events, total, limit, offset, `/v1/events?after=${after}`));
    },
  );
}
