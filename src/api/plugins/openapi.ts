// The OpenAPI document, generated from the route schemas, served at /openapi.json, and Swagger UI
// at /docs. Every operation and tag reads top to bottom as the README's first session.

import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { codesWithStatus } from '../../errors/catalogue.js';

export const OPENAPI_INFO = {
  title: 'doorbell',
  version: '1.2.0',
  description: [
    'Event-sourced IOMMU topology of arm64 VMs and, with proof, where every MSI of a passthrough device lands.',
    'Addresses, sizes and MSI data are strings of 0x and 1 to 16 hex digits, never JSON numbers.',
    'Errors are RFC 9457 application/problem+json with a stable `code`.',
    '',
    'First session (scenario S10 of the domain reference): in Swagger UI, "Try it out" and "Execute" the operations',
    'marked "first session, step N" in order, with their pre-filled examples (step 3 is the second example of addBus):',
    'they build an accel SMMUv3 VM with a vfio-pci device and resolve its vector 0 to the vITS doorbell 0x8090040.',
    'First press "Authorize" and paste a token: the admin token the service printed on its first start (also in',
    'the file <database>.admin-token), or one made with createToken.',
    '',
    'Authentication: `Authorization: Bearer <token>`. read may GET, write may also run commands and resolutions,',
    'admin may also manage tokens. 401 without a valid token, 403 when it lacks the scope. The actor of every event',
    "is the token's name; X-Actor is kept as metadata.onBehalfOf. /healthz, /readyz, /docs and /openapi.json need no",
    'token. Writes are rate limited per token (429 with Retry-After) and shed under pressure (503 with Retry-After).',
    '',
    'Retrying a conditional write: a 412 answers the current ETag (header and currentEtag) and currentVersion, so',
    'a client re-decides against that version and retries with If-Match set to it, without another GET.',
  ].join('\n'),
  license: { name: 'Proprietary', url: 'https://example.invalid/doorbell/license' },
};

const TAGS = [
  { name: 'vms', description: 'VMs: the board, and the whole projected topology' },
  { name: 'buses', description: 'pxb-pcie root complexes and PCIe root ports' },
  { name: 'smmus', description: "arm-smmuv3 instances, accel mode and the guest driver's state" },
  { name: 'devices', description: 'PCI devices and the STE the guest programmed for them' },
  { name: 'mappings', description: "a device's IOVA mappings at stage 1 and stage 2" },
  { name: 'msi-vectors', description: 'MSI-X table entries as the guest programmed them' },
  { name: 'msi', description: 'MSI doorbell resolutions and sweeps, kept as immutable records' },
  { name: 'qemu-builds', description: 'which QEMU builds carry which MSI behaviour (domain reference §10)' },
  {
    name: 'guest-profiles',
    description: 'what a booted Linux guest programs (STE, CD, stage 1, MSI-X), as profiles cited to the Linux source',
  },
  { name: 'fleet', description: 'fleet sweeps: every VM under its own QEMU build and under a target build' },
  { name: 'events', description: 'the event log' },
  { name: 'tokens', description: 'API tokens and their scopes (admin)' },
  {
    name: 'webhooks',
    description:
      'webhooks (admin): each matching event POSTed to a receiver, signed, in order, at least once (the body: WebhookPayload)',
  },
  { name: 'meta', description: 'service index, health, metrics and API description' },
];

const SECURITY_SCHEME = 'bearerToken';

/**
 * Every operation that needs a token can also answer 401, 403 and 429, and every write 507: said
 * once here, not per route.
 */
function documentSecurity(document: Record<string, unknown>): Record<string, unknown> {
  const problem = (status: number) => ({
    description: `problem+json with code ${codesWithStatus(status).join(', ')}`,
    content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
  });
  const paths = document.paths as Record<string, Record<string, { security?: unknown[]; responses: object }>>;
  for (const operations of Object.values(paths))
    for (const operation of Object.values(operations)) {
      if (operation.security !== undefined && operation.security.length === 0) continue;
      operation.responses = { ...operation.responses, 401: problem(401), 403: problem(403), 429: problem(429) };
    }
  // Every write can find the disk full (contract v1.3, "Edges").
  for (const operations of Object.values(paths))
    for (const [method, operation] of Object.entries(operations))
      if (['post', 'put', 'patch', 'delete'].includes(method))
        operation.responses = { ...operation.responses, 507: problem(507) };
  return nameCallbacks(document);
}

/**
 * The swagger plugin keeps only the body and responses of a callback (the webhook delivery of
 * createWebhook): its operation gets a summary and its headers here.
 */
function nameCallbacks(document: Record<string, unknown>): Record<string, unknown> {
  const paths = document.paths as Record<
    string,
    Record<string, { callbacks?: Record<string, Record<string, Record<string, Record<string, unknown>>>> }>
  >;
  for (const operations of Object.values(paths))
    for (const operation of Object.values(operations))
      for (const [name, urls] of Object.entries(operation.callbacks ?? {}))
        for (const methods of Object.values(urls))
          for (const callback of Object.values(methods)) {
            callback.summary = `The ${name} a receiver gets (signed by the Standard Webhooks scheme)`;
            callback.security = [];
            callback.parameters = ['webhook-id', 'webhook-timestamp', 'webhook-signature'].map((header) => ({
              name: header,
              in: 'header',
              required: true,
              schema: { type: 'string' },
              description: 'see the WebhookPayload schema',
            }));
          }
  return document;
}

export async function registerOpenApi(app: FastifyInstance, options: { serverUrl?: string } = {}): Promise<void> {
  await app.register(swagger, {
    // Shared schemas keep their $id as their name under components/schemas.
    refResolver: {
      buildLocalReference: (json, _base, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`),
    },
    openapi: {
      openapi: '3.0.3',
      info: OPENAPI_INFO,
      servers: [{ url: options.serverUrl ?? '/', description: 'this service' }],
      tags: TAGS,
      components: {
        securitySchemes: {
          [SECURITY_SCHEME]: {
            type: 'http',
            scheme: 'bearer',
            bearerFormat: 'dbt_<id>_<secret>',
            description: 'an API token: the admin token printed on first start, or one made with POST /v1/tokens',
          },
        },
      },
      security: [{ [SECURITY_SCHEME]: [] }],
    },
    transformObject: (documentObject) =>
      'openapiObject' in documentObject
        ? documentSecurity(documentObject.openapiObject as Record<string, unknown>)
        : documentObject.swaggerObject,
  });
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: { tryItOutEnabled: false, displayOperationId: true },
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
