// decideAll(commands, state) -> the events of several commands decided one after another, each on
// the state the ones before it left, as one change: an import creates a whole VM in one append.
// A command that breaks a rule rejects the whole list; the error says which command it was.

import { DomainError } from '../errors.js';
import { decide } from './decide.js';
import { evolve } from './evolve.js';
import type { Command, DomainEvent, RecordedEvent, VmState } from './types.js';

/** A rule broken by the command at `index` of a list: the domain error, and where in the list. */
export class CommandListError extends DomainError {
  constructor(
    readonly index: number,
    readonly rule: DomainError,
  ) {
    super(rule.code, rule.message, rule.pointer);
    this.name = 'CommandListError';
  }
}

export function decideAll(commands: readonly Command[], state: VmState | undefined): DomainEvent[] {
  const events: DomainEvent[] = [];
  let current = state;
  let version = state?.version ?? 0;
  for (const [index, command] of commands.entries()) {
    let decided: DomainEvent[];
    try {
      decided = decide(command, current);
    } catch (error) {
      throw error instanceof DomainError ? new CommandListError(index, error) : error;
    }
    // The state between commands only feeds the next decision; its provenance is provisional.
    for (const event of decided) {
      version += 1;
      current = evolve(current, { ...event, position: version, streamVersion: version } as RecordedEvent);
    }
    events.push(...decided);
  }
  return events;
}
