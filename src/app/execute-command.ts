// Runs one topology command: Idempotency-Key, then load -> check If-Match -> decide -> append,
// with the answer stored under the key in the same transaction, so a retry sees the whole change
// and its answer or neither. Commands are committed in groups by the services' command writer
// (command-writer.ts).

import type { CommandRequest } from './command-answer.js';
import type { Answer } from './idempotency.js';
import type { Services } from './services.js';

export type { CommandRequest } from './command-answer.js';

export function executeCommand(services: Pick<Services, 'commands'>, request: CommandRequest): Promise<Answer> {
  return services.commands.submit(request);
}
