// Shared pieces of the route schemas. They feed both request validation and the OpenAPI document.

import { Type, type TSchema } from '@sinclair/typebox';
import { HEX_PATTERN } from '../domain/address';

export const ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$';

export const Id = (description: string) => Type.String({ pattern: ID_PATTERN, description, examples: ['pcie.1'] });

/** A 64-bit value as the contract writes it: `0x` + 1 to 16 hex digits. Never a JSON number. */
export const Hex = (description: string) => Type.String({ pattern: HEX_PATTERN, description, examples: ['0x8090040'] });

/** Bodies reject fields they do not know: a typo must not be silently dropped. */
export const Body = <T extends Record<string, TSchema>>(properties: T, description?: string) =>
  Type.Object(properties, { additionalProperties: false, description });

export const VmParams = Type.Object({ vm: Id('VM id') });
export const SmmuParams = Type.Object({ vm: Id('VM id'), smmu: Id('SMMU id') });
export const DeviceParams = Type.Object({ vm: Id('VM id'), dev: Id('device id') });

export const ListQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 50, description: 'page size (max 1000)' })),
  offset: Type.Optional(Type.Integer({ minimum: 0, default: 0, description: 'items to skip' })),
};

export const AsOfQuery = {
  asOf: Type.Optional(Type.Integer({ minimum: 1, description: 'answer as of this VM version (number of events)' })),
};

/** Headers every write accepts. */
export const CommandHeaders = Type.Object({
  'if-match': Type.Optional(Type.String({ description: 'the ETag ("<version>") the client read; 412 when the VM moved on' })),
  'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'a retry with the same key and body replays the first response' })),
  'x-request-id': Type.Optional(Type.String({ description: 'echoed, and kept in the event metadata' })),
  'x-actor': Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'who made the change (event metadata), default "anonymous"' })),
  'x-reason': Type.Optional(Type.String({ minLength: 1, maxLength: 1000, description: 'why (event metadata)' })),
});

export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.String({ description: 'stable UPPER_SNAKE identifier' }),
    instance: Type.Optional(Type.String()),
    errors: Type.Optional(Type.Array(Type.Object({ pointer: Type.String(), detail: Type.String(), in: Type.Optional(Type.String()) }))),
    currentEtag: Type.Optional(Type.String()),
  },
  { $id: 'Problem', description: 'RFC 9457 problem details (application/problem+json)' },
);

/** Responses point at the one shared Problem schema (registered with app.addSchema). */
const ProblemRef = Type.Ref('Problem');

const PROBLEM_DESCRIPTIONS: Record<number, string> = {
  400: 'malformed input (problem+json naming the field)',
  404: 'unknown VM, device, vector, resolution or version',
  409: 'conflict with existing state (duplicate id, taken bus number or slot, overlapping mapping)',
  412: 'If-Match did not match the current ETag',
  415: 'body is not application/json',
  422: 'a topology rule forbids the command, or an Idempotency-Key reused with another body',
};

function problemResponse(status: number) {
  return { description: PROBLEM_DESCRIPTIONS[status] ?? 'error', content: { 'application/problem+json': { schema: ProblemRef } } };
}

export const EventRefSchema = Type.Object({ position: Type.Integer(), streamVersion: Type.Integer(), type: Type.String() });

/** The responses a write can give, for the OpenAPI document. */
export function commandResponses(success: 200 | 201, description: string, extra: number[] = []) {
  const responses: Record<number, unknown> = {
    [success]: Type.Object({ version: Type.Integer(), events: Type.Array(EventRefSchema) }, { additionalProperties: true, description }),
  };
  for (const status of [400, 404, 409, 412, 415, 422, ...extra]) responses[status] = problemResponse(status);
  return responses;
}

export const errorResponses = (...statuses: number[]) => Object.fromEntries(statuses.map((s) => [s, problemResponse(s)]));
