// What makes the service safe to expose, in the order a request meets it: back-pressure (503 with
// Retry-After while the event loop lags or the record writer's queue is long), the Host check
// against DNS rebinding (421), cross-origin writes refused unless CORS allows the origin (403),
// the bearer token and its scope (401, 403), and a rate limit per token (429 with Retry-After).
// Routes say what they need in their config: `scope` ('read', 'write', 'admin' or 'none'); under
// /v1 a GET needs read and anything else write. `/healthz`, `/readyz`, `/docs` and
// `/openapi.json` need no token.

import rateLimit from '@fastify/rate-limit';
import underPressure from '@fastify/under-pressure';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { principalOf, redeemStreamTicket } from '../../app/stream-tickets.js';
import { grants, LastUsed, type Principal, type Scope, verifyToken } from '../../app/tokens.js';
import type { Stores } from '../../db/port.js';
import { ServiceError } from '../../errors/problem.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The token the request came with; null when authentication is off or the route is public. */
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    /** The scope a route needs; 'none': no token. Default: read for GET/HEAD under /v1, else write. */
    scope?: Scope | 'none';
    /** true: `?ticket=` (POST /v1/events/stream-tickets) is accepted instead of Authorization. */
    ticket?: boolean;
    /** false: answered even under pressure (health, metrics). */
    underPressure?: boolean;
  }
}

export interface SecurityOptions {
  /** 'off' only when the server listens on loopback (src/config.ts refuses anything else). */
  auth: 'on' | 'off';
  /** Host header values served: `name` (any port) or `name:port`. Default: loopback names and listenHost on the server's port. */
  allowedHosts?: string[];
  /** The address the server listens on, served by default when it is a name or a single address. */
  listenHost?: string;
  corsOrigins: string[];
  /** Requests per window per token (per address when auth is off); false: no limit. */
  rateLimit: { max: number; timeWindowMs: number } | false;
  /** false: never shed load (tests whose own work would look like a lagging event loop). */
  pressure:
    | {
        maxEventLoopDelayMs: number;
        maxRecordQueue: number;
        retryAfterSeconds: number;
        /** How often the event loop delay and the queue are sampled. */
        sampleIntervalMs: number;
      }
    | false;
}

export type PressureOptions = Exclude<SecurityOptions['pressure'], false>;

/**
 * A mean event loop delay over 1 s of a whole second (a loop that stood still for the whole
 * sample counts as lagging), or 10,000 records waiting for the writer.
 */
export const DEFAULT_PRESSURE: PressureOptions = {
  maxEventLoopDelayMs: 1000,
  maxRecordQueue: 10_000,
  retryAfterSeconds: 5,
  sampleIntervalMs: 1000,
};

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const WILDCARD_ADDRESSES = new Set(['0.0.0.0', '::', '[::]']);

interface HostRule {
  name: string;
  /** 'listen': the port the request came in on, i.e. the server's. undefined: any port. */
  port: number | 'listen' | undefined;
}

function splitHost(text: string): { name: string; port: number | undefined } {
  const match = /^(\[[^\]]*\]|[^:]*)(?::(\d{1,5}))?$/.exec(text.trim().toLowerCase());
  if (match === null) return { name: '', port: undefined };
  return { name: match[1] ?? '', port: match[2] === undefined ? undefined : Number(match[2]) };
}

function hostRules(options: SecurityOptions): HostRule[] {
  if (options.allowedHosts !== undefined) return options.allowedHosts.map(splitHost);
  const names = ['localhost', '127.0.0.1', '[::1]'];
  const listen = options.listenHost?.toLowerCase();
  if (listen !== undefined && !WILDCARD_ADDRESSES.has(listen))
    names.push(listen.includes(':') && !listen.startsWith('[') ? `[${listen}]` : listen);
  return names.map((name) => ({ name, port: 'listen' }));
}

/**
 * The Host header a connection last passed the check with: a keep-alive client sends the same one
 * on every request, and the port it came in on cannot change, so the parse is done once per
 * connection (issue 21: a regular expression per request on the hot path).
 */
const allowedOnConnection = new WeakMap<object, string>();

function hostAllowed(rules: HostRule[], request: FastifyRequest): boolean {
  const header = request.headers.host;
  if (header === undefined) return false;
  const socket = request.raw.socket;
  if (socket !== null && allowedOnConnection.get(socket) === header) return true;
  const allowed = hostMatches(rules, header, request.socket.localPort);
  if (allowed && socket !== null) allowedOnConnection.set(socket, header);
  return allowed;
}

function hostMatches(rules: HostRule[], header: string, local: number | undefined): boolean {
  const { name, port } = splitHost(header);
  const given = port ?? 80;
  return rules.some(
    (rule) =>
      rule.name === name &&
      (rule.port === undefined ||
        (rule.port === 'listen' ? local === undefined || local === given : rule.port === given)),
  );
}

/** The scope a request needs, from its route's config or, by default, from its path and method. */
function requiredScope(request: FastifyRequest): Scope | 'none' {
  const configured = request.routeOptions.config.scope;
  if (configured !== undefined) return configured;
  const path = request.routeOptions.url ?? request.url.split('?')[0] ?? '';
  if (!(path === '/v1' || path.startsWith('/v1/')) || request.method === 'OPTIONS') return 'none';
  return SAFE_METHODS.has(request.method) ? 'read' : 'write';
}

const REALM = 'Bearer realm="doorbell"';

function unauthorized(detail: string, error?: string): ServiceError {
  const challenge = error === undefined ? REALM : `${REALM}, error="${error}"`;
  return new ServiceError('UNAUTHORIZED', detail, { headers: { 'www-authenticate': challenge } });
}

const REFUSALS = {
  malformed: 'the bearer token is not a doorbell token (dbt_...)',
  unknown: 'the bearer token is not known',
  expired: 'the bearer token has expired',
  revoked: 'the bearer token has been revoked',
} as const;

export async function registerSecurity(app: FastifyInstance, stores: Stores, options: SecurityOptions): Promise<void> {
  app.decorateRequest('principal', null);

  const { pressure } = options;
  if (pressure !== false)
    await app.register(underPressure, {
      maxEventLoopDelay: pressure.maxEventLoopDelayMs,
      sampleInterval: pressure.sampleIntervalMs,
      healthCheck: async () => stores.records.queueDepth <= pressure.maxRecordQueue,
      healthCheckInterval: pressure.sampleIntervalMs,
      pressureHandler: (request, _reply, type, value) => {
        if (request.routeOptions.config.underPressure === false) return undefined;
        const why =
          type === 'healthCheck'
            ? `more than ${pressure.maxRecordQueue} records are waiting to be written`
            : `the event loop lags (${type} ${typeof value === 'number' ? value.toFixed(0) : value})`;
        return Promise.reject(
          new ServiceError('OVERLOADED', `${why}; retry after ${pressure.retryAfterSeconds} s`, {
            headers: { 'retry-after': String(pressure.retryAfterSeconds) },
          }),
        );
      },
    });

  const rules = hostRules(options);
  const corsOrigins = new Set(options.corsOrigins);
  // The callback form: no promise per request (see http-conventions.ts).
  app.addHook('onRequest', (request, _reply, done) => done(sameSiteRefusal(request)));

  /** Why the request is refused before its token is looked at (wrong Host, foreign origin), if it is. */
  function sameSiteRefusal(request: FastifyRequest): ServiceError | undefined {
    if (!hostAllowed(rules, request))
      return new ServiceError(
        'MISDIRECTED_REQUEST',
        `this server does not serve the host ${JSON.stringify(request.headers.host ?? '')} (DOORBELL_ALLOWED_HOSTS)`,
      );
    const origin = request.headers.origin;
    if (origin !== undefined && !SAFE_METHODS.has(request.method) && !corsOrigins.has(origin)) {
      let host: string | undefined;
      try {
        host = new URL(origin).host;
      } catch {
        host = undefined;
      }
      if (host !== request.headers.host?.toLowerCase())
        return new ServiceError(
          'CROSS_ORIGIN_REFUSED',
          `a ${request.method} from the origin ${JSON.stringify(origin)} is refused: it is not this server's origin and CORS does not allow it (DOORBELL_CORS_ORIGINS)`,
        );
    }
    return undefined;
  }

  if (options.auth === 'on') {
    const lastUsed = new LastUsed(stores);
    app.addHook('onRequest', async (request) => {
      const scope = requiredScope(request);
      if (scope === 'none') return;
      const header = request.headers.authorization;
      const ticket = (request.query as { ticket?: unknown } | undefined)?.ticket;
      if (header === undefined && typeof ticket === 'string' && request.routeOptions.config.ticket === true) {
        // A browser's EventSource cannot send Authorization: a single-use ticket stands for the token.
        const tokenId = await redeemStreamTicket(stores, ticket);
        const principal = tokenId === undefined ? undefined : await principalOf(stores, tokenId);
        if (principal === undefined)
          throw unauthorized('the ticket is unknown, already used or expired; ask for another', 'invalid_token');
        request.principal = principal;
        return;
      }
      if (header === undefined)
        throw unauthorized(
          `${request.method} ${request.url.split('?')[0]} needs a token: Authorization: Bearer <token>`,
        );
      const bearer = /^Bearer +(\S+) *$/i.exec(header);
      if (bearer === null) throw unauthorized('the Authorization header must be "Bearer <token>"', 'invalid_request');
      const verdict = await verifyToken(stores, bearer[1] as string);
      if ('refused' in verdict) throw unauthorized(REFUSALS[verdict.refused], 'invalid_token');
      const { principal } = verdict;
      lastUsed.seen(principal.tokenId);
      if (!grants(principal.scopes, scope))
        throw new ServiceError(
          'FORBIDDEN',
          `the token ${JSON.stringify(principal.name)} has scopes ${principal.scopes.join(', ')}; ${request.method} ${request.routeOptions.url ?? request.url} needs ${scope}`,
          { headers: { 'www-authenticate': `${REALM}, error="insufficient_scope", scope="${scope}"` } },
        );
      request.principal = principal;
    });
  }

  if (options.rateLimit !== false) {
    const { max, timeWindowMs } = options.rateLimit;
    await app.register(rateLimit, {
      global: true,
      max,
      timeWindow: timeWindowMs,
      keyGenerator: (request) =>
        request.principal === null ? `address ${request.ip}` : `token ${request.principal.tokenId}`,
      errorResponseBuilder: (request, context) =>
        new ServiceError(
          'RATE_LIMITED',
          `${request.principal === null ? `the address ${request.ip}` : `the token ${JSON.stringify(request.principal.name)}`} sent more than ${context.max} requests in ${Math.round(timeWindowMs / 1000)} s; retry after ${context.after}`,
        ),
    });
  }
}
