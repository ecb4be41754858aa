// A command as the application receives it, and the answer it gets once its events are durable:
// shared by execute-command.ts (the entry point) and command-writer.ts (the group commit), which
// would otherwise import each other.

import type { EventMetadata } from '../db/port.js';
import type { StoredResponse } from '../db/port.js';
import type { Executed, Precondition } from './vm-repository.js';
import { bigintsToHex } from '../domain/address.js';
import type { Command } from '../domain/topology/types.js';
import { etagOf } from '../errors/problem.js';
import type { IdempotencyClaim } from './idempotency.js';

export interface CommandRequest {
  vmId: string;
  /** One command, or several decided in order and appended together (an import). */
  command: Command | readonly Command[];
  /** 200 for a change of an existing resource, 201 for a new one. */
  status: 200 | 201;
  /** The resource to answer with, from the state after the command, and where it lives. */
  represent: (executed: Executed) => { body: object; location?: string };
  precondition?: Precondition;
  idempotency?: IdempotencyClaim;
  metadata: EventMetadata;
}

/** The answer to a command: its resource with the VM's new version and the events it appended. */
export function answerOf(request: CommandRequest, executed: Executed): StoredResponse {
  const { body, location } = request.represent(executed);
  const events = executed.events.map((e) => ({ position: e.position, streamVersion: e.streamVersion, type: e.type }));
  const headers: Record<string, string> = { etag: etagOf(executed.state.version) };
  if (location !== undefined) headers.location = location;
  return {
    status: request.status,
    headers,
    body: JSON.stringify(bigintsToHex({ ...body, version: executed.state.version, events })),
  };
}
