// Runs one topology command: Idempotency-Key, then load -> check If-Match -> decide -> append in
// one IMMEDIATE transaction, with the answer stored under the key in the same transaction, so a
// retry sees the whole change and its answer or neither.

import { bigintsToHex } from '../domain/address.js';
import type { Command } from '../domain/topology/types.js';
import type { EventMetadata } from '../db/event-store.js';
import type { Stores } from '../db/stores.js';
import type { Executed, Precondition } from '../db/vm-repository.js';
import { etagOf } from '../errors/problem.js';
import { type Answer, type IdempotencyClaim, priorAnswer } from './idempotency.js';

export interface CommandRequest {
  vmId: string;
  command: Command;
  /** 200 for a change of an existing resource, 201 for a new one. */
  status: 200 | 201;
  /** The resource to answer with, from the state after the command, and where it lives. */
  represent: (executed: Executed) => { body: object; location?: string };
  precondition?: Precondition;
  idempotency?: IdempotencyClaim;
  metadata: EventMetadata;
}

export function executeCommand(stores: Stores, request: CommandRequest): Answer {
  return stores.transaction((): Answer => {
    const prior = priorAnswer(stores, request.idempotency);
    if (prior !== undefined) return prior;
    const executed = stores.vms.execute(request.vmId, request.command, {
      precondition: request.precondition,
      metadata: request.metadata,
    });
    const { body, location } = request.represent(executed);
    const events = executed.events.map((e) => ({ position: e.position, streamVersion: e.streamVersion, type: e.type }));
    const headers: Record<string, string> = { etag: etagOf(executed.state.version) };
    if (location !== undefined) headers.location = location;
    const answer = {
      status: request.status,
      headers,
      body: JSON.stringify(bigintsToHex({ ...body, version: executed.state.version, events })),
    };
    const claim = request.idempotency;
    if (claim !== undefined) stores.idempotency.save(claim.key, claim.fingerprint, answer, request.metadata.occurredAt);
    return { ...answer, replayed: false };
  });
}
