// What every route does at the edge: read If-Match, Idempotency-Key and the event metadata from
// the request, and send answers (JSON with canonical hex, the VM's ETag).

import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Answer, IdempotencyClaim } from '../app/idempotency.js';
import { bigintsToHex, parseHex } from '../domain/address.js';
import type { EventMetadata } from '../db/port.js';
import { requestFingerprint } from '../app/idempotency.js';
import type { Services } from '../app/services.js';
import type { Precondition } from '../app/vm-repository.js';
import { etagOf, ServiceError } from '../errors/problem.js';
import type { EventStreamOptions } from './event-stream.js';

export { page } from '../app/paging.js';
/** What every route plugin is given: the application's services, and the base of absolute links when the operator set one. */
export interface RouteOptions {
  services: Services;
  /** DOORBELL_PUBLIC_URL, without a trailing slash. */
  publicUrl?: string;
  /** Settings of GET /v1/events/stream (heartbeat, queue bound); tests shorten them. */
  eventStream?: Partial<EventStreamOptions>;
}

/** If-Match as RFC 9110 reads it: "*", or a list of ETags of which only strong ones can match. */
function preconditionOf(header: string | undefined): Precondition | undefined {
  if (header === undefined) return undefined;
  const value = header.trim();
  if (value === '*') return { exists: true };
  const versions: number[] = [];
  for (const tag of value.split(',').map((t) => t.trim())) {
    const strong = /^"(\d{1,15})"$/.exec(tag);
    if (strong) versions.push(Number(strong[1]));
    else if (!/^W\/"[^"]*"$/.test(tag)) {
      throw new ServiceError(
        'INVALID_IF_MATCH',
        `If-Match ${JSON.stringify(header)} is not a list of ETags such as "3"`,
        {
          errors: [{ pointer: '/header/if-match', detail: 'If-Match must be "*" or ETags like "3"', in: 'header' }],
        },
      );
    }
  }
  return { versions };
}

/** The request's Idempotency-Key with a digest of what it asks for, if it sent one. */
export function idempotencyOf(request: FastifyRequest): IdempotencyClaim | undefined {
  const key = request.headers['idempotency-key'];
  return typeof key === 'string'
    ? { key, fingerprint: requestFingerprint(request.method, request.url, request.body) }
    : undefined;
}

/**
 * Who appended the events: the token's name (its id too), never what the client claims. A
 * client's X-Actor (a person behind an automation) is kept as onBehalfOf. Without authentication
 * (loopback only) the actor is "anonymous".
 */
function metadataOf(request: FastifyRequest): EventMetadata {
  const onBehalfOf = request.headers['x-actor'];
  const reason = request.headers['x-reason'];
  const metadata: EventMetadata = {
    occurredAt: new Date().toISOString(),
    actor: request.principal?.name ?? 'anonymous',
    requestId: request.id,
  };
  if (request.principal !== null) metadata.tokenId = request.principal.tokenId;
  if (typeof onBehalfOf === 'string') metadata.onBehalfOf = onBehalfOf;
  if (typeof reason === 'string') metadata.reason = reason;
  return metadata;
}

/** Everything a command takes from its request besides the command itself. */
export function commandContext(request: FastifyRequest) {
  const ifMatch = request.headers['if-match'];
  return {
    precondition: preconditionOf(typeof ifMatch === 'string' ? ifMatch : undefined),
    idempotency: idempotencyOf(request),
    metadata: metadataOf(request),
  };
}

export function sendAnswer(reply: FastifyReply, answer: Answer): FastifyReply {
  if (answer.replayed) reply.header('idempotent-replayed', 'true');
  return reply.code(answer.status).headers(answer.headers).type('application/json; charset=utf-8').send(answer.body);
}

/** Sends a read: JSON with canonical hex, and the VM's ETag when the answer is about one VM. */
export function sendJson(reply: FastifyReply, body: unknown, options: { version?: number } = {}): FastifyReply {
  if (options.version !== undefined) reply.header('etag', etagOf(options.version));
  return reply.type('application/json; charset=utf-8').send(JSON.stringify(bigintsToHex(body)));
}

/**
 * A picture (contract v1.2, "Pictures"): SVG that can neither run script nor load anything, even
 * when opened on its own, and that no browser sniffs into something else.
 */
export const PICTURE_HEADERS = {
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; sandbox",
  'x-content-type-options': 'nosniff',
} as const;

export function sendSvg(reply: FastifyReply, svg: string, options: { etag?: string } = {}): FastifyReply {
  if (options.etag !== undefined) reply.header('etag', options.etag).header('cache-control', 'no-cache');
  return reply.headers(PICTURE_HEADERS).type('image/svg+xml; charset=utf-8').send(svg);
}

/** Sends JSON that is already in its final form: a stored record, or the bytes of a memoized answer (its newline included). */
export function sendJsonText(reply: FastifyReply, text: string | Buffer): FastifyReply {
  return reply.type('application/json; charset=utf-8').send(text);
}

/** A hex field the route schema already validated. */
export function u64(text: string): bigint {
  const value = parseHex(text);
  if (value === undefined) throw new Error(`schema let through a value that is not hex: ${text}`);
  return value;
}

export const optionalU64 = (text: string | undefined) => (text === undefined ? undefined : u64(text));
