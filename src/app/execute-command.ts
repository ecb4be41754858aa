// Runs one topology command: Idempotency-Key, then load -> check If-Match -> decide -> append,
// with the answer stored under the key in the same transaction, so a retry sees the whole change
// and its answer or neither. Commands are committed in groups (command-writer.ts).

import type { Stores } from '../db/index.js';
import type { CommandRequest } from './command-answer.js';
import { CommandWriter } from './command-writer.js';
import type { Answer } from './idempotency.js';

export type { CommandRequest } from './command-answer.js';

const writers = new WeakMap<Stores, CommandWriter>();

export function executeCommand(stores: Stores, request: CommandRequest): Promise<Answer> {
  let writer = writers.get(stores);
  if (writer === undefined) {
    writer = new CommandWriter(stores);
    writers.set(stores, writer);
  }
  return writer.submit(request);
}
