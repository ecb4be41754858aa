// Durable writes of resolution records (and the Idempotency-Key response that goes with them),
// committed in groups, written once for both engines: writes that arrive while a commit is in
// flight share the next transaction, so one fsync acknowledges many. A caller's promise settles
// only once its write is committed: nothing is answered before it is durable. How a batch is
// committed is the engine's: SQLite on a worker thread (sqlite/record-writer/), PostgreSQL in a
// pool transaction (pg/records.ts).

import type { BatchObserver, ConnectionSettings, RecordWrite, RecordWriterPort } from '../port.js';

/** How many stored body hashes the writer remembers (about 100 bytes each). */
const MAX_KNOWN_BODIES = 100_000;

interface Pending<W> {
  write: W;
  resolve: () => void;
  reject: (error: Error) => void;
}

/** Commits a batch in one transaction (or, when that fails, each write alone); one error (or null) per write, in order. */
export type CommitBatch<W> = (writes: W[]) => Promise<(string | null)[]>;

/** `W`: what one write carries; an engine may commit more than the port's RecordWrite (SQLite: events). */
export class RecordWriter<W extends RecordWrite = RecordWrite> implements RecordWriterPort {
  private queue: Pending<W>[] = [];
  private inFlight = false;
  private inFlightCount = 0;
  private observer: BatchObserver | undefined;

  constructor(
    private readonly commitBatch: CommitBatch<W>,
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

  write(write: W): Promise<void> {
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

  private withoutStoredBodies(write: W): W {
    if (write.resolutions === undefined || !write.resolutions.some((r) => this.storedBodies.has(r.bodyHash)))
      return write;
    const resolutions = write.resolutions.map((r) =>
      this.storedBodies.has(r.bodyHash) ? { ...r, resolution: undefined } : r,
    );
    return { ...write, resolutions };
  }

  private remember(write: W): void {
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
