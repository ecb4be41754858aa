// Every code the API can answer, declared once with its HTTP status and title. The domain's
// rule violations come from the domain's own catalogue, the import's refusals from the
// interchange's; the codes below are those of the HTTP
// layer, the application layer and the frameworks underneath (fastify's and Node's own errors).
// The problem+json mapping (problem.ts) and the error responses of the OpenAPI document are both
// derived from this table.

import { DOMAIN_ERRORS } from '../domain/errors.js';
import { INTERCHANGE_ERRORS } from '../interchange/report.js';

export interface CatalogueEntry {
  readonly status: number;
  readonly title: string;
}

export const SERVICE_ERRORS = {
  VALIDATION_FAILED: { status: 400, title: 'Invalid request' },
  MALFORMED_JSON: { status: 400, title: 'Malformed JSON body' },
  EMPTY_JSON_BODY: { status: 400, title: 'Empty JSON body' },
  BAD_CONTENT_LENGTH: { status: 400, title: 'Content-Length does not match the body' },
  BAD_URL: { status: 400, title: 'Malformed URL' },
  BAD_REQUEST: { status: 400, title: 'Bad request' },
  INVALID_IF_MATCH: { status: 400, title: 'Invalid If-Match header' },
  UNAUTHORIZED: { status: 401, title: 'Authentication required' },
  FORBIDDEN: { status: 403, title: 'Token lacks the scope' },
  CROSS_ORIGIN_REFUSED: { status: 403, title: 'Cross-origin request refused' },
  ROUTE_NOT_FOUND: { status: 404, title: 'Not found' },
  RESOLUTION_NOT_FOUND: { status: 404, title: 'Resolution not found' },
  SWEEP_NOT_FOUND: { status: 404, title: 'Sweep not found' },
  TOKEN_NOT_FOUND: { status: 404, title: 'Token not found' },
  FLEET_SWEEP_NOT_FOUND: { status: 404, title: 'Fleet sweep not found' },
  WEBHOOK_NOT_FOUND: { status: 404, title: 'Webhook not found' },
  METHOD_NOT_ALLOWED: { status: 405, title: 'Method not allowed' },
  REQUEST_TIMEOUT: { status: 408, title: 'Request timeout' },
  TOKEN_NAME_TAKEN: { status: 409, title: 'Token name in use' },
  LAST_ADMIN_TOKEN: { status: 409, title: 'Last admin token' },
  PRECONDITION_FAILED: { status: 412, title: 'Precondition failed' },
  BODY_TOO_LARGE: { status: 413, title: 'Payload too large' },
  URI_TOO_LONG: { status: 414, title: 'URI or path parameter too long' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported media type' },
  MISDIRECTED_REQUEST: { status: 421, title: 'Misdirected request' },
  IDEMPOTENCY_KEY_REUSED: { status: 422, title: 'Idempotency-Key reused' },
  RATE_LIMITED: { status: 429, title: 'Too many requests' },
  WEBHOOK_URL_REFUSED: { status: 422, title: 'Webhook URL not allowed' },
  TARGET_QEMU_BUILD_UNUSABLE: { status: 422, title: 'The target QEMU build has no known accel behaviour' },
  HEADERS_TOO_LARGE: { status: 431, title: 'Request header fields too large' },
  INTERNAL_ERROR: { status: 500, title: 'Internal error' },
  SHUTTING_DOWN: { status: 503, title: 'Service is shutting down' },
  OVERLOADED: { status: 503, title: 'Service overloaded' },
  NOT_READY: { status: 503, title: 'Service not ready' },
  STORAGE_FULL: { status: 507, title: 'Insufficient storage' },
} as const satisfies Record<string, CatalogueEntry>;

export const ERROR_CATALOGUE = { ...DOMAIN_ERRORS, ...INTERCHANGE_ERRORS, ...SERVICE_ERRORS } as const satisfies Record<
  string,
  CatalogueEntry
>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;
export type ServiceErrorCode = keyof typeof SERVICE_ERRORS;

export const ERROR_CODES = Object.keys(ERROR_CATALOGUE) as ErrorCode[];

/** The codes answered with an HTTP status, in catalogue order (for the OpenAPI descriptions). */
export function codesWithStatus(status: number): ErrorCode[] {
  return ERROR_CODES.filter((code) => ERROR_CATALOGUE[code].status === status);
}
