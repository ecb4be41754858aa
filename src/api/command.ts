// Runs one topology command for an HTTP request: If-Match, Idempotency-Key and event metadata,
// then load -> decide -> append in one IMMEDIATE transaction, and the response stored with it.

import type { FastifyReply, FastifyRequest } from 'fastify';
import { bigintsToHex } from '../domain/address';
import type { Command } from '../domain/topology/types';
import { ConcurrencyError, type EventMetadata } from '../db/event-store';
import { requestFingerprint, type StoredResponse } from '../db/idempotency-store';
import type { Executed } from '../db/vm-repository';
import type { Stores } from '../db/stores';
import { etagOf, HttpProblem } from './problem';

export interface CommandSpec {
  vmId: string;
  command: Command;
  status: 200 | 201;
  /** The resource to answer with, from the state after the command. */
  render: (executed: Executed) => { body: object; location?: string };
}

/** The version If-Match asks for, checked against the current one (RFC 9110 strong comparison). */
function checkIfMatch(header: string, vmId: string, current: number): number {
  const value = header.trim();
  if (value === '*') {
    if (current === 0) throw new ConcurrencyError(vmId, 0, current);
    return current;
  }
  const versions: number[] = [];
  for (const tag of value.split(',').map((t) => t.trim())) {
    const strong = /^"(\d{1,15})"$/.exec(tag);
    if (strong) versions.push(Number(strong[1]));
    else if (!/^W\/"[^"]*"$/.test(tag)) {
      throw new HttpProblem(400, 'INVALID_IF_MATCH', 'Invalid request', `If-Match ${JSON.stringify(header)} is not a list of ETags such as "3"`, [{ pointer: '', detail: 'If-Match must be "*" or ETags like "3"', in: 'header' }]);
    }
  }
  if (versions.includes(current)) return current;
  throw new ConcurrencyError(vmId, versions[0] ?? -1, current);
}

function metadataOf(request: FastifyRequest): EventMetadata {
  const metadata: EventMetadata = {
    occurredAt: new Date().toISOString(),
    actor: (request.headers['x-actor'] as string | undefined) ?? 'anonymous',
    requestId: request.id,
  };
  const reason = request.headers['x-reason'] as string | undefined;
  if (reason !== undefined) metadata.reason = reason;
  return metadata;
}

export interface IdempotentRequest {
  key: string;
  fingerprint: string;
}

/** The request's Idempotency-Key with a digest of what it asks for, if it sent one. */
export function idempotencyOf(request: FastifyRequest): IdempotentRequest | undefined {
  const key = request.headers['idempotency-key'] as string | undefined;
  return key === undefined ? undefined : { key, fingerprint: requestFingerprint(request.method, request.url, request.body) };
}

/** The response first given under the key, if any; 422 when the key was used for another request. */
export function priorResponse(stores: Stores, idempotent: IdempotentRequest | undefined): StoredResponse | undefined {
  if (idempotent === undefined) return undefined;
  const prior = stores.idempotency.find(idempotent.key);
  if (prior !== undefined && prior.fingerprint !== idempotent.fingerprint) {
    throw new HttpProblem(422, 'IDEMPOTENCY_KEY_REUSED', 'Idempotency-Key reused', `Idempotency-Key ${JSON.stringify(idempotent.key)} was first used for a different request; use a new key for a new request`, [
      { pointer: '', detail: 'Idempotency-Key belongs to another request', in: 'header' },
    ]);
  }
  return prior;
}

export function sendStored(reply: FastifyReply, response: StoredResponse, replayed: boolean): FastifyReply {
  if (replayed) reply.header('idempotent-replayed', 'true');
  return reply.code(response.status).headers(response.headers).type('application/json').send(response.body);
}

export function runCommand(stores: Stores, request: FastifyRequest, reply: FastifyReply, spec: CommandSpec): FastifyReply {
  const idempotent = idempotencyOf(request);
  const ifMatch = request.headers['if-match'] as string | undefined;
  let replayed = false;

  const response = stores.transaction((): StoredResponse => {
    const prior = priorResponse(stores, idempotent);
    if (prior !== undefined) {
      replayed = true;
      return prior;
    }
    const expectedVersion = ifMatch === undefined ? undefined : checkIfMatch(ifMatch, spec.vmId, stores.vms.load(spec.vmId)?.version ?? 0);
    const executed = stores.vms.execute(spec.vmId, spec.command, { expectedVersion, metadata: metadataOf(request) });
    const { body, location } = spec.render(executed);
    const events = executed.events.map((e) => ({ position: e.position, streamVersion: e.streamVersion, type: e.type }));
    const headers: Record<string, string> = { etag: etagOf(executed.state.version) };
    if (location !== undefined) headers.location = location;
    const stored = { status: spec.status, headers, body: JSON.stringify(bigintsToHex({ ...body, version: executed.state.version, events })) };
    if (idempotent !== undefined) stores.idempotency.save(idempotent.key, idempotent.fingerprint, stored, new Date().toISOString());
    return stored;
  });

  return sendStored(reply, response, replayed);
}

/** Sends a read: JSON with canonical hex, and the VM's ETag when the answer is about one VM. */
export function sendJson(reply: FastifyReply, body: unknown, options: { status?: number; version?: number; location?: string } = {}): FastifyReply {
  if (options.version !== undefined) reply.header('etag', etagOf(options.version));
  if (options.location !== undefined) reply.header('location', options.location);
  return reply.code(options.status ?? 200).type('application/json').send(JSON.stringify(bigintsToHex(body)));
}
