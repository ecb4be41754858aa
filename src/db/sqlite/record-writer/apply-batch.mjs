// Commits a batch of writes on one better-sqlite3 connection: all of them in one IMMEDIATE
// transaction (one fsync for the batch), and when that fails, each write alone, so that one bad
// write (a duplicate Idempotency-Key, events placed after a position that moved on) fails only
// itself. Used by the worker thread and, for ':memory:' databases, on the main connection. Plain
// JavaScript so that the worker can load it without a TypeScript loader.

import { pack, RECORD_CODEC } from '../../shared/codec.mjs';
import { failureText } from '../../shared/storage-full.mjs';

const STALE_POSITION = 'STALE_POSITION';

/**
 * @param {import('better-sqlite3').Database} db
 * @param {import('./statements').RecordStatements} statements SQL generated from schema.ts
 * @returns {(writes: import('./index').SqliteRecordWrite[]) => (string | null)[]} one error (or null) per write
 */
export function batchApplier(db, statements) {
  const bind = (/** @type {import('./statements').NamedStatement} */ statement) => {
    const prepared = db.prepare(statement.sql);
    return (/** @type {Record<string, unknown>} */ row) =>
      prepared.run(...statement.params.map((name) => row[name] ?? null));
  };
  const insertResolution = bind(statements.resolution);
  const insertSweep = bind(statements.sweep);
  const insertFleetSweep = bind(statements.fleetSweep);
  const insertIdempotency = bind(statements.idempotency);
  const insertEvent = bind(statements.event);
  const lastPosition = db.prepare(statements.lastPosition.sql).pluck();
  const insertBody = bind(statements.body);
  const bodyExists = db.prepare(statements.bodyExists.sql).pluck();

  /** A resolution body is stored once, compressed, however many records share it. */
  const storeResolution = (/** @type {import('../../port').ResolutionRecordRow} */ row) => {
    if (bodyExists.get(row.bodyHash) === undefined) {
      if (row.resolution === undefined) throw new Error(`resolution body ${row.bodyHash} is neither stored nor given`);
      insertBody({ hash: row.bodyHash, codec: RECORD_CODEC, packed: pack(row.resolution) });
    }
    // The record's own JSON is its body's; `body` stays empty (schema.ts, msiResolutions).
    insertResolution({ ...row, body: '' });
  };

  const keep = (/** @type {import('../../port').IdempotencyWrite} */ entry) => {
    const { status, headers, body } = entry.response;
    insertIdempotency({ ...entry, status, headers: JSON.stringify(headers), body });
  };

  const apply = (/** @type {import('./index').SqliteRecordWrite} */ write) => {
    const append = write.append;
    if (append) {
      const last = lastPosition.get() ?? 0;
      if (last !== append.afterPosition) {
        throw new Error(
          `${STALE_POSITION}: the log is at ${last}, the events were placed after ${append.afterPosition}`,
        );
      }
      for (const event of append.events) insertEvent(event);
      for (const entry of append.idempotency) keep(entry);
    }
    if (write.sweep) insertSweep({ ...write.sweep, format: 'head' });
    if (write.fleetSweep) insertFleetSweep({ ...write.fleetSweep });
    for (const resolution of write.resolutions ?? []) storeResolution(resolution);
    if (write.idempotency) keep(write.idempotency);
  };
  const applyAll = db.transaction((/** @type {import('./index').SqliteRecordWrite[]} */ writes) =>
    writes.forEach(apply),
  );
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
          // SQLITE_FULL keeps its name across the thread: the client gets a 507, not a 500.
          return failureText(error);
        }
      });
    }
  };
}

/**
 * The durability settings a connection runs with: synchronous (2 = FULL) and journal_mode.
 * @param {import('better-sqlite3').Database} db
 * @returns {{ synchronous: number, journalMode: string }}
 */
export function connectionSettings(db) {
  return {
    synchronous: /** @type {number} */ (db.pragma('synchronous', { simple: true })),
    journalMode: /** @type {string} */ (db.pragma('journal_mode', { simple: true })),
  };
}
