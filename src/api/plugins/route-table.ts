// The routes the app has, by path pattern, so that a request for a known path with another method
// is answered 405 with Allow (and OPTIONS with Allow) rather than 404. find-my-way answers only
// "no match", not "matched with another method".

import type { FastifyInstance, RouteOptions } from 'fastify';

export class RouteTable {
  private readonly routes = new Map<string, { pattern: RegExp; methods: Set<string> }>();

  /** Collects every route registered after this call (call it before the routes). */
  static collect(app: FastifyInstance): RouteTable {
    const table = new RouteTable();
    app.addHook('onRoute', (route: RouteOptions) => table.add(route.url, [route.method].flat()));
    return table;
  }

  private add(url: string, methods: string[]): void {
    const source = url
      .replace(/\/+$/, '')
      .split('/')
      .map((segment) =>
        segment === '*' ? '.*' : segment.startsWith(':') ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
      )
      .join('/');
    const key = `^${source}/?$`;
    const entry = this.routes.get(key) ?? { pattern: new RegExp(key), methods: new Set<string>() };
    this.routes.set(key, entry);
    for (const method of methods) entry.methods.add(method.toUpperCase());
  }

  /** The methods some route takes for this concrete path (OPTIONS left out). */
  methodsFor(path: string): string[] {
    const methods = new Set<string>();
    for (const route of this.routes.values())
      if (route.pattern.test(path)) for (const m of route.methods) if (m !== 'OPTIONS') methods.add(m);
    return [...methods].sort();
  }
}
