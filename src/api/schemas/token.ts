// API tokens: what an admin sends to make one, and how a token is shown (never its secret, except
// once in the answer that created it).

import { Type } from '@sinclair/typebox';
import { SCOPES } from '../../app/tokens.js';
import { Body, Nullable, OneOf } from './common.js';

export const TOKEN_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$';

export const CreateTokenBody = Body(
  {
    name: Type.String({
      pattern: TOKEN_NAME_PATTERN,
      description: 'who uses the token: the actor of every event it appends (unique among live tokens)',
      examples: ['inventory-sync'],
    }),
    scopes: Type.Array(OneOf(SCOPES, 'read: GET; write: also commands and resolutions; admin: also tokens'), {
      minItems: 1,
      uniqueItems: true,
    }),
    expiresAt: Type.Optional(
      Type.String({
        pattern: '^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d(:\\d\\d(\\.\\d+)?)?(Z|[+-]\\d\\d:\\d\\d)$',
        description: 'when the token stops working, an RFC 3339 date-time in the future (default: never)',
      }),
    ),
  },
  {
    examples: {
      writer: {
        summary: 'a token for an automation that changes topologies',
        value: { name: 'inventory-sync', scopes: ['write'] },
      },
      reader: {
        summary: 'a read-only token that expires',
        value: { name: 'dashboard', scopes: ['read'], expiresAt: '2036-01-01T00:00:00Z' },
      },
    },
  },
);

export const TokenParams = Type.Object({
  id: Type.String({ pattern: '^[0-9a-f]{16}$', description: 'token id', examples: ['0123456789abcdef'] }),
});

/** What a token list can be ordered by (the first is the default). */
export const TOKEN_ORDERINGS = ['createdAt', 'name', 'expiresAt', 'lastUsedAt'] as const;

export const TokenSchema = Type.Object(
  {
    id: Type.String({ description: 'the token id (also the part after dbt_ in the token)' }),
    url: Type.String({ format: 'uri', description: 'where to GET it (admin)' }),
    display: Type.String({ examples: ['inventory-sync (write)'] }),
    name: Type.String({ description: 'the actor of the events the token appends' }),
    scopes: Type.Array(OneOf(SCOPES, 'scope')),
    createdAt: Type.String({ format: 'date-time' }),
    expiresAt: Nullable(Type.String({ format: 'date-time' })),
    lastUsedAt: Nullable(Type.String({ format: 'date-time', description: 'to the minute' })),
    revokedAt: Nullable(Type.String({ format: 'date-time' })),
  },
  { $id: 'Token', description: 'an API token, without its secret' },
);

export const NewTokenSchema = Type.Intersect([
  Type.Ref('Token'),
  Type.Object({
    token: Type.String({ description: 'the secret: send it as Authorization: Bearer <token>; shown only this once' }),
  }),
]);
