// A minimal Server-Sent Events client for tests: reads a text/event-stream over plain HTTP and
// parses it as the HTML standard does (fields id, event, data; lines starting with ':' are
// comments), so that a test can see exactly what a browser's EventSource would.

import http from 'node:http';

export interface SseMessage {
  id: string | undefined;
  event: string;
  data: string;
}

export interface SseClient {
  status: number;
  headers: http.IncomingHttpHeaders;
  messages: SseMessage[];
  comments: string[];
  /** The last id received (what EventSource would send as Last-Event-ID). */
  lastEventId: string | undefined;
  /** Resolves when the server ends the stream (or the connection is cut). */
  ended: Promise<void>;
  isEnded(): boolean;
  /** Stops reading from the socket (a slow consumer) or reads again. */
  pause(): void;
  resume(): void;
  close(): void;
  /** Resolves once `predicate` holds for what was received; rejects after `timeoutMs`. */
  waitFor(predicate: (c: SseClient) => boolean, timeoutMs?: number): Promise<void>;
  /** The raw body when the answer was not a stream (a problem+json). */
  body: string;
}

export function openSse(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { headers: { accept: 'text/event-stream', ...headers } }, (response) => {
      let buffer = '';
      let endedFlag = false;
      let markEnded: () => void = () => undefined;
      const ended = new Promise<void>((r) => {
        markEnded = r;
      });
      const finish = () => {
        endedFlag = true;
        markEnded();
      };
      let data: string[] = [];
      let event = '';
      let id: string | undefined;
      const client: SseClient = {
        status: response.statusCode ?? 0,
        headers: response.headers,
        messages: [],
        comments: [],
        lastEventId: undefined,
        ended,
        body: '',
        isEnded: () => endedFlag,
        pause: () => response.pause(),
        resume: () => response.resume(),
        close: () => {
          request.destroy();
          finish();
        },
        waitFor: (predicate, timeoutMs = 5000) =>
          new Promise((ok, fail) => {
            const started = Date.now();
            const check = () => {
              if (predicate(client)) ok();
              else if (Date.now() - started > timeoutMs)
                fail(new Error(`SSE: condition not met within ${timeoutMs} ms (${client.messages.length} messages)`));
              else setTimeout(check, 10);
            };
            check();
          }),
      };
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        if (!String(response.headers['content-type']).startsWith('text/event-stream')) {
          client.body += chunk;
          return;
        }
        buffer += chunk;
        let newline = buffer.indexOf('\n');
        while (newline >= 0) {
          const line = buffer.slice(0, newline);
          buffer = buffer.slice(newline + 1);
          if (line === '') {
            if (data.length > 0) {
              client.messages.push({ id, event: event || 'message', data: data.join('\n') });
              if (id !== undefined) client.lastEventId = id;
            }
            data = [];
            event = '';
            id = undefined;
          } else if (line.startsWith(':')) client.comments.push(line.slice(1).trim());
          else {
            const colon = line.indexOf(':');
            const field = colon < 0 ? line : line.slice(0, colon);
            const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
            if (field === 'data') data.push(value);
            else if (field === 'event') event = value;
            else if (field === 'id') id = value;
          }
          newline = buffer.indexOf('\n');
        }
      });
      response.on('end', finish);
      response.on('close', finish);
      response.on('error', finish);
      resolve(client);
    });
    request.on('error', reject);
  });
}
