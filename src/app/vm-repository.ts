// Loads a VM's projected state and runs commands against it: load, decide, append with the
// version that was read. The current state of each VM is kept in memory as it appends; the
// database stays the source of truth: every load checks the stream's version and catches up
// (another process may have appended); the cache only ever moves forward.

import { decide } from '../domain/topology/decide.js';
import { decideAll } from '../domain/topology/decide-all.js';
import { fold } from '../domain/topology/evolve.js';
import type { Command, VmState } from '../domain/topology/types.js';
import { preconditionFailed } from '../errors/problem.js';
import type { EventMetadata, EventRow, EventStorePort, StoredEvent } from '../db/port.js';
import { toStoredEvent } from '../db/shared/event-rows.js';

/** What If-Match asks for: one of these versions, or (for "*") any version of an existing VM. */
export type Precondition = { versions: readonly number[] } | { exists: true };

export interface ExecuteOptions {
  precondition?: Precondition;
  metadata: EventMetadata;
}

function satisfies(precondition: Precondition, version: number): boolean {
  return 'exists' in precondition ? version > 0 : precondition.versions.includes(version);
}

export interface Executed {
  state: VmState;
  events: StoredEvent[];
}

export interface Planned extends Executed {
  rows: EventRow[];
}

export class VmRepository {
  private readonly current = new Map<string, VmState>();

  constructor(private readonly store: EventStorePort) {}

  /** The VM as of its latest event, or undefined when it was never defined. */
  async load(vmId: string): Promise<VmState | undefined> {
    return this.loadAt(vmId, await this.store.version(vmId));
  }

  /** Several VMs as of their latest events, their versions read at once (the command writer's batch). */
  async loadMany(vmIds: readonly string[], known?: ReadonlyMap<string, number>): Promise<void> {
    const versions = known ?? (await this.store.versions(vmIds));
    for (const vmId of vmIds) await this.loadAt(vmId, versions.get(vmId) ?? 0);
  }

  /** The VM at `version`, its latest as just read: from the cache, caught up, or rebuilt. */
  private async loadAt(vmId: string, version: number): Promise<VmState | undefined> {
    // No VM at this read. A VM's stream never goes away, so a cached state is from a later read.
    if (version === 0) return undefined;
    const cached = this.current.get(vmId);
    if (cached !== undefined && cached.version === version) return cached;
    // A read older than the cache: a concurrent load read a later version while this one waited
    // for its answer (reads are asynchronous on PostgreSQL). Answer at the version read, and
    // never move the cache back: the command writer plans on it.
    if (cached !== undefined && cached.version > version) return this.rebuild(vmId, version);
    const state =
      cached === undefined
        ? await this.rebuild(vmId, version)
        : fold(await this.store.readRecorded(vmId, { afterVersion: cached.version, toVersion: version }), cached);
    if (state !== undefined) this.publish(state);
    return state;
  }

  /** Folds the VM's first `version` events from the store, without the cache. */
  async rebuild(vmId: string, version?: number): Promise<VmState | undefined> {
    return fold(await this.store.readRecorded(vmId, { toVersion: version }));
  }

  /**
   * The VM after its first `version` events. undefined when the VM does not exist or the version
   * is 0 or past the latest; the caller tells which.
   */
  async loadAsOf(vmId: string, version: number): Promise<VmState | undefined> {
    const latest = await this.load(vmId);
    if (latest === undefined || version < 1 || version > latest.version) return undefined;
    return version === latest.version ? latest : this.rebuild(vmId, version);
  }

  /**
   * Plans a command (or a list of commands decided in order, appended together) on the VM's `state` (its latest stored version, or the state an earlier
   * command of the same commit left): checks If-Match against that version (the one check),
   * decides, and places the events after `afterPosition`. Nothing is written: the caller commits
   * the rows, then publishes the state.
   */
  plan(
    vmId: string,
    state: VmState | undefined,
    command: Command | readonly Command[],
    options: ExecuteOptions,
    afterPosition: number,
  ): Planned {
    const version = state?.version ?? 0;
    if (options.precondition !== undefined && !satisfies(options.precondition, version))
      throw preconditionFailed(vmId, version);
    const decided = Array.isArray(command) ? decideAll(command, state) : decide(command as Command, state);
    const rows = this.store.rowsFor(vmId, version, afterPosition, decided, options.metadata);
    const events = rows.map(toStoredEvent);
    const next = fold(events, state);
    if (next === undefined) throw new Error(`a command on ${vmId} left no state`);
    return { state: next, events, rows };
  }

  /**
   * The VM as this process last saw it, without asking the database. Only for a caller that knows
   * no other process appended since (the command writer compares the log's last position).
   */
  async loadKnown(vmId: string): Promise<VmState | undefined> {
    return this.current.get(vmId) ?? this.load(vmId);
  }

  /** A committed state becomes the VM's current one. */
  publish(state: VmState): void {
    const cached = this.current.get(state.id);
    if (cached === undefined || cached.version < state.version) this.current.set(state.id, state);
  }

  /**
   * Runs one command at once, in a transaction of its own: load, plan, append. (The service
   * batches commands through command-writer.ts; this is for seeding tests and benchmarks.)
   */
  async execute(vmId: string, command: Command | readonly Command[], options: ExecuteOptions): Promise<Executed> {
    return this.executeAll(vmId, [command].flat() as Command[], options, Array.isArray(command));
  }

  /**
   * Runs commands one after the other on one VM, each decided alone (or, with `together`, decided
   * as one import is), all appended in one transaction (or none).
   */
  async executeAll(
    vmId: string,
    commands: readonly Command[],
    options: ExecuteOptions,
    together = false,
  ): Promise<Executed> {
    let before: VmState | undefined;
    let state: VmState | undefined;
    const events: StoredEvent[] = [];
    let plannedAfter = 0;
    const { afterPosition } = await this.store.append(async (after) => {
      plannedAfter = after;
      before = await this.load(vmId);
      state = before;
      events.length = 0;
      const rows: EventRow[] = [];
      for (const command of together ? [commands] : commands) {
        const planned = this.plan(vmId, state, command, options, after + rows.length);
        state = planned.state;
        rows.push(...planned.rows);
        events.push(...planned.events);
      }
      return { afterPosition: after, events: rows, idempotency: [] };
    });
    if (state === undefined) throw new Error(`no command for ${vmId}`);
    // Placed elsewhere than planned (PostgreSQL assigns positions at commit): fold them as placed.
    const shift = afterPosition - plannedAfter;
    if (shift !== 0) {
      events.splice(0, events.length, ...events.map((e) => ({ ...e, position: e.position + shift })));
      state = fold(events, before);
      if (state === undefined) throw new Error(`a command on ${vmId} left no state`);
    }
    this.current.set(vmId, state);
    return { state, events };
  }
}
