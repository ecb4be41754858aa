// What /readyz answers: the database's own checks (open for writing, migrations), the record
// writer's, and the storage check the HTTP layer keeps (a write refused for want of space lately,
// and none succeeded since); 503 NOT_READY naming every check that failed.

import type { Check, Engine, Stores } from '../db/port.js';
import { ServiceError } from '../errors/problem.js';

export async function readiness(
  stores: Pick<Stores, 'health' | 'records'>,
  storage: () => Check,
): Promise<{
  status: 'ready';
  engine: Engine;
  schemaVersion: string;
  checks: { database: Check; migrations: Check; recordWriter: Check; storage: Check };
}> {
  const health = await stores.health();
  const checks = {
    ...health.checks,
    recordWriter: {
      ok: stores.records.alive,
      detail: stores.records.alive
        ? `alive, ${stores.records.queueDepth} records queued`
        : 'the record writer has stopped',
    },
    storage: storage(),
  };
  if (!Object.values(checks).every((c) => c.ok))
    throw new ServiceError(
      'NOT_READY',
      Object.values(checks)
        .filter((c) => !c.ok)
        .map((c) => c.detail)
        .join('; '),
      { extra: { checks } },
    );
  return { status: 'ready' as const, engine: health.engine, schemaVersion: health.schemaVersion, checks };
}
