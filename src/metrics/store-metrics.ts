// What the persistence layer reports at GET /metrics: events appended, the record writer's
// batches (size, commit latency) and queue depth, and the size of the database and its WAL.

import { statSync } from 'node:fs';
import type { EventStore } from '../db/event-store.js';
import type { OpenDatabase } from '../db/database.js';
import type { RecordWriter } from '../db/record-writer/index.js';
import type { Metrics } from './registry.js';

const fileSize = (path: string) => {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
};

export function observeStores(
  metrics: Metrics,
  stores: { database: OpenDatabase; events: EventStore; records: RecordWriter },
): void {
  const { database, events, records } = stores;
  // Counted from the log itself at each scrape: every append counts, whichever process made it.
  let seen = events.lastPosition();
  metrics.counter({
    name: 'doorbell_events_appended_total',
    help: 'events appended to the log since this process started',
    collect() {
      if (!database.sqlite.open) return;
      const last = events.lastPosition();
      if (last > seen) this.inc(last - seen);
      seen = last;
    },
  });
  const batchSize = metrics.histogram({
    name: 'doorbell_record_writer_batch_size',
    help: 'records committed per group commit',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
  });
  const batchSeconds = metrics.histogram({
    name: 'doorbell_record_writer_commit_seconds',
    help: 'time to commit one group of records (fsync included)',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
  });
  records.observe((size, seconds) => {
    batchSize.observe(size);
    batchSeconds.observe(seconds);
  });
  metrics.gauge({
    name: 'doorbell_record_writer_queue_depth',
    help: 'record writes waiting to be committed',
    collect() {
      this.set(records.queueDepth);
    },
  });
  metrics.gauge({
    name: 'doorbell_database_size_bytes',
    help: 'size of the database file and of its write-ahead log',
    labelNames: ['file'],
    collect() {
      if (database.path === ':memory:') {
        if (!database.sqlite.open) return;
        const pages = database.sqlite.pragma('page_count', { simple: true }) as number;
        const pageSize = database.sqlite.pragma('page_size', { simple: true }) as number;
        this.set({ file: 'database' }, pages * pageSize);
        this.set({ file: 'wal' }, 0);
        return;
      }
      this.set({ file: 'database' }, fileSize(database.path));
      this.set({ file: 'wal' }, fileSize(`${database.path}-wal`));
    },
  });
}
