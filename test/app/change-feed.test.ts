// The change feed fans each new event out to every subscriber from one read, and a subscriber
// that starts behind catches up with reads of its own, with no gap and no duplicate, whatever
// commits while it does.

import { describe, expect, it } from 'vitest';
import { ChangeFeed, type FeedEvent, type FeedSource } from '../../src/app/change-feed';
import type { EventFilter, StoredEvent } from '../../src/db/port';

/** A log in memory whose reads take a turn of the event loop, as an async store's would. */
function fakeLog() {
  const log: StoredEvent[] = [];
  const listeners = new Set<(last: number) => void>();
  const reads: EventFilter[] = [];
  const source: FeedSource = {
    lastPosition: async () => log.length,
    readAfter: async (after, filter, { limit, upTo }) => {
      reads.push(filter);
      await new Promise((r) => setImmediate(r));
      return log
        .filter((e) => e.position > after && (upTo === undefined || e.position <= upTo))
        .filter((e) => filter.vm === undefined || e.streamId === filter.vm)
        .filter((e) => filter.types === undefined || filter.types.includes(e.type))
        .slice(0, limit);
    },
    onAppended: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  const append = (vm: string, type = 'BusAdded') => {
    log.push({ position: log.length + 1, streamId: vm, type } as StoredEvent);
    for (const l of listeners) l(log.length);
  };
  return { source, append, reads };
}

function collector() {
  const got: FeedEvent[] = [];
  return {
    got,
    sink: {
      deliver: (events: readonly FeedEvent[]) => {
        got.push(...events);
        return true;
      },
      ready: async () => {},
      end: () => {},
    },
  };
}

const settle = () => new Promise((r) => setTimeout(r, 30));
const options = { pollIntervalMs: 60_000, batchSize: 3 };

describe('ChangeFeed', () => {
  it('reads each new event once for all live subscribers', async () => {
    const { source, append, reads } = fakeLog();
    const feed = new ChangeFeed(source, (e) => String(e.position), options);
    const subscribers = Array.from({ length: 50 }, () => collector());
    for (const s of subscribers) feed.subscribe({}, 0, s.sink);
    await settle();
    const readsBefore = reads.length;
    for (let i = 0; i < 10; i++) append(`vm${i % 2}`);
    await settle();
    for (const s of subscribers) expect(s.got.map((e) => e.position)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    // Unfiltered reads by the fan-out, a handful, not one per subscriber and event.
    expect(reads.length - readsBefore).toBeLessThanOrEqual(10);
    feed.close();
  });

  it('catches a late subscriber up while events keep coming: no gap, no duplicate, filters applied', async () => {
    const { source, append } = fakeLog();
    const feed = new ChangeFeed(source, (e) => String(e.position), options);
    const early = collector();
    feed.subscribe({}, 0, early.sink);
    for (let i = 0; i < 20; i++) append(`vm${i % 2}`, i % 3 === 0 ? 'DeviceAttached' : 'BusAdded');
    const late = collector();
    const filtered = collector();
    feed.subscribe({}, 5, late.sink);
    feed.subscribe({ vm: 'vm0', types: ['DeviceAttached'] }, 0, filtered.sink);
    for (let i = 20; i < 40; i++) {
      append(`vm${i % 2}`, i % 3 === 0 ? 'DeviceAttached' : 'BusAdded');
      if (i % 5 === 0) await new Promise((r) => setImmediate(r));
    }
    await settle();
    const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
    expect(early.got.map((e) => e.position)).toEqual(range(1, 40));
    expect(late.got.map((e) => e.position)).toEqual(range(6, 40));
    // vm0 holds the even indexes (odd positions); DeviceAttached every third index.
    const expected = range(0, 39)
      .filter((i) => i % 2 === 0 && i % 3 === 0)
      .map((i) => i + 1);
    expect(filtered.got.map((e) => e.position)).toEqual(expected);
    feed.close();
  });

  it('reads nothing while nobody listens, and a later subscriber still gets what it asks for', async () => {
    const { source, append, reads } = fakeLog();
    const feed = new ChangeFeed(source, (e) => String(e.position), options);
    const gone = collector();
    feed.subscribe({}, 0, gone.sink).close();
    await settle();
    const readsBefore = reads.length;
    for (let i = 0; i < 10; i++) append('vm0');
    await settle();
    expect(reads.length).toBe(readsBefore);
    const late = collector();
    feed.subscribe({}, 7, late.sink);
    append('vm0');
    await settle();
    expect(late.got.map((e) => e.position)).toEqual([8, 9, 10, 11]);
    feed.close();
  });

  it('ends every subscription on close', async () => {
    const { source } = fakeLog();
    const feed = new ChangeFeed(source, (e) => String(e.position), options);
    let ended = 0;
    for (let i = 0; i < 3; i++)
      feed.subscribe({}, 0, { deliver: () => true, ready: async () => {}, end: () => (ended += 1) });
    await settle();
    feed.close();
    expect(ended).toBe(3);
    expect(feed.subscribers).toBe(0);
  });
});
