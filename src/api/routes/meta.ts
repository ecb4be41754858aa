// Where to start: the service index.

import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { errorResponses, Query } from '../schemas/common.js';

const IndexSchema = Type.Object({
  service: Type.Literal('doorbell'),
  docs: Type.String({ description: 'Swagger UI' }),
  openapi: Type.String({ description: 'the OpenAPI document' }),
  vms: Type.String(),
  events: Type.String(),
});

export const metaRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/',
    {
      config: { scope: 'none' },
      schema: {
        operationId: 'getIndex',
        tags: ['meta'],
        summary: 'Where to start (no token)',
        security: [],
        querystring: Query({}),
        response: {
          200: {
            description: 'links to the docs and the collections',
            content: { 'application/json': { schema: IndexSchema } },
          },
          ...errorResponses(400),
        },
      },
    },
    async () => ({
      service: 'doorbell' as const,
      docs: '/docs',
      openapi: '/openapi.json',
      vms: '/v1/vms',
      events: '/v1/events',
    }),
  );
};
