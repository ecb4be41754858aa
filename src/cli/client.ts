// The HTTP side of the CLI: one base URL, one token, and errors turned into exit codes that
// scripts can rely on (see EXIT in exit-codes.ts). Node's own fetch; nothing to configure.

import { CliError, EXIT } from './exit-codes.js';

export interface ClientOptions {
  /** Base URL of the service, e.g. http://127.0.0.1:8080 */
  server: string;
  token?: string;
}

/** A problem+json answer, or what we could make of a non-JSON error body. */
export interface Problem {
  status: number;
  code?: string;
  title?: string;
  detail?: string;
  errors?: { pointer: string; detail: string }[];
}

export class HttpError extends CliError {
  constructor(
    readonly problem: Problem,
    what: string,
  ) {
    super(EXIT.refused, `${what}: ${problem.status} ${problem.code ?? problem.title ?? ''}${detailOf(problem)}`);
  }
}

function detailOf(problem: Problem): string {
  const pointers = (problem.errors ?? []).map((e) => `${e.pointer}: ${e.detail}`);
  const detail = problem.detail ? ` - ${problem.detail}` : '';
  return pointers.length > 0 ? `${detail} (${pointers.join('; ')})` : detail;
}

export class Client {
  private readonly base: string;

  constructor(private readonly options: ClientOptions) {
    this.base = options.server.replace(/\/+$/, '');
  }

  /** The absolute URL of a path such as /v1/vms, or a link the server gave (already absolute). */
  url(path: string): string {
    return /^https?:\/\//.test(path) ? path : `${this.base}${path}`;
  }

  /** Sends a request; answers the response when it is 2xx, throws HttpError or an unreachable CliError. */
  /** The Authorization header, when a token was given. */
  authorization(): Record<string, string> {
    return this.options.token ? { authorization: `Bearer ${this.options.token}` } : {};
  }

  async send(method: string, path: string, init: { body?: unknown; headers?: Record<string, string> } = {}) {
    const headers: Record<string, string> = { ...init.headers, ...this.authorization() };
    let body: string | undefined;
    if (init.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(init.body);
    }
    const response = await this.fetch(this.url(path), { method, headers, body });
    if (!response.ok) throw new HttpError(await problemOf(response), `${method} ${path}`);
    return response;
  }

  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    return (await (await this.send(method, path, { body })).json()) as T;
  }

  async text(path: string): Promise<string> {
    return (await this.send('GET', path)).text();
  }

  /** fetch, with "cannot connect" made an error of its own: scripts retry that one, not a 4xx. */
  async fetch(url: string, init: RequestInit): Promise<Response> {
    try {
      return await fetch(url, init);
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      const reason = cause?.code ?? cause?.message ?? (error as Error).message;
      throw new CliError(EXIT.unreachable, `cannot reach ${this.base} (${reason}); is the server running? (--server)`);
    }
  }
}

async function problemOf(response: Response): Promise<Problem> {
  const text = await response.text();
  try {
    const parsed = JSON.parse(text) as Partial<Problem>;
    return { ...parsed, status: response.status };
  } catch {
    return { status: response.status, title: response.statusText, detail: text.slice(0, 200) };
  }
}
