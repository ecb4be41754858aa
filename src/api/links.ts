// The base of absolute links (contract v1.2): DOORBELL_PUBLIC_URL when the operator set it (nodes
// behind one load balancer set the same), else the scheme and Host the request came with.

import type { FastifyRequest } from 'fastify';

// A Host header is a name or an IP literal with an optional port; anything else is not echoed.
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/;

export function baseUrlOf(request: FastifyRequest, publicUrl: string | undefined): string {
  if (publicUrl !== undefined) return publicUrl;
  const host = request.headers.host;
  return `${request.protocol}://${typeof host === 'string' && HOST.test(host) ? host : 'localhost'}`;
}
