// Builds the HTTP application: validation, problem+json errors, request ids, OpenAPI and the
// routes. The caller owns the stores (and closes them after the app).

import { randomUUID } from 'node:crypto';
import Ajv from 'ajv';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Stores } from '../db/stores';
import { registerProblemHandlers } from './problem';
import { Problem } from './schemas';
import { ResolutionSchema, SweepSchema } from './resolution-schemas';
import { busRoutes } from './routes/buses';
import { deviceRoutes } from './routes/devices';
import { eventRoutes } from './routes/events';
import { resolutionRoutes } from './routes/resolutions';
import { smmuRoutes } from './routes/smmus';
import { vmRoutes } from './routes/vms';

export interface AppOptions {
  stores: Stores;
  logger?: FastifyServerOptions['logger'];
}

/** A client's X-Request-ID is kept when it is a sane token; otherwise the server makes one. */
const REQUEST_ID = /^[A-Za-z0-9._:@\/+=-]{1,128}$/;

export const BODY_LIMIT = 256 * 1024;

export const OPENAPI_INFO = {
  title: 'doorbell',
  version: '1.0.0',
  description:
    'Event-sourced IOMMU topology of arm64 VMs and, with proof, where every MSI of a passthrough device lands. ' +
    'Addresses, sizes and MSI data are strings of 0x and hex digits. Errors are RFC 9457 problem+json with a stable `code`.',
};

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

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: BODY_LIMIT,
    requestIdHeader: false,
    genReqId: (request) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
  });

  const { body, text } = validators();
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? body : text).compile(schema));
  // JSON only: anything else is a 415, not a string fed to the body schema.
  app.removeContentTypeParser('text/plain');
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  registerProblemHandlers(app);

  await app.register(swagger, {
    // Shared schemas keep their $id as their name under components/schemas.
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    openapi: {
      openapi: '3.0.3',
      info: OPENAPI_INFO,
      tags: [
        { name: 'topology', description: 'Topology commands (each appends events) and projected reads' },
        { name: 'msi', description: 'MSI doorbell resolutions and sweeps, kept as immutable records' },
        { name: 'events', description: 'The event log' },
        { name: 'meta', description: 'Service index and API description' },
      ],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.addSchema(Problem);
  app.addSchema(ResolutionSchema);
  app.addSchema(SweepSchema);

  app.get('/', { schema: { tags: ['meta'], summary: 'Where to start' } }, async () => ({
    service: 'doorbell',
    docs: '/docs',
    openapi: '/openapi.json',
    vms: '/v1/vms',
    events: '/v1/events',
  }));
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  vmRoutes(app, options.stores);
  busRoutes(app, options.stores);
  smmuRoutes(app, options.stores);
  deviceRoutes(app, options.stores);
  eventRoutes(app, options.stores);
  resolutionRoutes(app, options.stores);

  await app.ready();
  return app;
}
