// The HTTP application as a fastify plugin, the way fastify's own examples build one: the server
// options (router, parsers, error hooks that only the constructor takes), infrastructure plugins
// first (problems, conventions, OpenAPI), then one route plugin per resource. The caller owns the
// stores and closes them after the app.

import { randomUUID } from 'node:crypto';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Ajv from 'ajv';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import fp from 'fastify-plugin';
import type { Stores } from '../db/stores.js';
import { registerHttpConventions } from './plugins/http-conventions.js';
import { registerOpenApi } from './plugins/openapi.js';
import { clientErrorHandler, frameworkErrorHandler, registerProblemHandlers } from './plugins/problem.js';
import { RouteTable } from './plugins/route-table.js';
import { busRoutes } from './routes/buses.js';
import { deviceRoutes } from './routes/devices.js';
import { eventRoutes } from './routes/events.js';
import { fleetSweepRoutes } from './routes/fleet-sweeps.js';
import { mappingRoutes } from './routes/mappings.js';
import { metaRoutes } from './routes/meta.js';
import { resolutionRoutes } from './routes/msi-resolutions.js';
import { msiVectorRoutes } from './routes/msi-vectors.js';
import { qemuBuildRoutes } from './routes/qemu-builds.js';
import { smmuRoutes } from './routes/smmus.js';
import { vmRoutes } from './routes/vms.js';
import { BusSchema } from './schemas/bus.js';
import { CommandOutcome, ProblemSchema } from './schemas/common.js';
import { DeviceSchema, MappingSchema, VectorSchema } from './schemas/device.js';
import { EventSchema } from './schemas/event.js';
import { FleetSweepSchema } from './schemas/fleet-sweep.js';
import { QemuClassificationSchema } from './schemas/qemu-build.js';
import { ResolutionSchema, RouteSchema, SweepSchema } from './schemas/resolution.js';
import { SmmuSchema } from './schemas/smmu.js';
import { VmSchema } from './schemas/vm.js';

export interface AppOptions {
  stores: Stores;
  /** Origins allowed to call the API from a browser (CORS); none by default. */
  corsOrigins?: string[];
  /** The base of absolute links (DOORBELL_PUBLIC_URL); by default each request's own scheme and host. */
  publicUrl?: string;
}

/** A client's X-Request-ID is kept when it is a sane token; otherwise the server makes one. */
const REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

export const BODY_LIMIT = 256 * 1024;
export const MAX_PARAM_LENGTH = 100;

export function serverOptions(logger: FastifyServerOptions['logger'] = false): FastifyServerOptions {
  return {
    logger,
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

/**
 * Bodies are validated as written: no type coercion (a JSON number is not an address) and no
 * silent removal of unknown fields. Query strings, paths and headers arrive as text, so they are
 * coerced to the schema's types.
 */
function validators() {
  const common = { allErrors: true, strict: false, verbose: true } as const;
  const body = new Ajv({ ...common, coerceTypes: false, useDefaults: false, removeAdditional: false });
  const text = new Ajv({ ...common, coerceTypes: true, useDefaults: true, removeAdditional: false });
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
  QemuClassificationSchema,
  FleetSweepSchema,
];

export const doorbellApp = fp<AppOptions>(async (app, { stores, corsOrigins = [], publicUrl }) => {
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
  await registerOpenApi(app);
  for (const schema of SHARED_SCHEMAS) app.addSchema(schema);

  const typed = app.withTypeProvider<TypeBoxTypeProvider>();
  for (const plugin of [
    metaRoutes,
    vmRoutes,
    busRoutes,
    smmuRoutes,
    deviceRoutes,
    mappingRoutes,
    msiVectorRoutes,
    resolutionRoutes,
    qemuBuildRoutes,
    fleetSweepRoutes,
    eventRoutes,
  ]) {
    await typed.register(plugin, { stores, publicUrl });
  }
});

/** The app on a fresh fastify instance, ready to inject or listen. */
export async function buildApp(
  options: AppOptions & { logger?: FastifyServerOptions['logger'] },
): Promise<FastifyInstance> {
  const { logger, ...appOptions } = options;
  const app = Fastify(serverOptions(logger));
  await app.register(doorbellApp, appOptions);
  await app.ready();
  return app;
}
