// Commits a batch of record writes on one better-sqlite3 connection: all of them in one
// IMMEDIATE transaction (one fsync for the batch), and when that fails, each write alone, so that
// one bad write (a duplicate Idempotency-Key, say) fails only itself. Used by the worker thread
// and, for ':memory:' databases, on the main thread. Plain JavaScript so that the worker can load
// it without a TypeScript loader.

/**
 * @param {import('better-sqlite3').Database} db
 * @param {import('./types').RecordStatements} statements SQL generated from schema.ts
 * @returns {(writes: import('./types').RecordWrite[]) => (string | null)[]} one error (or null) per write
 */
export function batchApplier(db, statements) {
  const bind = (/** @type {import('./types').NamedStatement} */ statement) => {
    const prepared = db.prepare(statement.sql);
    return (/** @type {Record<string, unknown>} */ row) =>
      prepared.run(...statement.params.map((name) => row[name] ?? null));
  };
  const insertResolution = bind(statements.resolution);
  const insertSweep = bind(statements.sweep);
  const insertFleetSweep = bind(statements.fleetSweep);
  const insertIdempotency = bind(statements.idempotency);

  const apply = (/** @type {import('./types').RecordWrite} */ write) => {
    if (write.sweep) insertSweep({ ...write.sweep });
    if (write.fleetSweep) insertFleetSweep({ ...write.fleetSweep });
    for (const resolution of write.resolutions) insertResolution({ ...resolution });
    const keep = write.idempotency;
    if (keep) {
      const { status, headers, body } = keep.response;
      insertIdempotency({
        key: keep.key,
        fingerprint: keep.fingerprint,
        status,
        headers: JSON.stringify(headers),
        body,
        createdAt: keep.createdAt,
      });
    }
  };
  const applyAll = db.transaction((/** @type {import('./types').RecordWrite[]} */ writes) => writes.forEach(apply));
  const applyOne = db.transaction(apply);

  return (writes) => {
    try {
      applyAll.immediate(writes);
      return writes.map(() => null);
    } catch {
      return writes.map((write) => {
        try {
          applyOne.immediate(write);
          return null;
        } catch (error) {
          return error instanceof Error ? error.message : String(error);
        }
      });
    }
  };
}
