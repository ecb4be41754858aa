// Many writers on one VM, each sending conditional commands (If-Match) and retrying a 412 with the
// ETag the 412 carries, without another GET. Shared by the concurrency test and
// `npm run load:if-match`. The retry pattern the README gives, fair to every writer: a writer that
// lost waits a random time below a bound that doubles with each loss (2 ms, 4 ms, ... 128 ms)
// before it retries, and a writer that won waits below 2 ms before its next command. (Making the
// winner wait longer, so that it does not win every round, made things worse: 3x the requests
// and the same tail.) Each command programs an MSI vector with a data value unique to
// (writer, command), under an Idempotency-Key, so the log shows exactly which commands landed.

export interface WriterLoad {
  /** http://127.0.0.1:<port> */
  base: string;
  /** One token per writer (or one for all). */
  tokens: string[];
  vm: string;
  device: string;
  writers: number;
  commandsPerWriter: number;
}

export interface LoadResult {
  acknowledged: { writer: number; command: number; data: string; version: number }[];
  attempts: number;
  preconditionFailures: number;
  /** Statuses other than 200 and 412, counted. */
  unexpected: Record<string, number>;
  /** Milliseconds from a command's first attempt to its acknowledgement. */
  commandMs: number[];
  /** Milliseconds of each single request. */
  attemptMs: number[];
  wallMs: number;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Full jitter: a random time below min(128, 2^(losses+1)) ms. */
export const backoffMs = (losses: number) => Math.random() * Math.min(128, 2 ** (losses + 1));

export const dataOf = (writer: number, command: number) => `0x${(writer * 100_000 + command).toString(16)}`;

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

export async function runWriters(load: WriterLoad): Promise<LoadResult> {
  const result: LoadResult = {
    acknowledged: [],
    attempts: 0,
    preconditionFailures: 0,
    unexpected: {},
    commandMs: [],
    attemptMs: [],
    wallMs: 0,
  };
  const started = performance.now();
  const auth = (w: number) => `Bearer ${load.tokens[w % load.tokens.length]}`;
  const first = await fetch(`${load.base}/v1/vms/${load.vm}`, { headers: { authorization: auth(0) } });
  const initialEtag = first.headers.get('etag') ?? '"0"';
  await first.arrayBuffer();

  async function writer(w: number): Promise<void> {
    let etag = initialEtag;
    for (let c = 0; c < load.commandsPerWriter; c++) {
      const data = dataOf(w, c);
      const commandStarted = performance.now();
      for (let attempt = 0; ; attempt++) {
        if (attempt > 10_000) throw new Error(`writer ${w} command ${c}: no progress after 10,000 attempts`);
        const sent = performance.now();
        const response = await fetch(`${load.base}/v1/vms/${load.vm}/devices/${load.device}/msi-vectors/${w % 8}`, {
          method: 'PUT',
          headers: {
            authorization: auth(w),
            'content-type': 'application/json',
            'if-match': etag,
            'idempotency-key': `w${w}-c${c}`,
          },
          body: JSON.stringify({ address: '0x8090040', data }),
        });
        const body = (await response.json()) as { version?: number; currentEtag?: string; currentVersion?: number };
        result.attemptMs.push(performance.now() - sent);
        result.attempts += 1;
        if (response.status === 200) {
          etag = response.headers.get('etag') ?? etag;
          result.acknowledged.push({ writer: w, command: c, data, version: body.version ?? -1 });
          result.commandMs.push(performance.now() - commandStarted);
          await pause(backoffMs(0));
          break;
        }
        if (response.status === 412) {
          result.preconditionFailures += 1;
          // The 412 says where the VM is now: retry against it at once.
          if (body.currentEtag === undefined || body.currentEtag !== `"${body.currentVersion}"`)
            throw new Error(`412 without a consistent currentEtag/currentVersion: ${JSON.stringify(body)}`);
          etag = body.currentEtag;
          await pause(backoffMs(attempt + 1));
          continue;
        }
        result.unexpected[response.status] = (result.unexpected[response.status] ?? 0) + 1;
        if (response.status === 429 || response.status === 503) {
          await new Promise((r) => setTimeout(r, 50));
          continue;
        }
        throw new Error(`writer ${w} command ${c}: ${response.status} ${JSON.stringify(body)}`);
      }
    }
  }

  await Promise.all(Array.from({ length: load.writers }, (_, w) => writer(w)));
  result.wallMs = performance.now() - started;
  return result;
}
