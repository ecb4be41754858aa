// The NetBox-style lists of the contract (v1.1) at the HTTP edge: one query schema for paging,
// `brief` and `ordering`, and one way to answer a page, for every list of the API. Paging itself
// is src/app/paging.ts.

import { type TSchema, Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { type ListLink, orderedPage, orderingOf, type Ordering, page } from '../app/paging.js';
import { sendJson } from './http.js';
import { baseUrlOf } from './links.js';
import { errorResponses, ListQuery, OneOf, Page, Query } from './schemas/common.js';

/** What `?brief=true` leaves of an item: how to name it and where to read it. */
export interface BriefItem {
  id: string | number;
  url: string;
  display: string;
}

export const BriefSchema = Type.Object(
  {
    id: Type.Union([Type.String(), Type.Integer()], { description: 'the id (a vector: its number)' }),
    url: Type.String({ format: 'uri', description: 'where to GET it' }),
    display: Type.String({ description: 'a short human label' }),
  },
  { $id: 'Brief', description: 'an item of a list with ?brief=true' },
);

/** `brief` and `ordering`, with the fields a list can be ordered by (the first is the default). */
export function listOptions(orderingFields: readonly [string, ...string[]]) {
  return {
    ...ListQuery,
    brief: Type.Optional(Type.Boolean({ default: false, description: 'true: each item only id, url and display' })),
    ordering: Type.Optional(
      OneOf(
        orderingFields.flatMap((f) => [f, `-${f}`]),
        `order by this field, descending with a leading '-' (default ${orderingFields[0]})`,
      ),
    ),
  };
}

/** The query string of a list: its filters and the list options; anything else is a 400 naming it. */
export const ListQueryOf = <T extends Record<string, TSchema>>(
  filters: T,
  orderingFields: readonly [string, ...string[]],
) => Query({ ...filters, ...listOptions(orderingFields) });

/** The answers of a list: a page of full items or, with brief, of brief ones. */
export function listResponses(item: TSchema, description: string, options: { etag?: boolean } = {}) {
  const headers =
    options.etag === true
      ? { ETag: { type: 'string', description: 'the VM version this answer reflects, "<version>"' } }
      : undefined;
  const schema = Page(Type.Union([item, Type.Ref('Brief')]), description);
  return { 200: { description, headers, content: { 'application/json': { schema } } }, ...errorResponses(400, 404) };
}

/**
 * The list's own absolute URL and the options the request gave, as it gave them (not the
 * defaults the schema filled in), in its order; a repeated parameter stays repeated.
 */
export function listLink(request: FastifyRequest, publicUrl: string | undefined): ListLink {
  const [path, search = ''] = request.url.split('?', 2) as [string, string?];
  const query: Record<string, string | string[]> = {};
  for (const [key, value] of new URLSearchParams(search)) {
    const seen = query[key];
    query[key] = seen === undefined ? value : [...(Array.isArray(seen) ? seen : [seen]), value];
  }
  return { url: `${baseUrlOf(request, publicUrl)}${path}`, query };
}

export interface ListParameters {
  limit?: number;
  offset?: number;
  brief?: boolean;
  ordering?: string;
}

export const briefOf = <T extends BriefItem>(item: T): BriefItem => ({
  id: item.id,
  url: item.url,
  display: item.display,
});

/** The list options a request gave, with the defaults. */
export function listParameters(query: ListParameters, defaultOrdering: string) {
  return {
    limit: query.limit ?? 50,
    offset: query.offset ?? 0,
    brief: query.brief ?? false,
    ordering: orderingOf(query.ordering, defaultOrdering) satisfies Ordering,
  };
}

/** Sends a page of items (brief ones when asked), with absolute links to its neighbours. */
export function sendPage<T extends BriefItem>(
  reply: FastifyReply,
  request: FastifyRequest,
  publicUrl: string | undefined,
  list: { items: T[]; total: number; limit: number; offset: number; brief: boolean },
  options: { version?: number } = {},
): FastifyReply {
  const items = list.brief ? list.items.map(briefOf) : list.items;
  return sendJson(reply, page(items, list.total, list.limit, list.offset, listLink(request, publicUrl)), options);
}

/**
 * Answers a list of a collection held in memory (a VM's buses, devices, ...): ordered as asked,
 * one page of it, brief when asked.
 */
export function sendCollection<T extends BriefItem>(
  reply: FastifyReply,
  request: FastifyRequest,
  publicUrl: string | undefined,
  items: readonly T[],
  query: ListParameters,
  defaultOrdering: string,
  options: { version?: number } = {},
): FastifyReply {
  const { limit, offset, brief, ordering } = listParameters(query, defaultOrdering);
  const { items: pageItems, total } = orderedPage(items, ordering, limit, offset);
  return sendPage(reply, request, publicUrl, { items: pageItems, total, limit, offset, brief }, options);
}
