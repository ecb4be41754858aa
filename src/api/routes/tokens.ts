// API tokens (admin scope): make one (its secret is in this answer only), list the live ones,
// read one (a revoked one too: the events it signed still name it), revoke one.

import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { tokenPath } from '../../app/links.js';
import { issueToken, listTokens, readToken, revokeToken, type TokenView } from '../../app/tokens.js';
import { type RouteOptions, sendJson } from '../http.js';
import { baseUrlOf } from '../links.js';
import { ListQueryOf, listResponses, sendCollection } from '../lists.js';
import { errorResponses } from '../schemas/common.js';
import { CreateTokenBody, NewTokenSchema, TOKEN_ORDERINGS, TokenParams } from '../schemas/token.js';

const TokenRef = Type.Ref('Token');
const json = (schema: object, description: string) => ({ description, content: { 'application/json': { schema } } });

/** A token as answered: its id, its own url and a display label first. */
const tokenResource = <T extends TokenView>(base: string, { id, ...view }: T) => ({
  id,
  url: `${base}${tokenPath(id)}`,
  display: `${view.name} (${view.scopes.join(', ')})`,
  ...view,
});

export const tokenRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { services, publicUrl }) => {
  const { stores } = services;
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
    async (request, reply) =>
      sendJson(reply.code(201), tokenResource(baseUrlOf(request, publicUrl), await issueToken(stores, request.body))),
  );

  app.get(
    '/v1/tokens',
    {
      config: { scope: 'admin' },
      schema: {
        operationId: 'listTokens',
        tags: ['tokens'],
        summary: 'List the live API tokens (admin), without their secrets',
        querystring: ListQueryOf({}, TOKEN_ORDERINGS),
        response: listResponses(TokenRef, 'live tokens, oldest first'),
      },
    },
    async (request, reply) => {
      // Live tokens are few (one per person or automation): ordered and paged in memory.
      const base = baseUrlOf(request, publicUrl);
      const items = (await listTokens(stores)).map((view) => tokenResource(base, view));
      return sendCollection(reply, request, publicUrl, items, request.query, TOKEN_ORDERINGS[0]);
    },
  );

  app.get(
    '/v1/tokens/:id',
    {
      config: { scope: 'admin' },
      schema: {
        operationId: 'getToken',
        tags: ['tokens'],
        summary: 'Read an API token (admin), live or revoked, without its secret',
        params: TokenParams,
        response: { 200: json(TokenRef, 'the token'), ...errorResponses(400, 404) },
      },
    },
    async (request, reply) => {
      const view = await readToken(stores, request.params.id);
      return sendJson(reply, tokenResource(baseUrlOf(request, publicUrl), view));
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
    async (request, reply) =>
      sendJson(reply, tokenResource(baseUrlOf(request, publicUrl), await revokeToken(stores, request.params.id))),
  );
};
