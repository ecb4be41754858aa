// Group commit: writes that arrive in the same turn of the event loop share one transaction, so
// one fsync (synchronous=FULL) acknowledges many of them. Each caller's promise settles only after
// its write is committed: nothing is acknowledged before it is durable.

interface Pending {
  work: () => void;
  resolve: () => void;
  reject: (error: unknown) => void;
}

export class GroupCommit {
  private pending: Pending[] = [];

  /** runInTransaction runs a function in one IMMEDIATE transaction (commits, or rolls back and throws). */
  constructor(private readonly runInTransaction: (fn: () => void) => void) {}

  commit(work: () => void): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ work, resolve, reject });
      if (this.pending.length === 1) setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    const batch = this.pending;
    this.pending = [];
    try {
      this.runInTransaction(() => {
        for (const item of batch) item.work();
      });
      for (const item of batch) item.resolve();
    } catch {
      // The whole batch rolled back. Retry each write alone, so that one bad write fails only itself.
      for (const item of batch) {
        try {
          this.runInTransaction(item.work);
          item.resolve();
        } catch (error) {
          item.reject(error);
        }
      }
    }
  }
}
