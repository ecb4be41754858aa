// doorbell import FILE...: each file is one VM (its id is the file's name without extension, or
// --vm for a single file), sent to POST /v1/vm-imports in the format its text shows.

import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { SingleBar } from 'cli-progress';
import { type Client, HttpError } from './client.js';
import { CliError, EXIT } from './exit-codes.js';
import { printJson, printTable } from './output.js';

export type ImportFormat = 'qemu-cmdline' | 'libvirt-xml';

/** A libvirt domain is XML (it starts with `<`); anything else is taken for a command line. */
export function detectFormat(source: string): ImportFormat {
  return source.trimStart().startsWith('<') ? 'libvirt-xml' : 'qemu-cmdline';
}

/** A VM id from a file name: `lab/vm-07.xml` -> `vm-07`. */
export function vmIdOf(file: string): string {
  return basename(file, extname(file));
}

export interface ImportOutcome {
  file: string;
  vm: string;
  format: ImportFormat;
  status: number;
  /** The 201's body, or the problem+json the server answered. */
  body: unknown;
  error?: string;
}

interface ImportOptions {
  vm?: string;
  format?: ImportFormat;
  json?: boolean;
  /** Imports sent at once; the server commits concurrent ones together. */
  concurrency: number;
}

export async function importFiles(client: Client, files: string[], options: ImportOptions): Promise<number> {
  if (options.vm !== undefined && files.length !== 1) {
    throw new CliError(EXIT.usage, '--vm names one VM: give exactly one FILE with it');
  }
  // Read every file first: a typo in the 40th name should not leave 39 VMs imported.
  const sources = await Promise.all(
    files.map(async (file) => {
      try {
        return await readFile(file, 'utf8');
      } catch (error) {
        throw new CliError(EXIT.usage, `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? error}`);
      }
    }),
  );

  const bar = progressBar(files.length, options.json === true);
  const jobs = files.map((file, index) => ({ file, source: sources[index] ?? '', index }));
  const outcomes: ImportOutcome[] = new Array(files.length);
  const worker = async () => {
    for (let job = jobs.shift(); job !== undefined; job = jobs.shift()) {
      outcomes[job.index] = await importOne(client, job.file, job.source, options);
      bar?.increment(1, { file: basename(job.file) });
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency, files.length) }, worker));
  bar?.stop();

  if (options.json) printJson(outcomes.map(({ error: _error, ...outcome }) => outcome));
  else printSummary(outcomes);
  return outcomes.every((o) => o.error === undefined) ? EXIT.ok : EXIT.refused;
}

async function importOne(client: Client, file: string, source: string, options: ImportOptions) {
  const vm = options.vm ?? vmIdOf(file);
  const format = options.format ?? detectFormat(source);
  try {
    const body = await client.json<unknown>('POST', '/v1/vm-imports', { vm, format, source });
    return { file, vm, format, status: 201, body };
  } catch (error) {
    if (!(error instanceof HttpError)) throw error;
    return { file, vm, format, status: error.problem.status, body: error.problem, error: error.message };
  }
}

/** A bar on stderr while files go, only for a person at a terminal. */
function progressBar(total: number, json: boolean): SingleBar | undefined {
  if (json || total < 2 || !process.stderr.isTTY) return undefined;
  const bar = new SingleBar({
    format: 'importing [{bar}] {value}/{total} {file}',
    stream: process.stderr,
    hideCursor: true,
    clearOnComplete: true,
  });
  bar.start(total, 0, { file: '' });
  return bar;
}

/** The 201 of POST /v1/vm-imports: the VM's representation with the report and the events appended. */
interface ImportAnswer {
  devices?: unknown[];
  events?: unknown[];
  report?: { ignored?: unknown[] };
}

function printSummary(outcomes: ImportOutcome[]): void {
  printTable(
    ['file', 'vm', 'format', 'result', 'devices', 'events', 'ignored'],
    outcomes.map((o) => {
      if (o.error !== undefined) {
        const problem = o.body as { code?: string; detail?: string };
        return [o.file, o.vm, o.format, `${o.status} ${problem.code ?? ''}`.trim(), '', '', problem.detail ?? ''];
      }
      const answer = o.body as ImportAnswer;
      return [
        o.file,
        o.vm,
        o.format,
        'created',
        answer.devices?.length ?? '',
        answer.events?.length ?? '',
        answer.report?.ignored?.length ?? 0,
      ];
    }),
  );
  const failed = outcomes.filter((o) => o.error !== undefined);
  process.stdout.write(`${outcomes.length - failed.length} imported, ${failed.length} refused\n`);
  for (const o of failed) process.stderr.write(`doorbell: ${o.file}: ${o.error}\n`);
}
