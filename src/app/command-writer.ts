// Group commit for commands. Commands that arrive while a commit is in flight wait, then are
// planned together against what is stored (each with its own If-Match check and its own outcome:
// a rejected command leaves the others untouched) and committed in one transaction with one
// flush: on SQLite on the record writer's thread, so the event loop never waits for the disk; on
// PostgreSQL by one call that takes the log head, checks that each VM the batch appends to is
// still where the plan found it (else the batch is planned again) and places the events after
// the head. On PostgreSQL a second batch, on other VMs, is planned and sent while the first waits
// for the head and its commit. An answer is sent only once its events are durable, and the new
// states become visible to reads only then.

import { type EventAppend, type EventRow, type IdempotentEntry, STALE_POSITION, type StoredEvent } from '../db/port.js';
import { rebaseAnswerBody } from '../db/shared/provisional-positions.js';
import { fold } from '../domain/topology/evolve.js';
import { failureText } from '../db/shared/storage-full.mjs';
import type { Stores } from '../db/port.js';
import type { VmState } from '../domain/topology/types.js';
import { answerOf, type CommandRequest } from './command-answer.js';
import { type Answer, priorAnswer, replayOf } from './idempotency.js';
import type { VmRepository } from './vm-repository.js';

/** At most this many commands share a commit; the rest wait for the next one. */
const MAX_BATCH = 256;
/** Plans refused because another process appended meanwhile are planned again, this often. */
const MAX_ATTEMPTS = 8;
/**
 * Batches in flight at once where the engine places events at commit (PostgreSQL): while one
 * waits for the log head and its commit, the next is planned and sent. Batches in flight never
 * share a VM. (SQLite plans on the log's last position: one batch at a time.)
 */
const MAX_IN_FLIGHT = 2;

interface Queued {
  request: CommandRequest;
  resolve: (answer: Answer) => void;
  reject: (error: unknown) => void;
  attempts: number;
  /** Arrival order, kept when a batch is planned again. */
  seq: number;
  /** Commit this command alone: its batch failed for a reason other than a stale position. */
  alone: boolean;
}

/** `planned`: an answer of this batch, whose positions are where the batch was planned. */
type Outcome = { item: Queued; answer: Answer; planned: boolean } | { item: Queued; error: unknown };

interface Plan {
  outcomes: Outcome[];
  states: Map<string, VmState>;
  /** Each VM of the batch as it was before the batch, and the events the batch appends to it. */
  before: Map<string, VmState | undefined>;
  appended: Map<string, StoredEvent[]>;
  write: EventAppend | undefined;
  /** The position the batch was planned after, and the log's last position once it is committed there. */
  afterPosition: number;
  lastPosition: number;
}

export class CommandWriter {
  private queue: Queued[] = [];
  /** Batches being planned or committed, and the VMs they hold: a VM's next command waits for them. */
  private running = 0;
  private readonly busyVms = new Set<string>();
  private readonly maxInFlight: number;
  /** A batch is about to start (setImmediate), so that commands arriving meanwhile join it. */
  private starting = false;
  /**
   * The log's last position as of this writer's last commit, and the VMs whose state in memory
   * was current then. While the log is still at that position when the next batch is planned, no
   * other process appended, so those VMs need not be read from the database again.
   */
  private knownPosition = -1;
  private readonly verified = new Set<string>();
  private nextSeq = 0;

  constructor(
    private readonly stores: Stores,
    private readonly vms: VmRepository,
  ) {
    this.maxInFlight = stores.events.placesAtCommit ? MAX_IN_FLIGHT : 1;
  }

  submit(request: CommandRequest): Promise<Answer> {
    return new Promise((resolve, reject) => {
      this.queue.push({ request, resolve, reject, attempts: 0, alone: false, seq: this.nextSeq++ });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.starting || this.running >= this.maxInFlight || this.queue.length === 0) return;
    this.starting = true;
    setImmediate(() => {
      this.starting = false;
      const batch = this.nextBatch();
      if (batch.length === 0) return;
      this.running += 1;
      for (const item of batch) this.busyVms.add(item.request.vmId);
      void this.commit(batch).finally(() => {
        this.running -= 1;
        for (const item of batch) this.busyVms.delete(item.request.vmId);
        this.schedule();
      });
      this.schedule();
    });
  }

  /**
   * The next batch, in arrival order: up to MAX_BATCH commands on VMs no batch in flight holds
   * (a command on such a VM waits, and so does every later one on it). A command that must be
   * committed alone goes alone.
   */
  private nextBatch(): Queued[] {
    const batch: Queued[] = [];
    const rest: Queued[] = [];
    const held = new Set(this.busyVms);
    for (const item of this.queue) {
      const vmId = item.request.vmId;
      const fits =
        !held.has(vmId) && batch.length < MAX_BATCH && (batch.length === 0 || (!item.alone && !batch[0]!.alone));
      if (fits) batch.push(item);
      else {
        rest.push(item);
        // Commands on one VM keep their order: once one waits, the later ones wait too.
        held.add(vmId);
      }
    }
    this.queue = rest;
    return batch;
  }

  /** Plans a batch on what is committed (and what this process committed before), appends it, answers. */
  private async commit(batch: Queued[]): Promise<void> {
    let plan: Plan | undefined;
    let planFailure: { error: unknown } | undefined;
    try {
      const vmIds = [...new Set(batch.map((item) => item.request.vmId))];
      const appended = await this.stores.events.append(async (afterPosition, versions) => {
        try {
          plan = await this.plan(batch, afterPosition, versions);
          return plan.write;
        } catch (error) {
          planFailure = { error };
          throw error;
        }
      }, vmIds);
      placeAt(plan!, appended.afterPosition);
      this.knownPosition = plan!.lastPosition;
      for (const state of plan!.states.values()) {
        this.vms.publish(state);
        this.verified.add(state.id);
      }
      for (const outcome of plan!.outcomes) {
        if ('answer' in outcome) outcome.item.resolve(outcome.answer);
        else outcome.item.reject(outcome.error);
      }
    } catch (error) {
      if (planFailure !== undefined || plan === undefined) for (const item of batch) item.reject(error);
      // The failure's text keeps a full disk's mark (a 507 for the client, not a 500).
      else this.retry(batch, failureText(error));
    }
  }

  /**
   * A stale position means another process appended: plan the whole batch again on what is now
   * stored. Any other failure: commit each command alone, so that only the bad one fails.
   */
  private retry(batch: Queued[], failure: string): void {
    const stale = failure.includes(STALE_POSITION);
    // Another process appended: what is in memory may be behind.
    if (stale) this.verified.clear();
    const again: Queued[] = [];
    for (const item of batch) {
      item.attempts += 1;
      if ((stale && item.attempts < MAX_ATTEMPTS) || (!stale && batch.length > 1))
        again.push({ ...item, alone: !stale });
      else item.reject(new Error(`command not stored: ${failure}`));
    }
    this.queue = [...again, ...this.queue].sort((a, b) => a.seq - b.seq);
  }

  /** Plans every command of the batch in arrival order, each on the state the ones before it left. */
  private async plan(batch: Queued[], afterPosition: number, versions?: ReadonlyMap<string, number>): Promise<Plan> {
    const { stores } = this;
    const vmIds = [...new Set(batch.map((item) => item.request.vmId))];
    let known: ReadonlySet<string> = this.verified;
    if (versions !== undefined) {
      // The engine read the versions of the batch's VMs just now (PostgreSQL): only VMs another
      // process changed are read further; the others are as this process last saw them.
      await this.vms.loadMany(vmIds, versions);
      known = new Set(vmIds);
    } else if (afterPosition !== this.knownPosition) {
      // Another process appended since this writer's last commit: what is in memory may be behind.
      this.verified.clear();
      await this.vms.loadMany(vmIds);
      for (const vmId of vmIds) this.verified.add(vmId);
    }
    let position = afterPosition;
    const states = new Map<string, VmState>();
    const before = new Map<string, VmState | undefined>();
    const appended = new Map<string, StoredEvent[]>();
    const events: EventRow[] = [];
    const idempotency: EventAppend['idempotency'] = [];
    const keys = new Map<string, IdempotentEntry>();
    const outcomes: Outcome[] = [];

    for (const item of batch) {
      const { request } = item;
      try {
        // A retry under a key this batch already answers gets that answer (or 422).
        const claim = request.idempotency;
        const prior =
          claim !== undefined && keys.has(claim.key)
            ? replayOf(claim, keys.get(claim.key))
            : await priorAnswer(stores, claim);
        if (prior !== undefined) {
          outcomes.push({ item, answer: prior, planned: claim !== undefined && keys.has(claim.key) });
          continue;
        }
        const vmId = request.vmId;
        if (!states.has(vmId))
          before.set(vmId, known.has(vmId) ? await this.vms.loadKnown(vmId) : await this.vms.load(vmId));
        const state = states.get(vmId) ?? before.get(vmId);
        const options = { precondition: request.precondition, metadata: request.metadata };
        const executed = this.vms.plan(request.vmId, state, request.command, options, position);
        position += executed.rows.length;
        states.set(request.vmId, executed.state);
        events.push(...executed.rows);
        appended.set(vmId, [...(appended.get(vmId) ?? []), ...executed.events]);
        const answer = answerOf(request, executed);
        if (claim !== undefined) {
          idempotency.push({ ...claim, response: answer, createdAt: request.metadata.occurredAt });
          keys.set(claim.key, { fingerprint: claim.fingerprint, ...answer });
        }
        outcomes.push({ item, answer: { ...answer, replayed: false }, planned: true });
      } catch (error) {
        outcomes.push({ item, error });
      }
    }
    const write = events.length > 0 || idempotency.length > 0 ? { afterPosition, events, idempotency } : undefined;
    return { outcomes, states, before, appended, write, afterPosition, lastPosition: position };
  }
}

/**
 * The plan as committed after `afterPosition`: when that is not where it was planned (PostgreSQL
 * plans on provisional positions), its events, states and answers move by the difference. The
 * states are folded again from the events at their real positions, so every fact names the event
 * that set it as the log holds it.
 */
function placeAt(plan: Plan, afterPosition: number): void {
  const shift = afterPosition - plan.afterPosition;
  if (shift === 0) return;
  plan.afterPosition = afterPosition;
  plan.lastPosition += shift;
  for (const [vmId, events] of plan.appended) {
    const state = fold(
      events.map((e) => ({ ...e, position: e.position + shift })),
      plan.before.get(vmId),
    );
    if (state !== undefined) plan.states.set(vmId, state);
  }
  for (const outcome of plan.outcomes)
    if ('answer' in outcome && outcome.planned)
      outcome.answer = { ...outcome.answer, body: rebaseAnswerBody(outcome.answer.body, shift) };
}
