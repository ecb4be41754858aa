// The HTTP servers the benchmarks compare, run as child processes so that the load generator
// does not share their event loop. Each prints its listening URL on stdout.
//   doorbell: the real service on a fresh SQLite file (WAL, synchronous=FULL) with the S10 VM
//             and COMMAND_VMS emulated VMs (one per connection of the command benchmark); with
//             BENCH_DOORBELL_DB set, a node on that database instead (seeded by the caller: two
//             nodes on one PostgreSQL database, bench item h);
//   bare:     fastify with one route that validates a small body and echoes it.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Type } from '@sinclair/typebox';
import Fastify from 'fastify';
import { buildApp } from '../src/api/app';
import { createServices } from '../src/app/services';
import { createStores } from '../src/db/index';
import { seedBenchVms } from './fixtures';

const which = process.argv[2];

if (which === 'doorbell') {
  const shared = process.env.BENCH_DOORBELL_DB;
  const stores = await createStores(shared ?? join(mkdtempSync(join(tmpdir(), 'doorbell-bench-')), 'doorbell.db'));
  const services = createServices(stores);
  if (shared === undefined) await seedBenchVms(services);
  // Loopback only: no token to send, and no rate limit on the load generator.
  const app = await buildApp({ services, auth: 'off', rateLimit: false });
  // A clean exit, so that `node --cpu-prof` writes its profile.
  process.once('SIGINT', () => void app.close().then(() => process.exit(0)));
  console.log(await app.listen({ port: 0, host: '127.0.0.1' }));
} else if (which === 'bare') {
  const app = Fastify();
  const body = Type.Object(
    {
      device: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' }),
      vector: Type.Integer({ minimum: 0, maximum: 2047 }),
    },
    { additionalProperties: false },
  );
  app.post('/echo', { schema: { body } }, async (request, reply) => reply.code(201).send(request.body));
  process.once('SIGINT', () => void app.close().then(() => process.exit(0)));
  console.log(await app.listen({ port: 0, host: '127.0.0.1' }));
} else {
  throw new Error('usage: servers.ts doorbell|bare');
}
