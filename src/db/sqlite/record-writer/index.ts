// The record writer on SQLite (the batching itself is db/shared/record-writer.ts). On a database
// file the commits run on a worker thread with its own connection, so the fsync (synchronous=FULL)
// and WAL checkpoints do not stall the HTTP event loop. ':memory:' cannot be shared between
// connections, so there the same batching runs on the main connection. Both commit through the
// same routine (apply-batch.mjs) with the same SQL, generated from schema.ts (statements.ts). On
// SQLite the events of a batch of commands are committed by this writer too (see EventStore).

import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import type { ConnectionSettings, EventAppend, RecordWrite, RecordWriterPort } from '../../port.js';
import { type CommitBatch, RecordWriter } from '../../shared/record-writer.js';
import { batchApplier, connectionSettings } from './apply-batch.mjs';
import type { RecordStatements } from './statements.js';

/** A write on SQLite: the port's records, or the events of a batch of commands (`append`). */
export interface SqliteRecordWrite extends RecordWrite {
  append?: EventAppend;
}

/** The record writer on SQLite: the port's, and it takes the events of a batch of commands too. */
export interface SqliteRecordWriter extends RecordWriterPort {
  write(write: SqliteRecordWrite): Promise<void>;
}

/** Batches on a worker thread with its own connection to the file. */
export function recordWriterOnWorker(path: string, statements: RecordStatements): SqliteRecordWriter {
  const worker = new Worker(new URL('./worker.mjs', import.meta.url), { workerData: { path, statements } });
  worker.unref();
  const waiting = new Map<number, (errors: (string | null)[]) => void>();
  let nextId = 0;
  let failure: Error | undefined;
  worker.on('message', (message: { type: string; id: number; errors: (string | null)[] }) => {
    if (message.type !== 'committed') return;
    waiting.get(message.id)?.(message.errors);
    waiting.delete(message.id);
  });
  // A writer that dies must fail the requests waiting on it, not leave them hanging.
  const fail = (error: Error) => {
    failure ??= error;
    for (const done of waiting.values()) done([error.message]);
    waiting.clear();
  };
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`record writer exited with code ${code}`)));
  const commitBatch: CommitBatch<SqliteRecordWrite> = (writes) =>
    new Promise((resolve) => {
      if (failure !== undefined) return resolve(writes.map(() => `record writer stopped: ${failure!.message}`));
      const id = nextId++;
      waiting.set(id, (errors) =>
        resolve(errors.length === writes.length ? errors : writes.map(() => errors[0] ?? 'record writer failed')),
      );
      worker.postMessage({ type: 'commit', id, writes });
    });
  const shutdown = () =>
    new Promise<void>((resolve) => {
      if (failure !== undefined) return resolve();
      worker.once('message', () => void worker.terminate().then(() => resolve()));
      worker.postMessage({ type: 'close' });
    });
  const settings = () =>
    new Promise<ConnectionSettings>((resolve) => {
      const answer = (message: { type: string } & ConnectionSettings) => {
        if (message.type !== 'settings') return;
        worker.off('message', answer);
        resolve({ synchronous: message.synchronous, journalMode: message.journalMode });
      };
      worker.on('message', answer);
      worker.postMessage({ type: 'settings' });
    });
  return new RecordWriter<SqliteRecordWrite>(commitBatch, shutdown, () => failure === undefined, settings);
}

/** Batches on the main connection (for ':memory:'). */
export function recordWriterInThread(sqlite: Database.Database, statements: RecordStatements): SqliteRecordWriter {
  const applyBatch = batchApplier(sqlite, statements);
  return new RecordWriter<SqliteRecordWrite>(
    async (writes) => applyBatch(writes),
    async () => undefined,
    () => true,
    async () => connectionSettings(sqlite),
  );
}
