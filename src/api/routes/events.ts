// The event log: one VM's stream, every event after a global position (filtered by VM and type,
// for consumers that follow the log, such as a lab inventory), and the same as a live stream of
// Server-Sent Events (src/api/event-stream.ts).

import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { issueStreamTicket, TICKET_TTL_MS, tokenStanding } from '../../app/stream-tickets.js';
import { lastPosition, logEvents, vmEvents } from '../../app/event-log.js';
import { cursorPage, page } from '../../app/paging.js';
import { EVENT_TYPES } from '../../db/shared/event-codec.js';
import { openEventStream } from '../event-stream.js';
import { sendJson, type RouteOptions } from '../http.js';
import { baseUrlOf } from '../links.js';
import { type BriefItem, listLink } from '../lists.js';
import type { StoredEvent } from '../../db/port.js';
import { eventDisplay, eventResource, eventUrl } from '../representations.js';
import {
  errorResponses,
  Id,
  ListQuery,
  MAX_OFFSET,
  OneOf,
  Page,
  Query,
  readResponses,
  VmParams,
} from '../schemas/common.js';

const EventPage = Page(
  Type.Union([Type.Ref('Event'), Type.Ref('Brief')]),
  'a page of events (brief: id, url, display)',
);

/**
 * `?brief=true`: an event is named by its position and read back as the one-event page of the
 * log that holds it (events have no URL of their own).
 */
const Brief = {
  brief: Type.Optional(
    Type.Boolean({ default: false, description: 'true: each event only id (its position), url and display' }),
  ),
};
const briefEvent = (base: string, e: StoredEvent): BriefItem => ({
  id: e.position,
  url: eventUrl(base, e.position),
  display: eventDisplay(e),
});

const MAX_POSITION = Number.MAX_SAFE_INTEGER - MAX_OFFSET;
const After = (description: string) => Type.Integer({ minimum: 0, maximum: MAX_POSITION, description });

/** The filters of the log, as a list and as a stream. */
const EventFilters = {
  vm: Type.Optional(Id('only the events of this VM', 'vm1')),
  type: Type.Optional(
    Type.Array(OneOf(EVENT_TYPES, 'an event type'), {
      description: 'only events of these types (repeat the parameter: ?type=BusAdded&type=DeviceAttached)',
    }),
  ),
};

export const eventRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (
  app,
  { services, publicUrl, eventStream },
) => {
  const { stores } = services;
  app.get(
    '/v1/vms/:vm/events',
    {
      schema: {
        operationId: 'listVmEvents',
        tags: ['events'],
        summary: "A VM's events in stream order",
        params: VmParams,
        querystring: Query({ ...ListQuery, ...Brief }),
        response: readResponses(EventPage, "the VM's events"),
      },
    },
    async (request, reply) => {
      const { vm } = request.params;
      const { limit = 50, offset = 0, brief } = request.query;
      const { state, events: read } = await vmEvents(services, vm, { limit, offset });
      const base = baseUrlOf(request, publicUrl);
      const events = read.map((e) => (brief ? briefEvent(base, e) : eventResource(e, base)));
      return sendJson(reply, page(events, state.version, limit, offset, listLink(request, publicUrl)), {
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
        summary: 'All events after a global position, in position order (filters vm, type)',
        description:
          '`next` reads after the last position of the page (`after=<position>`), so that events committed meanwhile are neither skipped nor repeated; it is null once the page reaches the end of the log. `count` is the number of matching events after `after`.',
        querystring: Query({
          after: Type.Optional(After('global position to read after (default 0)')),
          ...EventFilters,
          ...ListQuery,
          ...Brief,
        }),
        response: readResponses(EventPage, 'the events', { etag: false }),
      },
    },
    async (request, reply) => {
      const { after = 0, limit = 50, offset = 0, vm, type, brief } = request.query;
      const base = baseUrlOf(request, publicUrl);
      const filter = { vm, types: type };
      const { events: read, total } = await logEvents(stores, after, filter, { limit, offset });
      const events = read.map((e) => ({
        position: e.position,
        item: brief ? briefEvent(base, e) : eventResource(e, base),
      }));
      const answer = cursorPage(events, total, limit, offset, after, listLink(request, publicUrl));
      return sendJson(reply, { ...answer, results: events.map((e) => e.item) });
    },
  );

  const stream = openEventStream(app, services, eventStream);

  app.post(
    '/v1/events/stream-tickets',
    {
      config: { scope: 'read' },
      schema: {
        operationId: 'createStreamTicket',
        tags: ['events'],
        summary:
          'A single-use ticket to open GET /v1/events/stream without an Authorization header (a browser EventSource)',
        description: `The ticket works once, within ${TICKET_TTL_MS / 1000} s, and stands for the token that asked for it: the stream it opens ends (a last \`event: error\`) when that token is revoked or expires. It is never written to the logs.`,
        response: {
          201: {
            description: 'the ticket',
            content: {
              'application/json': {
                schema: Type.Object({
                  ticket: Type.String({
                    description: 'pass as ?ticket= to GET /v1/events/stream',
                    example: 'dbs_...',
                  }),
                  expiresAt: Type.String({ format: 'date-time', description: 'when it can no longer be used' }),
                }),
              },
            },
          },
        },
      },
    },
    async (request, reply) => sendJson(reply.code(201), await issueStreamTicket(stores, request.principal)),
  );

  app.get(
    '/v1/events/stream',
    {
      config: { ticket: true },
      schema: {
        operationId: 'streamEvents',
        tags: ['events'],
        summary: 'The log as Server-Sent Events: every event after a position, then each new one as it commits',
        description: [
          'Each event is one message: `id:` its position, `event:` its type, `data:` the event as GET /v1/events shows it.',
          'Resumes after `Last-Event-ID` (what an EventSource sends when it reconnects) or else `?after=` (default: only new events), with no gap and no duplicate.',
          'Filters `vm` and `type` (repeatable). A comment line (`: keep-alive`) at least every 15 s keeps proxies from closing an idle stream.',
          'A client that does not read fast enough is cut off once more than a bounded amount is queued for it; it resumes with Last-Event-ID.',
          'A browser (EventSource sends no Authorization) passes `?ticket=` from POST /v1/events/stream-tickets instead.',
          'The stream ends with a last `event: error` (data: {code: TOKEN_REVOKED | TOKEN_EXPIRED, detail}) once its token is revoked or expires, checked before each event and at each heartbeat.',
        ].join(' '),
        querystring: Query({
          after: Type.Optional(After('global position to read after')),
          ...EventFilters,
          ticket: Type.Optional(
            Type.String({
              description: 'a ticket from POST /v1/events/stream-tickets, instead of Authorization (once)',
            }),
          ),
        }),
        headers: Type.Object({
          'last-event-id': Type.Optional(After('the last position received (sent by EventSource on reconnect)')),
        }),
        response: {
          200: {
            description: 'an endless stream of events (text/event-stream)',
            content: {
              'text/event-stream': {
                schema: Type.String({
                  description:
                    'messages of three lines (id: <position>, event: <type>, data: <event JSON>) and `: keep-alive` comments',
                }),
                example:
                  'id: 1\nevent: VmDefined\ndata: {"url":"http://127.0.0.1:8080/v1/events?after=0&limit=1","display":"#1 VmDefined (vm1, version 1)","position":1,"streamId":"vm1","streamVersion":1,"type":"VmDefined",...}\n\n',
              },
            },
          },
          ...errorResponses(400),
        },
      },
    },
    async (request, reply) => {
      const { vm, type } = request.query;
      const after = request.headers['last-event-id'] ?? request.query.after ?? (await lastPosition(stores));
      const principal = request.principal;
      const standing = principal === null ? undefined : () => tokenStanding(stores, principal.tokenId);
      stream.serve(request, reply, { vm, types: type }, after, baseUrlOf(request, publicUrl), standing);
    },
  );
};
