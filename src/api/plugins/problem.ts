// Turns every failure into RFC 9457 problem+json with a code from the catalogue: errors thrown by
// routes and the application (domain rules, service errors), schema validation, fastify's own
// errors (bad JSON, wrong content type, body too large), router errors (bad URL encoding, a path
// parameter too long), unknown routes (404) and known routes asked with another method (405 with
// Allow), and Node's own HTTP parser errors (431, 400, 408) that never reach fastify.

import type { Socket } from 'node:net';
import type { ErrorObject } from 'ajv';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HEX_PATTERN } from '../../domain/address.js';
import { ERROR_CATALOGUE, type ErrorCode } from '../../errors/catalogue.js';
import { type FieldError, type Problem, problemBody, problemOfKnownError } from '../../errors/problem.js';
import { isStorageFull } from '../../db/shared/storage-full.mjs';
import { storageFullProblem } from '../storage-alarm.js';
import type { RouteTable } from './route-table.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

export function sendProblem(reply: FastifyReply, request: FastifyRequest, problem: Problem): FastifyReply {
  problem.body.instance = request.url;
  return reply
    .code(problem.body.status)
    .headers(problem.headers)
    .type(PROBLEM_CONTENT_TYPE)
    .send(JSON.stringify(problem.body));
}

/** fastify's error codes, as the catalogue names them. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'BAD_CONTENT_LENGTH',
  FST_ERR_CTP_BODY_TOO_LARGE: 'BODY_TOO_LARGE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'EMPTY_JSON_BODY',
  FST_ERR_CTP_INVALID_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_CTP_INVALID_TYPE: 'BAD_REQUEST',
  FST_ERR_BAD_URL: 'BAD_URL',
  FST_ERR_MAX_PARAM_LENGTH: 'URI_TOO_LONG',
};

const HEX_DETAIL = 'must be a string of 0x and 1 to 16 hex digits (a 64-bit value), never a JSON number';

/** Where a validation error is: the body (pointer from its root) or /path, /query, /header. */
const PART_PREFIX: Record<string, { in?: string; prefix: string }> = {
  body: { prefix: '' },
  params: { in: 'path', prefix: '/path' },
  querystring: { in: 'query', prefix: '/query' },
  headers: { in: 'header', prefix: '/header' },
};

function fieldErrorOf(error: ErrorObject, context: string): FieldError {
  const part = PART_PREFIX[context] ?? { prefix: '' };
  let path = error.instancePath;
  let detail = error.message ?? 'is not valid';
  const parentPattern = (error.parentSchema as { pattern?: string } | undefined)?.pattern;
  if (error.keyword === 'required') {
    path += `/${(error.params as { missingProperty: string }).missingProperty}`;
    detail = 'is required';
  } else if (error.keyword === 'additionalProperties') {
    path += `/${(error.params as { additionalProperty: string }).additionalProperty}`;
    detail = part.in === 'query' ? 'is not a known query parameter' : 'is not a known field';
  } else if (parentPattern === HEX_PATTERN && (error.keyword === 'pattern' || error.keyword === 'type')) {
    detail = HEX_DETAIL;
  } else if (error.keyword === 'enum') {
    detail = `must be one of ${(error.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
  }
  // A repeated query parameter (?type=A&type=B) is named as a whole: /query/type, not /query/type/1.
  if (part.in === 'query') path = path.replace(/^(\/[^/]+)\/.*$/, '$1');
  const name = path === '' ? (part.in ?? 'body') : path.slice(1);
  const field: FieldError = { pointer: `${part.prefix}${path}`, detail: `${name} ${detail}` };
  if (part.in !== undefined) field.in = part.in;
  return field;
}

function problemOf(error: FastifyError, request: FastifyRequest): Problem {
  const known = problemOfKnownError(error);
  if (known !== undefined) return known;
  if (error.validation !== undefined) {
    const errors = error.validation.map((e) => fieldErrorOf(e as ErrorObject, error.validationContext ?? 'body'));
    return { body: problemBody('VALIDATION_FAILED', errors.map((e) => e.detail).join('; '), errors), headers: {} };
  }
  const code = FASTIFY_CODES[error.code ?? ''];
  if (code !== undefined) return { body: problemBody(code, error.message), headers: {} };
  // A full disk is not the server's bug: 507 with Retry-After (contract v1.3, "Edges").
  if (isStorageFull(error)) {
    request.log.error({ err: error }, 'write refused: storage full');
    return storageFullProblem();
  }
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500)
    return {
      body: problemBody(error instanceof SyntaxError ? 'MALFORMED_JSON' : 'BAD_REQUEST', error.message),
      headers: {},
    };
  request.log.error({ err: error }, 'unhandled error');
  return {
    body: problemBody('INTERNAL_ERROR', 'the server failed to handle the request; it has been logged'),
    headers: {},
  };
}

/** fastify's `frameworkErrors` option: router errors, which otherwise bypass the error handler. */
export function frameworkErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  sendProblem(reply, request, problemOf(error, request));
}

/** Node's HTTP parser errors: the request never became a fastify request, so answer on the socket. */
const PARSER_CODES: Record<string, ErrorCode> = {
  HPE_HEADER_OVERFLOW: 'HEADERS_TOO_LARGE',
  ERR_HTTP_REQUEST_TIMEOUT: 'REQUEST_TIMEOUT',
  HPE_HEADERS_TIMEOUT: 'REQUEST_TIMEOUT',
};

export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  const code = PARSER_CODES[error.code ?? ''] ?? 'BAD_REQUEST';
  if (!socket.writable) return void socket.destroy();
  const detail =
    code === 'HEADERS_TOO_LARGE'
      ? 'the request line and headers exceed 16 KiB'
      : code === 'REQUEST_TIMEOUT'
        ? 'the request was not received in time'
        : 'the request could not be parsed as HTTP/1.1';
  const body = JSON.stringify(problemBody(code, detail));
  const { status, title } = ERROR_CATALOGUE[code];
  socket.end(
    `HTTP/1.1 ${status} ${title}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

export function registerProblemHandlers(app: FastifyInstance, routes: RouteTable): void {
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '/';
    const allowed = routes.methodsFor(path);
    if (allowed.length === 0) {
      return sendProblem(reply, request, {
        body: problemBody('ROUTE_NOT_FOUND', `no route ${request.method} ${path}`),
        headers: {},
      });
    }
    const allow = [...allowed, 'OPTIONS'].join(', ');
    if (request.method === 'OPTIONS') return reply.code(204).header('allow', allow).send();
    return sendProblem(reply, request, {
      body: problemBody('METHOD_NOT_ALLOWED', `${path} does not take ${request.method}; it takes ${allow}`),
      headers: { allow },
    });
  });
  app.setErrorHandler((error: FastifyError, request, reply) => sendProblem(reply, request, problemOf(error, request)));
}
