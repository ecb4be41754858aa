// GET /v1/events/stream at the HTTP edge: each connection is a subscriber of the node's change
// feed (src/app/change-feed.ts) written as Server-Sent Events. What is queued for a connection is
// bounded: a client that reads slower than events arrive is cut off once more than
// `maxQueuedBytes` wait in its socket's buffer, and resumes with Last-Event-ID. On server close
// every stream ends, so that close() does not wait for clients that never hang up.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { OutgoingHttpHeaders } from 'node:http';
import type { Services } from '../app/services.js';
import { ChangeFeed, DEFAULT_CHANGE_FEED, type FeedEvent, type FeedSource } from '../app/change-feed.js';
import type { EventFilter, StoredEvent } from '../db/port.js';
import { bigintsToHex } from '../domain/address.js';
import { eventBody, eventJson } from './representations.js';

export interface EventStreamOptions {
  /** A comment line is sent this often when nothing else was (the contract asks for at most 15 s). */
  heartbeatMs: number;
  /** A connection with more than this still queued and unread when the next batch comes is cut off. */
  maxQueuedBytes: number;
  /** How often the log is polled for commits of other processes. */
  pollIntervalMs: number;
  /** Events per read, by the fan-out and by a stream catching up. */
  batchSize: number;
}

export const DEFAULT_EVENT_STREAM: EventStreamOptions = {
  heartbeatMs: 10_000,
  maxQueuedBytes: 4 * 1024 * 1024,
  ...DEFAULT_CHANGE_FEED,
};

/** How long an EventSource waits before it reconnects after a cut (the SSE `retry:` field). */
const RETRY_MS = 2000;

/** One SSE message; `data` is the event as GET /v1/events shows it, with this connection's link base. */
const frameOf = (e: FeedEvent, base: string) =>
  `id: ${e.position}\nevent: ${e.type}\ndata: ${eventJson(base, e.position, e.json)}\n\n`;

/** The node's change feed over the services' event log, with its metrics. */
export function openEventStream(
  app: FastifyInstance,
  services: Pick<Services, 'stores' | 'metrics'>,
  given: Partial<EventStreamOptions> = {},
) {
  const events: FeedSource = services.stores.events;
  const { metrics } = services;
  const options = { ...DEFAULT_EVENT_STREAM, ...given };
  const cutOff = metrics.counter({
    name: 'doorbell_event_stream_cutoffs_total',
    help: 'Event streams cut off because the client read slower than events arrived',
  });
  const feed = new ChangeFeed(events, (event: StoredEvent) => JSON.stringify(bigintsToHex(eventBody(event))), {
    pollIntervalMs: options.pollIntervalMs,
    batchSize: options.batchSize,
  });
  const open = new Set<() => void>();
  metrics.gauge({
    name: 'doorbell_event_streams',
    help: 'Open GET /v1/events/stream connections',
    collect() {
      this.set(open.size);
    },
  });
  app.addHook('preClose', async () => {
    feed.close();
    for (const end of [...open]) end();
  });

  return {
    feed,
    /** Streams the events after `after` that pass `filter`, then each new one, until either side closes. */
    /**
     * `standing`: why the stream's token no longer reads ('revoked', 'expired'), undefined while
     * it does; asked before each batch of events and at each heartbeat tick, and the stream ends
     * with a last `event: error` naming the reason once it answers.
     */
    serve(
      request: FastifyRequest,
      reply: FastifyReply,
      filter: EventFilter,
      after: number,
      base: string,
      standing?: () => Promise<string | undefined>,
    ): void {
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        ...(reply.getHeaders() as OutgoingHttpHeaders),
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        // A stream is never reused for another request: its socket closes with it.
        connection: 'close',
        // Proxies such as nginx must not buffer the stream.
        'x-accel-buffering': 'no',
      });
      res.socket?.setNoDelay(true);
      res.write(`retry: ${RETRY_MS}\n\n`);

      let ended = false;
      let lastWrite = Date.now();
      const write = (text: string) => {
        lastWrite = Date.now();
        res.write(text);
      };
      // Writes wait for the token check before them, so nothing is sent after the token stopped reading.
      let pending = Promise.resolve();
      const checked = (then: () => void) => {
        pending = pending.then(async () => {
          if (ended) return;
          const reason = standing === undefined ? undefined : await standing().catch(() => undefined);
          if (ended) return;
          if (reason !== undefined) return stop(reason);
          then();
        });
      };
      const stop = (reason: string) => {
        request.log.info({ reason }, 'event stream ended: its token no longer reads');
        res.write(
          `event: error\ndata: ${JSON.stringify({ code: `TOKEN_${reason.toUpperCase()}`, detail: `the token of this stream is ${reason}` })}\n\n`,
        );
        end();
      };
      const heartbeat = setInterval(
        () => {
          // A client that reads nothing at all is cut off here too, however few events come.
          if (res.writableLength > options.maxQueuedBytes) cut();
          else
            checked(() => {
              if (Date.now() - lastWrite >= options.heartbeatMs / 2) write(': keep-alive\n\n');
            });
        },
        Math.max(1, Math.floor(options.heartbeatMs / 2)),
      );
      const finish = (how: 'end' | 'cut') => {
        if (ended) return;
        ended = true;
        clearInterval(heartbeat);
        subscription.close();
        open.delete(end);
        if (how === 'end') res.end();
        else res.destroy();
      };
      const end = () => finish('end');
      const cut = () => {
        request.log.warn(
          { queuedBytes: res.writableLength },
          'event stream cut off: the client reads slower than events arrive',
        );
        cutOff.inc();
        finish('cut');
      };

      const subscription = feed.subscribe(filter, after, {
        deliver(batch) {
          if (ended) return false;
          // Still more than the bound unread from earlier batches: this client cannot keep up.
          // (So a connection holds at most the bound plus one batch.)
          if (res.writableLength > options.maxQueuedBytes) {
            cut();
            return false;
          }
          if (standing === undefined) {
            write(batch.map((e) => frameOf(e, base)).join(''));
            return !res.writableNeedDrain;
          }
          checked(() => write(batch.map((e) => frameOf(e, base)).join('')));
          // A catching-up reader waits (ready) for the check and the write before it reads on.
          return false;
        },
        ready: () =>
          pending.then(
            () =>
              new Promise<void>((resolve) => {
                if (ended || !res.writableNeedDrain) return resolve();
                // One pair of listeners per wait, both removed when either fires: a long catch-up
                // waits thousands of times.
                const done = () => {
                  res.off('drain', done);
                  res.off('close', done);
                  resolve();
                };
                res.on('drain', done);
                res.on('close', done);
              }),
          ),
        end: (error) => {
          if (error !== undefined) request.log.error({ err: error }, 'event stream ended by a failed read');
          end();
        },
      });
      open.add(end);
      res.on('close', end);
    },
  };
}
