// Lists answer one page at a time: `{count, next, previous, results}` (contract, "Lists" and
// "Additions, v1.1"): absolute `next`/`previous` links that keep every option the client gave,
// `?brief=true`, `?ordering=<field>` / `-<field>`. Every list of the API pages through here.

/** A query parameter's value as a link repeats it (an array: the parameter repeated). */
export type QueryValue = string | number | boolean | readonly (string | number)[] | undefined;

/** Where a list lives: the absolute URL of its path, and the options the client gave (limit and offset aside). */
export interface ListLink {
  url: string;
  query: Record<string, QueryValue>;
}

/** The query string of a link: the client's options in the order given, then the page's own. */
export function linkTo(link: ListLink, page: Record<string, number>): string {
  const parts: string[] = [];
  const add = (k: string, v: string | number | boolean) =>
    parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  for (const [key, value] of Object.entries(link.query)) {
    if (key === 'limit' || key === 'offset' || key === 'after' || value === undefined) continue;
    if (Array.isArray(value)) for (const v of value as (string | number)[]) add(key, v);
    else add(key, value as string | number | boolean);
  }
  for (const [key, value] of Object.entries(page)) add(key, value);
  return `${link.url}?${parts.join('&')}`;
}

/** A page of a list by offset, with absolute links to the neighbouring pages. */
export function page<T>(items: T[], total: number, limit: number, offset: number, link: ListLink) {
  return {
    count: total,
    next: offset + limit < total ? linkTo(link, { limit, offset: offset + limit }) : null,
    previous: offset > 0 ? linkTo(link, { limit, offset: Math.max(0, offset - limit) }) : null,
    results: items,
  };
}

/**
 * A page of the event log read after a position: `next` reads after the last position of this
 * page (a cursor, so events that commit meanwhile are neither skipped nor repeated), `previous`
 * goes back by offset within the same cursor.
 */
export function cursorPage<T extends { position: number }>(
  items: T[],
  total: number,
  limit: number,
  offset: number,
  after: number,
  link: ListLink,
) {
  const last = items.at(-1)?.position;
  return {
    count: total,
    next: last !== undefined && offset + items.length < total ? linkTo(link, { after: last, limit }) : null,
    previous: offset > 0 ? linkTo(link, { after, limit, offset: Math.max(0, offset - limit) }) : null,
    results: items,
  };
}

/** `ordering` as the client gave it: a field, descending when it starts with '-'. */
export interface Ordering {
  field: string;
  descending: boolean;
}

export function orderingOf(text: string | undefined, fallback: string): Ordering {
  const given = text ?? fallback;
  return given.startsWith('-') ? { field: given.slice(1), descending: true } : { field: given, descending: false };
}

function compareValues(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === null || a === undefined) return -1;
  if (b === null || b === undefined) return 1;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : 1;
  return (a as number | bigint | boolean) < (b as number | bigint | boolean) ? -1 : 1;
}

/**
 * A collection held in memory (a VM's buses, devices, ...) put in the order asked for, then the
 * page cut from it. Items equal on the field keep their natural order (the sort is stable).
 */
export function orderedPage<T>(items: readonly T[], ordering: Ordering, limit: number, offset: number) {
  const sorted = [...items].sort((x, y) => {
    const c = compareValues(
      (x as Record<string, unknown>)[ordering.field],
      (y as Record<string, unknown>)[ordering.field],
    );
    return ordering.descending ? -c : c;
  });
  return { items: sorted.slice(offset, offset + limit), total: items.length };
}
