// The projection cache only moves forward. On PostgreSQL reads are asynchronous: a load that read
// an older version can finish after one that read a newer version. It must answer at the version
// it read without putting the older state back in the cache, or the command writer would plan on
// it and place events at versions that already exist (seen as 500s in the two-node test).

import { afterEach, expect, it } from 'vitest';
import { VmRepository } from '../../src/app/vm-repository';
import { createStores, type Stores } from '../../src/db/index';

let stores: Stores | undefined;
afterEach(async () => {
  await stores?.close();
});

it('a load that read an older version answers at it and leaves the newer cached state in place', async () => {
  stores = await createStores(':memory:');
  const vms = new VmRepository(stores.events);
  const metadata = { occurredAt: new Date().toISOString(), actor: 'test', requestId: 'r' };
  await vms.execute('vm1', { type: 'DefineVm', vmId: 'vm1' }, { metadata });
  await vms.execute('vm1', { type: 'AddBus', busId: 'pcie.1', busType: 'pxb-pcie', busNr: 1 }, { metadata });
  expect((await vms.load('vm1'))?.version).toBe(2);
  // A reader that saw version 1 (before the second append) finishes now.
  await vms.loadMany(['vm1'], new Map([['vm1', 1]]));
  expect((await vms.loadKnown('vm1'))?.version).toBe(2);
  // And one that saw no VM at all does not drop it either.
  await vms.loadMany(['vm1'], new Map([['vm1', 0]]));
  expect((await vms.loadKnown('vm1'))?.version).toBe(2);
});
