// The HTTP application as a fastify plugin, the way fastify's own examples build one: the server
// options (router, parsers, error hooks that only the constructor takes), infrastructure plugins
// first (problems, conventions, OpenAPI), then one route plugin per resource. The caller owns the
// services and their stores, and closes the stores after the app.

import { randomUUID } from 'node:crypto';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Ajv from 'ajv';
import Fastify, {
  type FastifyHttpOptions,
  type FastifyInstance,
  type FastifyRequest,
  type FastifyServerOptions,
} from 'fastify';
import { withoutTicket } from '../app/stream-tickets.js';
import type { Server } from 'node:http';
import fp from 'fastify-plugin';
import type { Services } from '../app/services.js';
import type { EventStreamOptions } from './event-stream.js';
import { registerHttpConventions } from './plugins/http-conventions.js';
import { registerHttpMetrics } from './plugins/http-metrics.js';
import { BriefSchema } from './lists.js';
import { StorageAlarm } from './storage-alarm.js';
import { registerOpenApi } from './plugins/openapi.js';
import { clientErrorHandler, frameworkErrorHandler, registerProblemHandlers } from './plugins/problem.js';
import { RouteTable } from './plugins/route-table.js';
import { DEFAULT_PRESSURE, type PressureOptions, registerSecurity, type SecurityOptions } from './plugins/security.js';
import { busRoutes } from './routes/buses.js';
import { deviceRoutes } from './routes/devices.js';
import { eventRoutes } from './routes/events.js';
import { healthRoutes } from './routes/health.js';
import { interchangeRoutes } from './routes/interchange.js';
import { fleetSweepRoutes } from './routes/fleet-sweeps.js';
import { mappingRoutes } from './routes/mappings.js';
import { metaRoutes } from './routes/meta.js';
import { resolutionRoutes } from './routes/msi-resolutions.js';
import { msiVectorRoutes } from './routes/msi-vectors.js';
import { guestProfileRoutes } from './routes/guest-profiles.js';
import { qemuBuildRoutes } from './routes/qemu-builds.js';
import { smmuRoutes } from './routes/smmus.js';
import { tokenRoutes } from './routes/tokens.js';
import { webhookRoutes } from './routes/webhooks.js';
import { vmRoutes } from './routes/vms.js';
import { vmSyncRoutes } from './routes/vm-sync.js';
import { BusSchema } from './schemas/bus.js';
import { CommandOutcome, ProblemSchema, Query } from './schemas/common.js';
import { DeviceSchema, MappingSchema, VectorSchema } from './schemas/device.js';
import { EventSchema } from './schemas/event.js';
import { FleetSweepSchema } from './schemas/fleet-sweep.js';
import { ImportReportSchema } from './schemas/interchange.js';
import { QemuClassificationSchema } from './schemas/qemu-build.js';
import { ResolutionSchema, RouteSchema, SweepSchema } from './schemas/resolution.js';
import { SmmuSchema } from './schemas/smmu.js';
import { TokenSchema } from './schemas/token.js';
import { VmSchema } from './schemas/vm.js';
import { DeliverySchema, WebhookPayloadSchema, WebhookSchema } from './schemas/webhook.js';
import { WebhookDeliverer } from '../app/webhook-deliverer.js';
import { DEFAULT_SECRET_GRACE_MS } from '../app/webhooks.js';
import { type TargetPolicy, targetPolicy } from '../app/webhook-targets.js';

export interface AppOptions {
  /** The application's services (src/app/services.ts), built once from the stores. */
  services: Services;
  /** Origins allowed to call the API from a browser (CORS); none by default. */
  corsOrigins?: string[];
  /** Bearer tokens required: 'on' unless said otherwise; 'off' only for a server on loopback. */
  auth?: 'on' | 'off';
  /** Host header values served; default: localhost, 127.0.0.1, [::1] and listenHost, on the server's port. */
  allowedHosts?: string[];
  listenHost?: string;
  /** Requests per window per token (per address without auth); false: none. Default 1200 a minute. */
  rateLimit?: SecurityOptions['rateLimit'];
  /** When to answer 503 with Retry-After (see DEFAULT_PRESSURE); false: never. */
  pressure?: Partial<PressureOptions> | false;
  /** The base of absolute links (DOORBELL_PUBLIC_URL); by default each request's own scheme and host. */
  publicUrl?: string;
  /** GET /v1/events/stream: heartbeat interval, bound of what is queued per connection, poll interval. */
  eventStream?: Partial<EventStreamOptions>;
  /**
   * Webhooks: where targets may be (default loopback only), the secret's grace period on rotation,
   * and the node's deliverer (the server starts it; without one, a deliverer that only pings).
   */
  webhooks?: { policy?: TargetPolicy; secretGraceMs?: number; deliverer?: WebhookDeliverer };
}

export const DEFAULT_RATE_LIMIT = { max: 1200, timeWindowMs: 60_000 };

/** A client's X-Request-ID is kept when it is a sane token; otherwise the server makes one. */
const REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

export const BODY_LIMIT = 256 * 1024;
export const MAX_PARAM_LENGTH = 100;

/** A request's headers and body must arrive within this time; the connection is then cut with a 408. */
export const REQUEST_TIMEOUT_MS = 10_000;
/** An idle keep-alive connection is closed after this long. */
export const KEEP_ALIVE_TIMEOUT_MS = 5_000;

export function serverOptions(
  logger: FastifyServerOptions['logger'] = false,
  options: { requestTimeoutMs?: number } = {},
): FastifyHttpOptions<Server> {
  const requestTimeout = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
  return {
    logger: withoutTickets(logger),
    // A slow client (slowloris) is cut off: the headers and the whole request must arrive within
    // requestTimeout, checked every second (Node checks every 30 s by default).
    requestTimeout,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    connectionTimeout: 6 * requestTimeout,
    // A request without Host reaches the Host check (421 problem+json) instead of Node's bare 400.
    http: { headersTimeout: requestTimeout, connectionsCheckingInterval: 1000, requireHostHeader: false },
    bodyLimit: BODY_LIMIT,
    requestIdHeader: false,
    genReqId: (request) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: MAX_PARAM_LENGTH },
    frameworkErrors: frameworkErrorHandler,
    clientErrorHandler,
  };
}

/** A stream ticket (?ticket=) is a credential: request logs show its URL with the ticket hidden. */
function withoutTickets(logger: FastifyServerOptions['logger']): FastifyServerOptions['logger'] {
  if (logger === undefined || logger === false) return logger;
  const base = logger === true ? {} : logger;
  return {
    ...base,
    serializers: {
      req: (request: FastifyRequest) => ({
        method: request.method,
        url: withoutTicket(request.url),
        host: request.host,
        remoteAddress: request.ip,
        remotePort: request.socket?.remotePort,
      }),
      ...base.serializers,
    },
  };
}

/**
 * Bodies are validated as written: no type coercion (a JSON number is not an address) and no
 * silent removal of unknown fields. Query strings, paths and headers arrive as text, so they are
 * coerced to the schema's types.
 */
function validators() {
  const common = { allErrors: true, strict: false, verbose: true } as const;
  const body = new Ajv({ ...common, coerceTypes: false, useDefaults: false, removeAdditional: false });
  // 'array': a query parameter that may repeat (?type=A&type=B) is a list also when given once.
  const text = new Ajv({ ...common, coerceTypes: 'array', useDefaults: true, removeAdditional: false });
  return { body, text };
}

const SHARED_SCHEMAS = [
  ProblemSchema,
  CommandOutcome,
  BusSchema,
  SmmuSchema,
  DeviceSchema,
  MappingSchema,
  VectorSchema,
  VmSchema,
  EventSchema,
  ResolutionSchema,
  RouteSchema,
  SweepSchema,
  TokenSchema,
  BriefSchema,
  QemuClassificationSchema,
  FleetSweepSchema,
  ImportReportSchema,
  WebhookSchema,
  DeliverySchema,
  WebhookPayloadSchema,
];

/**
 * A query parameter a route does not declare is a 400 naming it on every route (contract v1.1),
 * also on the routes that take none (the writes): `POST ...?limit=20` must not be silently
 * ignored (contract v1.3, "Edges"). The documentation's own routes (hidden) are left alone.
 */
function refuseUndeclaredQueries(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    if (route.schema?.hide === true || route.schema?.querystring !== undefined) return;
    route.schema = { ...route.schema, querystring: Query({}) };
  });
}

export const doorbellApp = fp<AppOptions>(async (app, options) => {
  const { services, corsOrigins = [], publicUrl } = options;
  const { body, text } = validators();
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? body : text).compile(schema));
  // Routes send JSON text they built themselves (canonical hex, stored records byte for byte);
  // the response schemas describe it for the OpenAPI document, they do not rewrite it.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  // JSON only: anything else is a 415, not a string fed to the body schema.
  app.removeContentTypeParser('text/plain');

  const routes = RouteTable.collect(app);
  registerProblemHandlers(app, routes);
  await registerHttpConventions(app, { corsOrigins });
  registerHttpMetrics(app, services.metrics);
  await registerSecurity(app, services.stores, {
    auth: options.auth ?? 'on',
    allowedHosts: options.allowedHosts,
    listenHost: options.listenHost,
    corsOrigins,
    rateLimit: options.rateLimit ?? DEFAULT_RATE_LIMIT,
    pressure: options.pressure === false ? false : { ...DEFAULT_PRESSURE, ...options.pressure },
  });
  await registerOpenApi(app);
  for (const schema of SHARED_SCHEMAS) app.addSchema(schema);
  refuseUndeclaredQueries(app);

  const storageAlarm = new StorageAlarm();
  storageAlarm.watch(app);

  const typed = app.withTypeProvider<TypeBoxTypeProvider>();
  const routeOptions = { services, publicUrl, eventStream: options.eventStream };
  await typed.register(metaRoutes, routeOptions);
  await typed.register(healthRoutes, { services, storageAlarm });
  for (const plugin of [
    tokenRoutes,
    vmRoutes,
    busRoutes,
    smmuRoutes,
    deviceRoutes,
    mappingRoutes,
    msiVectorRoutes,
    resolutionRoutes,
    qemuBuildRoutes,
    guestProfileRoutes,
    fleetSweepRoutes,
    eventRoutes,
    interchangeRoutes,
    vmSyncRoutes,
  ]) {
    await typed.register(plugin, routeOptions);
  }
  const policy = options.webhooks?.policy ?? targetPolicy();
  const webhooks = {
    policy,
    secretGraceMs: options.webhooks?.secretGraceMs ?? DEFAULT_SECRET_GRACE_MS,
    deliverer:
      options.webhooks?.deliverer ?? new WebhookDeliverer(services, { policy, baseUrl: () => publicUrl ?? '' }),
  };
  await typed.register(webhookRoutes, { ...routeOptions, webhooks });
});

/** The app on a fresh fastify instance, ready to inject or listen. */
export async function buildApp(
  options: AppOptions & { logger?: FastifyServerOptions['logger']; requestTimeoutMs?: number; maxConnections?: number },
): Promise<FastifyInstance> {
  const { logger, requestTimeoutMs, maxConnections, ...appOptions } = options;
  const app = Fastify(serverOptions(logger, { requestTimeoutMs }));
  // Connections over the cap are closed as they arrive.
  if (maxConnections !== undefined) app.server.maxConnections = maxConnections;
  await app.register(doorbellApp, appOptions);
  await app.ready();
  return app;
}
