// What a client of any route can count on: X-Request-ID echoed, `If-None-Match` answered with 304
// where the answer has an ETag, URLs of at most 8 KiB (414 beyond), every JSON answer ending with
// a newline, and CORS for the origins the operator allows (off by default).

import cors from '@fastify/cors';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ServiceError } from '../../errors/problem.js';

export const MAX_URL_LENGTH = 8 * 1024;

/** RFC 9110 If-None-Match (weak comparison): "*" or any listed tag matches the ETag. */
function noneMatch(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === '*') return true;
  const bare = etag.replace(/^W\//, '');
  return header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === bare);
}

const isJson = (contentType: unknown) =>
  typeof contentType === 'string' && /^application\/(problem\+)?json/.test(contentType);

export async function registerHttpConventions(app: FastifyInstance, options: { corsOrigins: string[] }): Promise<void> {
  if (options.corsOrigins.length > 0) {
    const corsOptions = {
      origin: options.corsOrigins,
      exposedHeaders: ['ETag', 'Location', 'X-Request-ID', 'Idempotent-Replayed'],
      strictPreflight: false,
    };
    // A request without Origin is no CORS request: its OPTIONS gets the 204 with Allow that every
    // client gets (the not-found handler answers it), not an empty preflight answer.
    await app.register(cors, {
      delegator: (request, callback) =>
        callback(null, request.headers.origin === undefined ? { origin: false } : corsOptions),
    });
  }
  // The hooks of every request take fastify's callback form: an async hook costs a promise and a
  // turn of the microtask queue per request (issue 21, measured with scripts/profile-server.ts).
  app.addHook('onRequest', (request: FastifyRequest, _reply, done) => {
    if (request.url.length > MAX_URL_LENGTH)
      return done(
        new ServiceError(
          'URI_TOO_LONG',
          `the URL has ${request.url.length} characters; at most ${MAX_URL_LENGTH} are served`,
        ),
      );
    done();
  });
  app.addHook('onSend', (request, reply, payload, done) => {
    reply.header('x-request-id', request.id);
    const etag = reply.getHeader('etag');
    if (
      (request.method === 'GET' || request.method === 'HEAD') &&
      reply.statusCode === 200 &&
      typeof etag === 'string'
    ) {
      const header = request.headers['if-none-match'];
      if (noneMatch(typeof header === 'string' ? header : undefined, etag)) {
        reply.code(304);
        reply.removeHeader('content-type');
        reply.removeHeader('content-length');
        return done(null, '');
      }
    }
    if (typeof payload === 'string' && isJson(reply.getHeader('content-type')))
      // Encoded to UTF-8 once, here: a string answer would be measured (Content-Length) and then
      // encoded again by the socket's write, slowly for the two-byte strings a "§" in an answer
      // makes (issue 21).
      return done(null, Buffer.from(payload.endsWith('\n') ? payload : `${payload}\n`));
    done(null, payload);
  });
}
