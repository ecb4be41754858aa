// For operators and orchestrators: liveness and readiness without a token, Prometheus metrics with
// the read scope. All three are answered even when the service sheds load, and are not rate
// limited, so that a probe tells what is wrong instead of being turned away.

import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Services } from '../../app/services.js';
import { readiness } from '../../app/readiness.js';
import { errorResponses, Query } from '../schemas/common.js';
import type { StorageAlarm } from '../storage-alarm.js';

const PROBE = { underPressure: false, rateLimit: false } as const;

const Check = Type.Object({ ok: Type.Boolean(), detail: Type.String() });
const ReadinessSchema = Type.Object({
  status: Type.Literal('ready'),
  engine: Type.Union([Type.Literal('sqlite'), Type.Literal('postgres')], {
    description: 'the storage engine DOORBELL_DB chose',
  }),
  schemaVersion: Type.String({ description: 'the last migration applied' }),
  checks: Type.Object({ database: Check, migrations: Check, recordWriter: Check, storage: Check }),
});

export const healthRoutes: FastifyPluginAsyncTypebox<{ services: Services; storageAlarm: StorageAlarm }> = async (
  app,
  { services, storageAlarm },
) => {
  app.get(
    '/healthz',
    {
      config: { scope: 'none', ...PROBE },
      schema: {
        operationId: 'getHealth',
        tags: ['meta'],
        summary: 'Liveness: the process answers (no token)',
        security: [],
        querystring: Query({}),
        response: {
          200: {
            description: 'alive',
            content: { 'application/json': { schema: Type.Object({ status: Type.Literal('ok') }) } },
          },
          ...errorResponses(400),
        },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      config: { scope: 'none', ...PROBE },
      schema: {
        operationId: 'getReadiness',
        tags: ['meta'],
        summary:
          'Readiness: database writable, migrations applied, record writer alive, no write lately refused for want of space (no token)',
        security: [],
        querystring: Query({}),
        response: {
          200: { description: 'ready', content: { 'application/json': { schema: ReadinessSchema } } },
          ...errorResponses(400, 503),
        },
      },
    },
    // A write refused for want of space (507 STORAGE_FULL) lately, and none succeeded since.
    async () => readiness(services.stores, () => storageAlarm.check()),
  );

  app.get(
    '/metrics',
    {
      config: { scope: 'read', ...PROBE },
      schema: {
        operationId: 'getMetrics',
        tags: ['meta'],
        summary: 'Prometheus metrics (read scope)',
        description:
          'Requests by route and status with latency histograms, events appended, record-writer batch sizes, ' +
          'commit latency and queue depth, database and WAL size.',
        querystring: Query({}),
        response: {
          200: {
            description: 'the Prometheus text exposition format 0.0.4',
            content: { 'text/plain': { schema: Type.String() } },
          },
          ...errorResponses(400),
        },
      },
    },
    async (_request, reply) => reply.type(services.metrics.contentType).send(await services.metrics.text()),
  );
};
