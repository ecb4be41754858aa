// Lists answer one page at a time: `{count, next, previous, results}` (contract, "Lists").

/** A page of a list, with links that keep the query the client gave. */
export function page<T>(items: T[], total: number, limit: number, offset: number, path: string) {
  const link = (o: number) => `${path}${path.includes('?') ? '&' : '?'}limit=${limit}&offset=${o}`;
  return {
    count: total,
    next: offset + limit < total ? link(offset + limit) : null,
    previous: offset > 0 ? link(Math.max(0, offset - limit)) : null,
    results: items,
  };
}
