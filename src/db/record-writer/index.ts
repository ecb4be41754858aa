// Durable writes of resolution records (and the Idempotency-Key response that goes with them),
// committed in groups: writes that arrive while a commit is in flight share the next transaction,
// so one fsync (synchronous=FULL) acknowledges many. A caller's promise settles only once its
// write is committed: nothing is answered before it is durable.
//
// On a database file the commits run on a worker thread with its own connection, so the fsync and
// WAL checkpoints do not stall the HTTP event loop. ':memory:' cannot be shared between
// connections, so there the same batching runs on the main connection. Both commit through the
// same routine (apply-batch.mjs) with the same SQL, generated from schema.ts (statements.ts).

import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import { batchApplier, connectionSettings } from './apply-batch.mjs';
import type { RecordStatements, RecordWrite } from './types.js';

export type { RecordWrite, ResolutionRecordRow, SweepRecordRow } from './types.js';

/** How many stored body hashes the writer remembers (about 100 bytes each). */
const MAX_KNOWN_BODIES = 100_000;

interface Pending {
  write: RecordWrite;
  resolve: () => void;
  reject: (error: Error) => void;
}

/** Commits a batch; returns one error (or null) per write, in order. */
type CommitBatch = (writes: RecordWrite[]) => Promise<(string | null)[]>;

/** What a SQLite connection runs with: synchronous (2 = FULL) and journal_mode. */
export interface ConnectionSettings {
  synchronous: number;
  journalMode: string;
}

/** Told about every committed batch: how many writes it held and how long the commit took. */
export type BatchObserver = (size: number, seconds: number) => void;

export class RecordWriter {
  private queue: Pending[] = [];
  private inFlight = false;
  private inFlightCount = 0;
  private observer: BatchObserver | undefined;

  private constructor(
    private readonly commitBatch: CommitBatch,
    private readonly shutdown: () => Promise<void>,
    private readonly isAlive: () => boolean = () => true,
    /** SQLite: the durability settings of the connection that commits (undefined elsewhere). */
    readonly settings: () => Promise<ConnectionSettings | undefined> = async () => undefined,
  ) {}

  /** Writes waiting for a commit (the one in flight included): what back-pressure looks at. */
  get queueDepth(): number {
    return this.queue.length + this.inFlightCount;
  }

  /** False once the writer thread has died: nothing more can be committed. */
  get alive(): boolean {
    return this.isAlive();
  }

  /** Sets the one observer of committed batches (the metrics). */
  observe(observer: BatchObserver): void {
    this.observer = observer;
  }

  /** Batches on a worker thread with its own connection to the file. */
  static onWorker(path: string, statements: RecordStatements): RecordWriter {
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
    const commitBatch: CommitBatch = (writes) =>
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
    return new RecordWriter(commitBatch, shutdown, () => failure === undefined, settings);
  }

  /**
   * Batches through any committer: `commitBatch` commits the writes in one transaction (or, when
   * that fails, each alone) and answers one error or null per write (PostgreSQL, src/db/pg/).
   */
  static committingWith(
    commitBatch: (writes: RecordWrite[]) => Promise<(string | null)[]>,
    shutdown: () => Promise<void>,
  ): RecordWriter {
    return new RecordWriter(commitBatch, shutdown);
  }

  /** Batches on the main connection (for ':memory:'). */
  static inThread(sqlite: Database.Database, statements: RecordStatements): RecordWriter {
    const applyBatch = batchApplier(sqlite, statements);
    return new RecordWriter(
      async (writes) => applyBatch(writes),
      async () => undefined,
      () => true,
      async () => connectionSettings(sqlite),
    );
  }

  write(write: RecordWrite): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ write, resolve, reject });
      if (!this.inFlight) setImmediate(() => this.flush());
    });
  }

  /** Waits for every queued write, then stops. */
  async close(): Promise<void> {
    while (this.inFlight || this.queue.length > 0) await new Promise((r) => setImmediate(r));
    await this.shutdown();
  }

  /**
   * Hashes of resolution bodies known to be stored. Bodies are never removed, so a write that
   * repeats one need not carry (and copy to the writer thread) its JSON again.
   */
  private readonly storedBodies = new Set<string>();

  private withoutStoredBodies(write: RecordWrite): RecordWrite {
    if (write.resolutions === undefined || !write.resolutions.some((r) => this.storedBodies.has(r.bodyHash)))
      return write;
    const resolutions = write.resolutions.map((r) =>
      this.storedBodies.has(r.bodyHash) ? { ...r, resolution: undefined } : r,
    );
    return { ...write, resolutions };
  }

  private remember(write: RecordWrite): void {
    if (this.storedBodies.size > MAX_KNOWN_BODIES) this.storedBodies.clear();
    for (const r of write.resolutions ?? []) this.storedBodies.add(r.bodyHash);
  }

  private flush(): void {
    if (this.inFlight || this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    this.inFlight = true;
    this.inFlightCount = batch.length;
    const started = performance.now();
    void this.commitBatch(batch.map((p) => this.withoutStoredBodies(p.write))).then((errors) => {
      this.observer?.(batch.length, (performance.now() - started) / 1000);
      batch.forEach((pending, i) => {
        const error = errors[i];
        if (error === null || error === undefined) {
          this.remember(pending.write);
          pending.resolve();
        } else pending.reject(new Error(`record not stored: ${error}`));
      });
      this.inFlight = false;
      this.inFlightCount = 0;
      // Whatever arrived during this commit goes in the next one.
      this.flush();
    });
  }
}
