// One place that turns every failure into RFC 9457 problem+json: domain rule violations, failed
// preconditions, schema validation, and fastify's own errors (bad JSON, wrong content type, body
// too large, unknown route). Nothing reaches a client as a bare 500 with a stack.

import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorObject } from 'ajv';
import { HEX_PATTERN } from '../domain/address';
import { DomainError } from '../domain/errors';
import { ConcurrencyError } from '../db/event-store';

export interface FieldError {
  pointer: string;
  detail: string;
  in?: string;
}

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  instance?: string;
  errors?: FieldError[];
  [extra: string]: unknown;
}

/** An error raised by the API layer itself, already in problem form. */
export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly title: string,
    detail: string,
    readonly errors?: FieldError[],
    readonly headers: Record<string, string> = {},
    readonly extra: Record<string, unknown> = {},
  ) {
    super(detail);
    this.name = 'HttpProblem';
  }
}

export function problem(status: number, code: string, title: string, detail: string, errors?: FieldError[]): ProblemBody {
  const body: ProblemBody = { type: `urn:doorbell:problem:${code.toLowerCase().replace(/_/g, '-')}`, title, status, detail, code };
  if (errors !== undefined && errors.length > 0) body.errors = errors;
  return body;
}

export function etagOf(version: number): string {
  return `"${version}"`;
}

function sendProblem(reply: FastifyReply, request: FastifyRequest, body: ProblemBody, headers: Record<string, string> = {}): FastifyReply {
  body.instance = request.url;
  return reply.code(body.status).headers(headers).type('application/problem+json').send(JSON.stringify(body));
}

const HEX_DETAIL = 'must be a string of 0x and 1 to 16 hex digits (a 64-bit value), never a JSON number';

function fieldErrorOf(error: ErrorObject, part: string): FieldError {
  let pointer = error.instancePath;
  let detail = error.message ?? 'is not valid';
  const parentPattern = (error.parentSchema as { pattern?: string } | undefined)?.pattern;
  if (error.keyword === 'required') {
    pointer += `/${(error.params as { missingProperty: string }).missingProperty}`;
    detail = 'is required';
  } else if (error.keyword === 'additionalProperties') {
    pointer += `/${(error.params as { additionalProperty: string }).additionalProperty}`;
    detail = 'is not a known field';
  } else if (parentPattern === HEX_PATTERN && (error.keyword === 'pattern' || error.keyword === 'type')) {
    detail = HEX_DETAIL;
  } else if (error.keyword === 'enum') {
    detail = `must be one of ${(error.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
  }
  const name = pointer === '' ? part : pointer.slice(1);
  return { pointer: pointer === '' ? '' : pointer, detail: `${name} ${detail}`, in: part === 'body' ? undefined : part };
}

const PART_NAMES: Record<string, string> = { body: 'body', querystring: 'query', params: 'path', headers: 'header' };

export function registerProblemHandlers(app: FastifyInstance): void {
  app.setNotFoundHandler((request, reply) => {
    sendProblem(reply, request, problem(404, 'ROUTE_NOT_FOUND', 'Not found', `no route ${request.method} ${request.url.split('?')[0]}`));
  });

  app.setErrorHandler((error: FastifyError | DomainError | ConcurrencyError | HttpProblem, request, reply) => {
    if (error instanceof DomainError) {
      const errors = error.pointer !== undefined ? [{ pointer: error.pointer, detail: error.message }] : undefined;
      return sendProblem(reply, request, problem(error.status, error.code, error.title, error.message, errors));
    }
    if (error instanceof ConcurrencyError) {
      const current = etagOf(error.actualVersion);
      const body = problem(412, 'PRECONDITION_FAILED', 'Precondition failed', `If-Match did not match: VM ${error.streamId} is at version ${error.actualVersion} (ETag ${current}); read it again and retry`);
      body.currentEtag = current;
      return sendProblem(reply, request, body, { etag: current });
    }
    if (error instanceof HttpProblem) {
      const body = { ...problem(error.status, error.code, error.title, error.message, error.errors), ...error.extra };
      return sendProblem(reply, request, body, error.headers);
    }
    const fastifyError = error as FastifyError;
    if (fastifyError.validation !== undefined) {
      const part = PART_NAMES[fastifyError.validationContext ?? 'body'] ?? 'body';
      const errors = fastifyError.validation.map((e) => fieldErrorOf(e as ErrorObject, part));
      const detail = errors.map((e) => e.detail).join('; ');
      return sendProblem(reply, request, problem(400, 'VALIDATION_FAILED', 'Invalid request', detail, errors));
    }
    const status = fastifyError.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      const code = FASTIFY_CODES[fastifyError.code ?? ''] ?? (error instanceof SyntaxError ? 'MALFORMED_JSON' : 'BAD_REQUEST');
      return sendProblem(reply, request, problem(status, code, titleOf(status), fastifyError.message));
    }
    request.log.error({ err: error }, 'unhandled error');
    return sendProblem(reply, request, problem(500, 'INTERNAL_ERROR', 'Internal error', 'the server failed to handle the request; it has been logged'));
  });
}

const FASTIFY_CODES: Record<string, string> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'BAD_CONTENT_LENGTH',
  FST_ERR_CTP_BODY_TOO_LARGE: 'BODY_TOO_LARGE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'EMPTY_JSON_BODY',
  FST_ERR_CTP_INVALID_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_CTP_INVALID_TYPE: 'BAD_REQUEST',
  FST_ERR_BAD_URL: 'BAD_URL',
};

function titleOf(status: number): string {
  switch (status) {
    case 400:
      return 'Bad request';
    case 413:
      return 'Payload too large';
    case 415:
      return 'Unsupported media type';
    default:
      return 'Request error';
  }
}
