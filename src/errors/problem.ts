// The one mapping from a failure to RFC 9457 problem+json: a domain rule, a service error raised
// by the application or HTTP layer, a schema validation, or an error of fastify or Node itself.
// Whatever the source, the status and title come from the catalogue.

import { DomainError } from '../domain/errors.js';
import { QemuBuildInputError } from '../domain/qemu-build/input-error.js';
import { InterchangeError } from '../interchange/report.js';
import { ERROR_CATALOGUE, type ErrorCode, type ServiceErrorCode } from './catalogue.js';

export interface FieldError {
  /** JSON Pointer to the offending field (into the body, or /query/x, /path/x, /header/x). */
  pointer: string;
  detail: string;
  /** Where the field is, when it is not in the body: path, query or header. */
  in?: string;
  /** An import's source: the command line's token (0 = the program) or the XML's line and column. */
  token?: number;
  line?: number;
  column?: number;
}

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  instance?: string;
  errors?: FieldError[];
  [extra: string]: unknown;
}

export interface Problem {
  body: ProblemBody;
  headers: Record<string, string>;
}

/** An error raised by the service itself (not a domain rule), already named by its code. */
export class ServiceError extends Error {
  constructor(
    readonly code: ServiceErrorCode,
    detail: string,
    readonly options: { errors?: FieldError[]; headers?: Record<string, string>; extra?: Record<string, unknown> } = {},
  ) {
    super(detail);
    this.name = 'ServiceError';
  }
}

export function etagOf(version: number): string {
  return `"${version}"`;
}

/** 412: the VM is not at the version the client read (If-Match), with the current ETag. */
export function preconditionFailed(vmId: string, current: number): ServiceError {
  const etag = etagOf(current);
  return new ServiceError(
    'PRECONDITION_FAILED',
    `If-Match did not match: VM ${vmId} is at version ${current} (ETag ${etag}); read it again and retry`,
    {
      headers: { etag },
      extra: { currentEtag: etag, currentVersion: current },
    },
  );
}

export function problemBody(code: ErrorCode, detail: string, errors?: FieldError[]): ProblemBody {
  const { status, title } = ERROR_CATALOGUE[code];
  const body: ProblemBody = {
    type: `urn:doorbell:problem:${code.toLowerCase().replace(/_/g, '-')}`,
    title,
    status,
    detail,
    code,
  };
  if (errors !== undefined && errors.length > 0) body.errors = errors;
  return body;
}

/** The problem for a domain or service error; undefined for anything else (the caller maps it). */
export function problemOfKnownError(error: unknown): Problem | undefined {
  if (error instanceof DomainError) {
    const errors = error.pointer !== undefined ? [{ pointer: error.pointer, detail: error.message }] : undefined;
    return { body: problemBody(error.code, error.message, errors), headers: {} };
  }
  if (error instanceof QemuBuildInputError) {
    const errors = error.problems.map((p) => ({
      pointer: p.pointer,
      detail: `${p.pointer.slice(1) || 'qemu'} ${p.detail}`,
    }));
    return { body: problemBody('VALIDATION_FAILED', errors.map((e) => e.detail).join('; '), errors), headers: {} };
  }
  if (error instanceof InterchangeError) {
    const errors = [{ pointer: error.pointer ?? '/source', detail: error.message, ...(error.at ?? {}) }];
    return { body: problemBody(error.code, error.message, errors), headers: {} };
  }
  if (error instanceof ServiceError) {
    const body = { ...problemBody(error.code, error.message, error.options.errors), ...error.options.extra };
    return { body, headers: error.options.headers ?? {} };
  }
  return undefined;
}
