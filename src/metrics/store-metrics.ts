// What the persistence layer reports at GET /metrics: events appended, the record writer's
// batches (size, commit latency) and queue depth, and the size of the database (and its WAL).

import type { Stores } from '../db/port.js';
import type { Metrics } from './registry.js';

export function observeStores(metrics: Metrics, stores: Pick<Stores, 'events' | 'records' | 'sizes'>): void {
  const { events, records } = stores;
  // Counted from the log itself at each scrape: every append counts, whichever process made it.
  let seen: number | undefined;
  metrics.counter({
    name: 'doorbell_events_appended_total',
    help: 'events appended to the log since this process started',
    async collect() {
      const last = await events.lastPosition().catch(() => undefined);
      if (last === undefined) return;
      if (seen !== undefined && last > seen) this.inc(last - seen);
      seen = last;
    },
  });
  // The first scrape sets the baseline (appends before this process started do not count).
  void events
    .lastPosition()
    .then((last) => {
      seen ??= last;
    })
    .catch(() => undefined);
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
  // PostgreSQL: how long each append holds log_head, the row every appender of every node queues
  // on; how long the node plans before taking it; how often a plan is refused at commit.
  if (events.observeAppends !== undefined) {
    const holdSeconds = metrics.histogram({
      name: 'doorbell_pg_log_head_hold_seconds',
      help: 'time an append held the log head row (PostgreSQL), from the lock granted to the commit',
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    });
    const planSeconds = metrics.histogram({
      name: 'doorbell_pg_append_plan_seconds',
      help: 'time the node planned a batch of appends, before taking the log head (PostgreSQL)',
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    });
    const refused = metrics.counter({
      name: 'doorbell_pg_append_replans_total',
      help: 'batches planned again because a stream they append to moved before their commit (PostgreSQL)',
    });
    events.observeAppends({
      planned: (seconds) => planSeconds.observe(seconds),
      held: (seconds) => holdSeconds.observe(seconds),
      refused: () => refused.inc(),
    });
  }
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
    async collect() {
      const size = await stores.sizes().catch(() => undefined);
      if (size === undefined) return;
      this.set({ file: 'database' }, size.database);
      this.set({ file: 'wal' }, size.wal);
    },
  });
}
