// The building blocks of every route schema. Schemas feed request validation, the types of the
// handlers (through the TypeBox type provider) and the OpenAPI document: they are written once.

import { type TSchema, Type } from '@sinclair/typebox';
import { HEX_PATTERN } from '../../domain/address.js';
import { codesWithStatus, ERROR_CODES } from '../../errors/catalogue.js';

export const ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$';

/** A client-chosen id (QEMU ids such as pcie.1, smmuv3.0, hostdev0), with an example to try. */
export const Id = (description: string, example: string) =>
  Type.String({ pattern: ID_PATTERN, description, examples: [example] });

/** A 64-bit value as the contract writes it: `0x` + 1 to 16 hex digits. Never a JSON number. */
export const Hex = (description: string, example: string) =>
  Type.String({ pattern: HEX_PATTERN, description, examples: [example] });

/** A 64-bit value as the service writes it: lowercase, no leading zeros. */
export const HexOut = (description: string) => Type.String({ pattern: '^0x[0-9a-f]{1,16}$', description });

/** What every resource carries besides its own fields (contract v1.1): where to read it, and a label. */
export const Listed = {
  url: Type.String({ format: 'uri', description: 'absolute URL of this resource (readable with GET)' }),
  display: Type.String({ description: 'a short human label' }),
};

export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

/** One of the domain's constants, as a plain `enum` (what client generators turn into a type). */
export const OneOf = <T extends string | number>(values: readonly T[], description: string) =>
  Type.Unsafe<T>({ type: typeof values[0] === 'number' ? 'integer' : 'string', enum: [...values], description });

/**
 * A request body. Unknown fields are refused (a typo must not be silently dropped). `examples`
 * are named request examples (Swagger UI offers them in a list); the first is pre-filled.
 */
export function Body<T extends Record<string, TSchema>>(
  properties: T,
  options: { description?: string; examples: Record<string, { summary: string; value: object }> },
) {
  return Type.Object(properties, {
    additionalProperties: false,
    description: options.description,
    'x-examples': options.examples,
  });
}

/** A body nested in another: unknown fields refused, no examples of its own. */
export const NestedBody = <T extends Record<string, TSchema>>(properties: T, description: string) =>
  Type.Object(properties, { additionalProperties: false, description });

export const VmParams = Type.Object({ vm: Id('VM id', 'vm1') });
export const SmmuParams = Type.Object({ vm: Id('VM id', 'vm1'), smmu: Id('SMMU id', 'smmuv3.0') });
export const DeviceParams = Type.Object({ vm: Id('VM id', 'vm1'), dev: Id('device id', 'hostdev0') });

export const MAX_LIMIT = 1000;
export const MAX_OFFSET = 1_000_000_000;
export const ListQuery = {
  limit: Type.Optional(
    Type.Integer({ minimum: 1, maximum: MAX_LIMIT, default: 50, description: 'page size, 1 to 1000' }),
  ),
  offset: Type.Optional(
    Type.Integer({ minimum: 0, maximum: MAX_OFFSET, default: 0, description: 'items to skip, 0 to 10^9' }),
  ),
};

export const AsOf = Type.Integer({ minimum: 1, description: 'as of this VM version (its first asOf events)' });
export const AsOfQuery = { asOf: Type.Optional(AsOf) };

/** A query string: unknown parameters are refused, so that a typo is not silently ignored. */
export const Query = <T extends Record<string, TSchema>>(properties: T) =>
  Type.Object(properties, { additionalProperties: false });

/** Headers every write accepts. */
export const CommandHeaders = Type.Object({
  'if-match': Type.Optional(
    Type.String({ description: 'the ETag ("<version>") the client read; 412 when the VM moved on' }),
  ),
  'idempotency-key': Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 200,
      description: 'a retry with the same key and body replays the first response',
    }),
  ),
  'x-request-id': Type.Optional(Type.String({ description: 'echoed, and kept in the event metadata' })),
  'x-actor': Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 200,
      description:
        "on whose behalf the token's holder acts (event metadata onBehalfOf); the actor is always the token's name",
    }),
  ),
  'x-reason': Type.Optional(Type.String({ minLength: 1, maxLength: 1000, description: 'why (event metadata)' })),
});

export const ProblemSchema = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: OneOf(ERROR_CODES, 'stable UPPER_SNAKE identifier, from the error catalogue'),
    instance: Type.Optional(Type.String()),
    errors: Type.Optional(
      Type.Array(
        Type.Object({
          pointer: Type.String({ description: 'JSON Pointer: into the body, or /path/x, /query/x, /header/x' }),
          detail: Type.String(),
          in: Type.Optional(Type.String()),
          token: Type.Optional(
            Type.Integer({ description: 'import: the token of the command line (0 = the program)' }),
          ),
          line: Type.Optional(Type.Integer({ description: 'import: the line of the XML element' })),
          column: Type.Optional(Type.Integer({ description: 'import: the column of the XML element' })),
        }),
      ),
    ),
    currentEtag: Type.Optional(Type.String({ description: '412: the ETag the VM has now' })),
    currentVersion: Type.Optional(Type.Integer({ description: '412: the version the VM has now' })),
  },
  { $id: 'Problem', description: 'RFC 9457 problem details (application/problem+json)' },
);

const ProblemRef = Type.Ref('Problem');

/** An error response, described by the catalogue's codes with that status. */
function problemResponse(status: number) {
  const codes = codesWithStatus(status);
  return {
    description: `problem+json with code ${codes.join(', ')}`,
    content: { 'application/problem+json': { schema: ProblemRef } },
  };
}

export const errorResponses = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((s) => [s, problemResponse(s)]));

const ETagHeader = { type: 'string', description: 'the VM version this answer reflects, "<version>"' };
const LocationHeader = { type: 'string', description: 'where the new resource (or record) can be read' };

/** A successful read about one VM: its schema and the ETag. */
export function readResponses(schema: TSchema, description: string, options: { etag?: boolean } = {}) {
  const headers = options.etag === false ? undefined : { ETag: ETagHeader };
  return { 200: { description, headers, content: { 'application/json': { schema } } }, ...errorResponses(400, 404) };
}

/** Events a command appended, in every command's answer. */
export const CommandOutcome = Type.Object(
  {
    version: Type.Integer({ description: 'the VM version after the command' }),
    events: Type.Array(Type.Object({ position: Type.Integer(), streamVersion: Type.Integer(), type: Type.String() }), {
      description: 'the events the command appended',
    }),
  },
  { $id: 'CommandOutcome' },
);

/** The answers a command can give: the resource with the events appended, or a problem. */
export function commandResponses(success: 200 | 201, resource: TSchema, description: string) {
  const headers: Record<string, object> = { ETag: ETagHeader };
  if (success === 201) headers.Location = LocationHeader;
  const schema = Type.Intersect([resource, Type.Ref('CommandOutcome')]);
  return {
    [success]: { description, headers, content: { 'application/json': { schema } } },
    ...errorResponses(400, 404, 409, 412, 415, 422),
  };
}

/** A page of a list, as every list of the contract answers. */
export const Page = (item: TSchema, description: string) =>
  Type.Object(
    {
      count: Type.Integer({ description: 'items in the whole list' }),
      next: Nullable(Type.String({ description: 'the next page' })),
      previous: Nullable(Type.String({ description: 'the previous page' })),
      results: Type.Array(item),
    },
    { description },
  );
