// API tokens (admin scope): make one (its secret is in this answer only), list the live ones,
// revoke one.

import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { issueToken, revokeToken, tokenView } from '../../app/tokens.js';
import { page, type RouteOptions, sendJson } from '../http.js';
import { listLink } from '../lists.js';
import { errorResponses, ListQuery, Page, Query } from '../schemas/common.js';
import { CreateTokenBody, NewTokenSchema, TokenParams } from '../schemas/token.js';

const TokenRef = Type.Ref('Token');
const json = (schema: object, description: string) => ({ description, content: { 'application/json': { schema } } });

export const tokenRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { stores, publicUrl }) => {
  app.post(
    '/v1/tokens',
    {
      config: { scope: 'admin' },
      schema: {
        operationId: 'createToken',
        tags: ['tokens'],
        summary: 'Create an API token (admin); its secret is shown once',
        body: CreateTokenBody,
        response: {
          201: json(NewTokenSchema, 'the token with its secret, `token`: keep it, it is not shown again'),
          ...errorResponses(400, 409, 415),
        },
      },
    },
    async (request, reply) => sendJson(reply.code(201), await issueToken(stores, request.body)),
  );

  app.get(
    '/v1/tokens',
    {
      config: { scope: 'admin' },
      schema: {
        operationId: 'listTokens',
        tags: ['tokens'],
        summary: 'List the live API tokens (admin), without their secrets',
        querystring: Query({ ...ListQuery }),
        response: {
          200: json(Page(TokenRef, 'a page of tokens'), 'live tokens, oldest first'),
          ...errorResponses(400),
        },
      },
    },
    async (request, reply) => {
      const { limit = 50, offset = 0 } = request.query;
      const { rows, total } = await stores.tokens.live(limit, offset);
      return sendJson(reply, page(rows.map(tokenView), total, limit, offset, listLink(request, publicUrl)));
    },
  );

  app.delete(
    '/v1/tokens/:id',
    {
      config: { scope: 'admin' },
      schema: {
        operationId: 'revokeToken',
        tags: ['tokens'],
        summary: 'Revoke an API token (admin); it is refused from now on',
        description: 'The last live admin token cannot be revoked (409 LAST_ADMIN_TOKEN): create another first.',
        params: TokenParams,
        response: { 200: json(TokenRef, 'the revoked token'), ...errorResponses(400, 404, 409) },
      },
    },
    async (request, reply) => sendJson(reply, await revokeToken(stores, request.params.id)),
  );
};
