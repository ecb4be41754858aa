// doorbell watch: follows GET /v1/events/stream, printing each event as it is appended. When the
// connection drops it reconnects with Last-Event-ID, so no event is missed or printed twice.

import { setTimeout as sleep } from 'node:timers/promises';
import { createParser } from 'eventsource-parser';
import { type Client, HttpError } from './client.js';
import { CliError, EXIT } from './exit-codes.js';

export interface WatchOptions {
  vm?: string[];
  type?: string[];
  after?: number;
  /** Stop after this many events (a script waiting for the next change). */
  count?: number;
  json?: boolean;
  /** Stops the watch (SIGINT); the command then exits 0. */
  signal?: AbortSignal;
}

interface FeedEvent {
  position: number;
  streamId?: string;
  streamVersion: number;
  type: string;
  metadata?: { occurredAt?: string; actor?: string };
}

const RETRY_MS = { first: 500, most: 10_000 };

export async function watchEvents(client: Client, options: WatchOptions): Promise<number> {
  let lastId = options.after === undefined ? undefined : String(options.after);
  let seen = 0;
  let retry = RETRY_MS.first;
  let connectedOnce = false;
  while (!options.signal?.aborted) {
    try {
      const response = await client.fetch(streamUrl(client, options), {
        headers: headersOf(client, lastId),
        signal: options.signal,
      });
      if (!response.ok || response.body === null) {
        const error = new HttpError(
          { status: response.status, ...((await response.json().catch(() => ({}))) as object) },
          'GET /v1/events/stream',
        );
        // A refused stream (bad filter, bad token) will be refused again: stop, don't retry.
        if (response.status < 500) throw error;
        process.stderr.write(`doorbell: ${error.message}; retrying\n`);
      } else {
        connectedOnce = true;
        retry = RETRY_MS.first;
        const done = await follow(response.body, options, (id) => {
          lastId = id;
          seen += 1;
          return options.count !== undefined && seen >= options.count;
        });
        if (done) return EXIT.ok;
        process.stderr.write(`doorbell: the stream closed; resuming after ${lastId ?? 'the start'}\n`);
      }
    } catch (error) {
      if (options.signal?.aborted) break;
      if (error instanceof CliError && error.exitCode === EXIT.unreachable && connectedOnce) {
        process.stderr.write(`doorbell: ${error.message}; retrying\n`);
      } else if (error instanceof Error && error.name === 'TypeError' && connectedOnce) {
        process.stderr.write(`doorbell: the stream broke (${error.message}); resuming\n`);
      } else throw error;
    }
    await sleep(retry, undefined, { signal: options.signal }).catch(() => undefined);
    retry = Math.min(retry * 2, RETRY_MS.most);
  }
  return EXIT.ok;
}

function streamUrl(client: Client, options: WatchOptions): string {
  const query = new URLSearchParams();
  for (const vm of options.vm ?? []) query.append('vm', vm);
  for (const type of options.type ?? []) query.append('type', type);
  const text = query.toString();
  return client.url(`/v1/events/stream${text ? `?${text}` : ''}`);
}

function headersOf(client: Client, lastId: string | undefined): Record<string, string> {
  const headers: Record<string, string> = { accept: 'text/event-stream', ...client.authorization() };
  if (lastId !== undefined) headers['last-event-id'] = lastId;
  return headers;
}

/** Reads one connection until it ends; true when --count was reached. */
async function follow(
  body: ReadableStream<Uint8Array>,
  options: WatchOptions,
  delivered: (id: string) => boolean,
): Promise<boolean> {
  let done = false;
  const parser = createParser({
    onEvent(message) {
      if (done || message.id === undefined) return;
      print(JSON.parse(message.data) as FeedEvent, options.json === true);
      done = delivered(message.id);
    },
  });
  const decoder = new TextDecoder();
  const reader = body.getReader();
  try {
    while (!done) {
      const { value, done: ended } = await reader.read();
      if (ended) return false;
      parser.feed(decoder.decode(value, { stream: true }));
    }
    return true;
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

/** One line per event: NDJSON with --json, else position, VM@version, type, time and actor. */
function print(event: FeedEvent, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(event)}\n`);
    return;
  }
  const at = event.metadata?.occurredAt ?? '';
  const who = event.metadata?.actor ? ` by ${event.metadata.actor}` : '';
  process.stdout.write(
    `${event.position}\t${event.streamId ?? ''}@${event.streamVersion}\t${event.type}\t${at}${who}\n`,
  );
}
