// The change feed behind GET /v1/events/stream: one reader per node follows the log and fans
// every new event out to all subscribers, each event read and serialized once however many
// listen. The table is the truth: a wake-up (the event store's onAppended hook after a commit of
// this process, or a poll that sees other processes' commits) only says "read again"; what is
// delivered is always read from the store after the subscriber's cursor, so nothing is missed and
// nothing is delivered twice.
//
// A subscriber that starts behind the fan-out (resuming after an old position) first catches up
// with reads of its own, filtered and at its own pace, then joins the fan-out.

import type { EventFilter, StoredEvent } from '../db/port.js';

/** What the feed needs of the event store: reads, and the hook that says the log moved on. */
export interface FeedSource {
  lastPosition(): number | Promise<number>;
  readAfter(
    after: number,
    filter: EventFilter,
    page: { limit: number; upTo?: number },
  ): readonly StoredEvent[] | Promise<readonly StoredEvent[]>;
  onAppended(listener: (lastPosition: number) => void): () => void;
}

/** One event as every subscriber receives it: serialized once, as GET /v1/events shows it but for its `url`. */
export interface FeedEvent {
  position: number;
  type: string;
  vm: string;
  json: string;
}

export interface FeedSink {
  /**
   * Takes events (already filtered, in order). Returns whether the sink can take more now: false
   * makes a catching-up subscriber wait for `ready()` before it reads on.
   */
  deliver(events: readonly FeedEvent[]): boolean;
  /** Resolves when the sink can take more (its socket drained), or it is gone. */
  ready(): Promise<void>;
  /** The subscription ended from the feed's side (the feed closed, or a read failed). */
  end(error?: unknown): void;
}

export interface ChangeFeedOptions {
  /** How often the log's last position is polled, for commits of other processes (ms). */
  pollIntervalMs: number;
  /** Events read per query, by the fan-out and by a subscriber catching up. */
  batchSize: number;
}

export const DEFAULT_CHANGE_FEED: ChangeFeedOptions = { pollIntervalMs: 500, batchSize: 500 };

const matches = (filter: EventFilter, event: FeedEvent) =>
  (filter.vm === undefined || filter.vm === event.vm) &&
  (filter.types === undefined || filter.types.length === 0 || filter.types.includes(event.type));

class Subscriber {
  /** Every event at or before this position has been delivered or passed over by the filter. */
  cursor: number;
  closed = false;

  constructor(
    readonly filter: EventFilter,
    after: number,
    readonly sink: FeedSink,
  ) {
    this.cursor = after;
  }
}

export interface Subscription {
  /** Stops delivery (the client went away). */
  close(): void;
}

export class ChangeFeed {
  private readonly live = new Set<Subscriber>();
  private readonly all = new Set<Subscriber>();
  /** The last position the fan-out has read up to; undefined until the first subscriber. */
  private head: number | undefined;
  private starting: Promise<number> | undefined;
  private reading = false;
  private wakeAgain = false;
  private unsubscribe: (() => void) | undefined;
  private poll: NodeJS.Timeout | undefined;
  private closed = false;

  /** `serialize` writes an event as clients see it (the HTTP layer's representation). */
  constructor(
    private readonly source: FeedSource,
    private readonly serialize: (event: StoredEvent) => string,
    private readonly options: ChangeFeedOptions = DEFAULT_CHANGE_FEED,
  ) {}

  private feedEventOf(event: StoredEvent): FeedEvent {
    return { position: event.position, type: event.type, vm: event.streamId, json: this.serialize(event) };
  }

  /** Delivers the events after `after` that pass `filter` to `sink`, then every new one, until closed. */
  subscribe(filter: EventFilter, after: number, sink: FeedSink): Subscription {
    const subscriber = new Subscriber(filter, after, sink);
    this.all.add(subscriber);
    void this.catchUp(subscriber).catch((error: unknown) => this.drop(subscriber, error));
    return {
      close: () => {
        subscriber.closed = true;
        this.live.delete(subscriber);
        this.all.delete(subscriber);
      },
    };
  }

  /** Ends every subscription and stops reading. */
  close(): void {
    this.closed = true;
    this.unsubscribe?.();
    if (this.poll !== undefined) clearInterval(this.poll);
    for (const subscriber of [...this.all]) this.drop(subscriber);
  }

  get subscribers(): number {
    return this.all.size;
  }

  /** Starts following the log on the first subscription; the fan-out starts at the log's end. */
  private start(): Promise<number> {
    this.starting ??= (async () => {
      // Listening first: a commit while the log's end is read is not missed.
      this.unsubscribe = this.source.onAppended((lastPosition) => this.wake(lastPosition));
      this.poll = setInterval(() => void this.checkForOthers(), this.options.pollIntervalMs);
      this.poll.unref();
      this.head = await this.source.lastPosition();
      this.wake();
      return this.head;
    })();
    return this.starting;
  }

  private async checkForOthers(): Promise<void> {
    if (this.head === undefined) return;
    const lastPosition = await this.source.lastPosition();
    if (lastPosition > this.head) this.wake(lastPosition);
  }

  /** Reads from the subscriber's cursor up to the fan-out's head, then hands it to the fan-out. */
  private async catchUp(subscriber: Subscriber): Promise<void> {
    await this.start();
    const { batchSize } = this.options;
    while (!subscriber.closed && !this.closed) {
      const target = this.head!;
      if (subscriber.cursor >= target) {
        // Nothing between here and the check: the fan-out cannot move on in between.
        this.live.add(subscriber);
        return;
      }
      const batch = await this.source.readAfter(subscriber.cursor, subscriber.filter, {
        limit: batchSize,
        upTo: target,
      });
      if (subscriber.closed) return;
      const events = batch.map((e) => this.feedEventOf(e));
      subscriber.cursor = events.length < batchSize ? target : events[events.length - 1]!.position;
      if (events.length > 0 && !subscriber.sink.deliver(events)) await subscriber.sink.ready();
    }
  }

  /** The log moved on (to `lastPosition`, when the caller knows it): fan out what is new. */
  private wake(lastPosition?: number): void {
    if (this.closed || this.head === undefined) return;
    // Nobody listens: nothing to read, the fan-out just moves on (a later subscriber catches up).
    if (this.all.size === 0 && !this.reading && lastPosition !== undefined) {
      this.head = Math.max(this.head, lastPosition);
      return;
    }
    if (this.reading) {
      this.wakeAgain = true;
      return;
    }
    this.reading = true;
    void this.fanOut()
      .catch((error: unknown) => {
        for (const subscriber of [...this.live]) this.drop(subscriber, error);
      })
      .finally(() => {
        this.reading = false;
        if (this.wakeAgain) {
          this.wakeAgain = false;
          this.wake();
        }
      });
  }

  /** Reads every new event once, unfiltered, and gives each live subscriber what passes its filter. */
  private async fanOut(): Promise<void> {
    const { batchSize } = this.options;
    for (;;) {
      const batch = await this.source.readAfter(this.head!, {}, { limit: batchSize });
      if (batch.length === 0 || this.closed) return;
      const events = batch.map((e) => this.feedEventOf(e));
      const last = events[events.length - 1]!.position;
      for (const subscriber of this.live) {
        const wanted = events.filter((e) => e.position > subscriber.cursor && matches(subscriber.filter, e));
        // A subscriber that asked to start after a later position stays there.
        subscriber.cursor = Math.max(subscriber.cursor, last);
        if (wanted.length > 0) subscriber.sink.deliver(wanted);
      }
      this.head = last;
      if (batch.length < batchSize) return;
      // Let the sockets take what was written before the next batch is judged against their bound.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  private drop(subscriber: Subscriber, error?: unknown): void {
    if (subscriber.closed) return;
    subscriber.closed = true;
    this.live.delete(subscriber);
    this.all.delete(subscriber);
    subscriber.sink.end(error);
  }
}
