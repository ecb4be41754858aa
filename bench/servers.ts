// The two HTTP servers benchmark (a) compares, run as child processes so that the load generator
// does not share their event loop:
//   doorbell: the real service on a fresh SQLite file (WAL, synchronous=FULL) with the S10 VM;
//   bare: fastify with one route validating a body of the same shape, answering a small JSON.
// Prints the listening URL on stdout.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { Type } from '@sinclair/typebox';
import { buildApp } from '../src/api/app';
import { createStores } from '../src/db/stores';
import { S10_COMMANDS, S10_VM } from './fixtures';

const which = process.argv[2];
const metadata = { occurredAt: new Date().toISOString(), actor: 'bench', requestId: 'bench' };

if (which === 'doorbell') {
  const stores = createStores(join(mkdtempSync(join(tmpdir(), 'doorbell-bench-')), 'doorbell.db'));
  stores.transaction(() => {
    for (const c of S10_COMMANDS) stores.vms.execute(S10_VM, c, { metadata });
  });
  // Loopback only: no token to send, and no rate limit on the load generator.
  const app = await buildApp({ stores, auth: 'off', rateLimit: false });
  console.log(await app.listen({ port: 0, host: '127.0.0.1' }));
} else if (which === 'bare') {
  const app = Fastify();
  const body = Type.Object(
    {
      device: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' }),
      vector: Type.Optional(Type.Integer({ minimum: 0, maximum: 2047 })),
      address: Type.Optional(Type.String({ pattern: '^0[xX][0-9a-fA-F]{1,16}$' })),
      data: Type.Optional(Type.String({ pattern: '^0[xX][0-9a-fA-F]{1,16}$' })),
      semantics: Type.Optional(
        Type.Union([Type.Literal('pre-fix'), Type.Literal('address-space'), Type.Literal('upstream')]),
      ),
    },
    { additionalProperties: false },
  );
  app.post('/v1/vms/:vm/msi-resolutions', { schema: { body } }, async (_request, reply) =>
    reply.code(201).send({ ok: true }),
  );
  console.log(await app.listen({ port: 0, host: '127.0.0.1' }));
} else {
  throw new Error('usage: servers.ts doorbell|bare');
}
