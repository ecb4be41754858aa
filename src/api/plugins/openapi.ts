// The OpenAPI document, generated from the route schemas, served at /openapi.json, and Swagger UI
// at /docs. Every operation and tag reads top to bottom as the README's first session.

import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';

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
  { name: 'fleet', description: 'fleet sweeps: every VM under its own QEMU build and under a target build' },
  { name: 'events', description: 'the event log' },
  { name: 'meta', description: 'service index and API description' },
];

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
    },
  });
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: { tryItOutEnabled: false, displayOperationId: true },
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
