// The record writer commits resolution records in groups, on a worker thread for a file and on
// the main connection for ':memory:', with one routine and the SQL drizzle generates from
// schema.ts. What a caller sees: its promise settles once its own write is committed or refused,
// one bad write never takes the others of its batch down, and a dead worker fails its callers
// instead of leaving them hanging.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { RecordWrite } from '../../src/db/port';
import { recordWriterOnWorker } from '../../src/db/sqlite/record-writer';
import { recordStatements } from '../../src/db/sqlite/record-writer/statements';
import { createSqliteStores, type SqliteStores } from '../../src/db/sqlite/stores';

const createdAt = '2026-11-30T00:00:00.000Z';
const resolution = (id: string, vmId = 'vm1') => ({
  id,
  vmId,
  sweepId: null,
  bodyHash: `hash-${id}`,
  resolution: `{"resolved":"${id}"}`,
  createdAt,
});
const keyed = (id: string, key: string): RecordWrite => ({
  resolutions: [resolution(id)],
  idempotency: {
    key,
    fingerprint: `fp-${id}`,
    response: { status: 201, headers: { location: `/v1/msi-resolutions/${id}` }, body: `{"id":"${id}"}` },
    createdAt,
  },
});

let dir: string;
let stores: SqliteStores | undefined;
afterEach(async () => {
  await stores?.close();
  stores = undefined;
  rmSync(dir, { recursive: true, force: true });
});

async function open(kind: 'file' | 'memory'): Promise<SqliteStores> {
  dir = mkdtempSync(join(tmpdir(), 'doorbell-records-'));
  stores = createSqliteStores(kind === 'file' ? join(dir, 'doorbell.db') : ':memory:');
  return stores;
}

for (const kind of ['file', 'memory'] as const) {
  describe(`record writer (${kind === 'file' ? 'worker thread' : 'main connection'})`, () => {
    it('commits a batch, and when one write of it fails, commits the others alone', async () => {
      const s = await open(kind);
      // Queued in one turn of the event loop, the three share a batch; the second repeats the
      // first's id, so the batch transaction fails and each write is retried alone.
      const outcomes = await Promise.allSettled([
        s.records.write({ resolutions: [resolution('a')] }),
        s.records.write({ resolutions: [resolution('a')] }),
        s.records.write({ resolutions: [resolution('c')] }),
      ]);
      expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect(String((outcomes[1] as PromiseRejectedResult).reason)).toMatch(
        /record not stored: UNIQUE constraint failed: msi_resolutions.id/,
      );
      expect(await s.resolutions.findResolution('a')).toBe('{"id":"a","vm":"vm1","resolved":"a"}');
      expect(await s.resolutions.findResolution('c')).toBe('{"id":"c","vm":"vm1","resolved":"c"}');
    });

    it('lets exactly one of two writes under the same Idempotency-Key win, and keeps none of the loser', async () => {
      const s = await open(kind);
      const outcomes = await Promise.allSettled([
        s.records.write(keyed('first', 'k1')),
        s.records.write(keyed('second', 'k1')),
      ]);
      expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected']);
      expect(await s.idempotency.find('k1')).toMatchObject({ fingerprint: 'fp-first', status: 201 });
      // The loser's resolution was in the same transaction as its key: it is not stored either.
      expect(await s.resolutions.findResolution('first')).toBeDefined();
      expect(await s.resolutions.findResolution('second')).toBeUndefined();
    });
  });
}

describe('record writer worker', () => {
  it('fails the writes waiting on it when the worker dies, instead of leaving them hanging', async () => {
    const s = await open('memory');
    // A file in a folder that does not exist cannot be opened: the worker throws and exits.
    const writer = recordWriterOnWorker(join(dir, 'missing', 'doorbell.db'), recordStatements(s.database.db));
    await expect(writer.write({ resolutions: [resolution('x')] })).rejects.toThrow(
      /record not stored: Cannot open database/,
    );
    // Later writes are refused at once, not queued for a writer that is gone.
    await expect(writer.write({ resolutions: [resolution('y')] })).rejects.toThrow(/record writer stopped/);
    await writer.close();
  });
});

describe('durability settings', () => {
  // A SIGKILL keeps the page cache, so the crash test cannot tell whether commits are fsynced:
  // read what each connection runs with. PRAGMA synchronous answers 0 (OFF), 1 (NORMAL), 2 (FULL)
  // or 3 (EXTRA) (SQLite's documentation of the pragma).
  it('runs the main connection and the record writer thread in WAL mode with synchronous=FULL', async () => {
    const s = await open('file');
    expect(s.database.sqlite.pragma('synchronous', { simple: true })).toBe(2);
    expect(s.database.sqlite.pragma('journal_mode', { simple: true })).toBe('wal');
    // The record writer's own connection, on its thread: it commits every event and record.
    expect(await s.records.settings()).toEqual({ synchronous: 2, journalMode: 'wal' });
  });
});
