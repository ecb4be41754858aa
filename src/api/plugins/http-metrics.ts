// Every answer counted at GET /metrics: by method, route (its pattern, not the URL) and status,
// with its latency.

import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../../metrics/registry.js';

export function registerHttpMetrics(app: FastifyInstance, metrics: Metrics): void {
  const requests = metrics.histogram({
    name: 'doorbell_http_request_duration_seconds',
    help: 'HTTP requests by method, route and status, with their latency',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  });
  // The callback form: no promise per request (see http-conventions.ts).
  app.addHook('onResponse', (request, reply, done) => {
    requests.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
    done();
  });
}
