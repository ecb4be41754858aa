// Runs commands one after another without a store: decide, number the events as a single-VM
// log would (position = stream version), evolve. For specifications, fixtures and benchmarks
// that need a state without a database.

import { decide } from './decide.js';
import { fold } from './evolve.js';
import type { Command, RecordedEvent, VmState } from './types.js';

export function replay(commands: Iterable<Command>, from?: VmState): VmState | undefined {
  let state = from;
  for (const command of commands) {
    const version = state?.version ?? 0;
    const events = decide(command, state).map(
      (e, i) => ({ ...e, position: version + i + 1, streamVersion: version + i + 1 }) as RecordedEvent,
    );
    state = fold(events, state);
  }
  return state;
}
