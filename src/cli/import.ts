// doorbell import FILE...: each file is one VM (its id is the file's name without extension, or
// --vm for a single file), sent to POST /v1/vm-imports in the format its text shows. The build
// and the guest profile go with it (issue 19): --qemu-version declares a version by hand,
// --probe-qemu asks the binary itself (the one the source names, or the one given) as
// `doorbell probe-qemu` does; --guest-profile and --guest-vectors declare what the guest programs.

import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { SingleBar } from 'cli-progress';
import { binaryNamedBy } from '../interchange/named-binary.js';
import { type Client, HttpError } from './client.js';
import { CliError, EXIT } from './exit-codes.js';
import { printJson, printTable } from './output.js';
import { DEFAULT_QEMU_BINARY, type ProbedDeclaration, probeDeclaration } from './probe-qemu.js';

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
  /** Declare this QEMU version with each VM (`qemu: {version}`). */
  qemuVersion?: string;
  /** Probe the binary each source names (true) or this one, and declare what it answers. */
  probeQemu?: boolean | string;
  /** Seconds each probe run may take. */
  probeTimeout?: number;
  guestProfile?: string;
  /** Per device id, the vectors its guest driver allocates (`dev0=3,dev1=2`). */
  guestVectors?: Record<string, number>;
}

/** `dev0=3,dev1=2` -> {dev0: 3, dev1: 2}; the service checks the ids and the counts. */
export function parseGuestVectors(text: string, previous: Record<string, number> = {}): Record<string, number> {
  const vectors = { ...previous };
  for (const pair of text.split(',')) {
    const match = /^([^=]+)=(\d+)$/.exec(pair.trim());
    if (match === null) throw new CliError(EXIT.usage, `--guest-vectors: "${pair}" is not DEVICE=COUNT`);
    vectors[match[1]!] = Number(match[2]);
  }
  return vectors;
}

/** The binary to probe for a source: the one given, else the one the source names, else qemu-system-aarch64. */
const binaryToProbe = (option: boolean | string, format: ImportFormat, source: string) =>
  typeof option === 'string' ? option : (binaryNamedBy(format, source) ?? DEFAULT_QEMU_BINARY);

/** The build of each binary, probed once whatever the number of files that name it. */
async function probeAll(binaries: string[], timeoutSeconds: number): Promise<Map<string, ProbedDeclaration>> {
  const builds = new Map<string, ProbedDeclaration>();
  for (const binary of new Set(binaries)) {
    const { qemu, classification } = await probeDeclaration(binary, timeoutSeconds * 1000);
    builds.set(binary, qemu);
    if (classification.behaviour === 'unknown')
      process.stderr.write(`doorbell: ${binary}: its MSI behaviour is unknown (${classification.basis})\n`);
  }
  return builds;
}

/** The request's qemu and guest, from the options. */
function declarations(options: ImportOptions, probed: ProbedDeclaration | undefined): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (probed !== undefined) body.qemu = probed;
  else if (options.qemuVersion !== undefined) body.qemu = { version: options.qemuVersion };
  if (options.guestProfile !== undefined)
    body.guest = {
      profile: options.guestProfile,
      ...(options.guestVectors === undefined ? {} : { vectors: options.guestVectors }),
    };
  return body;
}

export async function importFiles(client: Client, files: string[], options: ImportOptions): Promise<number> {
  if (options.vm !== undefined && files.length !== 1) {
    throw new CliError(EXIT.usage, '--vm names one VM: give exactly one FILE with it');
  }
  if (options.probeQemu !== undefined && options.qemuVersion !== undefined)
    throw new CliError(EXIT.usage, '--probe-qemu and --qemu-version both declare the build: give one');
  if (options.guestVectors !== undefined && options.guestProfile === undefined)
    throw new CliError(EXIT.usage, '--guest-vectors needs --guest-profile');
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

  // Probe before sending anything: a binary that cannot be run should not leave half a lab imported.
  const formats = files.map((_, i) => options.format ?? detectFormat(sources[i] ?? ''));
  const binaries =
    options.probeQemu === undefined
      ? []
      : files.map((_, i) => binaryToProbe(options.probeQemu!, formats[i]!, sources[i] ?? ''));
  const builds = await probeAll(binaries, options.probeTimeout ?? 10);

  const bar = progressBar(files.length, options.json === true);
  const jobs = files.map((file, index) => ({
    file,
    source: sources[index] ?? '',
    index,
    declared: declarations(options, builds.get(binaries[index] ?? '')),
  }));
  const outcomes: ImportOutcome[] = new Array(files.length);
  const worker = async () => {
    for (let job = jobs.shift(); job !== undefined; job = jobs.shift()) {
      outcomes[job.index] = await importOne(client, job, options);
      bar?.increment(1, { file: basename(job.file) });
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency, files.length) }, worker));
  bar?.stop();

  if (options.json) printJson(outcomes.map(({ error: _error, ...outcome }) => outcome));
  else printSummary(outcomes);
  return outcomes.every((o) => o.error === undefined) ? EXIT.ok : EXIT.refused;
}

async function importOne(
  client: Client,
  { file, source, declared }: { file: string; source: string; declared: Record<string, unknown> },
  options: ImportOptions,
) {
  const vm = options.vm ?? vmIdOf(file);
  const format = options.format ?? detectFormat(source);
  try {
    const body = await client.json<unknown>('POST', '/v1/vm-imports', { vm, format, source, ...declared });
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
  qemu?: { version: string | null; behaviour: string; rule: string };
  guest?: { profile: string } | null;
  report?: { ignored?: unknown[]; emulator?: { binary: string } | null };
}

const buildText = (qemu: ImportAnswer['qemu']) =>
  qemu === undefined ? '' : `${qemu.version ?? 'none declared'} (${qemu.behaviour})`;

function printSummary(outcomes: ImportOutcome[]): void {
  printTable(
    ['file', 'vm', 'format', 'result', 'devices', 'events', 'ignored', 'qemu', 'guest'],
    outcomes.map((o) => {
      if (o.error !== undefined) {
        const problem = o.body as { code?: string; detail?: string };
        return [
          o.file,
          o.vm,
          o.format,
          `${o.status} ${problem.code ?? ''}`.trim(),
          '',
          '',
          problem.detail ?? '',
          '',
          '',
        ];
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
        buildText(answer.qemu),
        answer.guest?.profile ?? '',
      ];
    }),
  );
  const failed = outcomes.filter((o) => o.error !== undefined);
  process.stdout.write(`${outcomes.length - failed.length} imported, ${failed.length} refused\n`);
  // A VM without a build is judged unknown-build by a fleet sweep: say which binary would tell.
  for (const o of outcomes) {
    const answer = o.body as ImportAnswer;
    // Q8: nothing declared.
    if (o.error !== undefined || answer.qemu?.rule !== 'Q8') continue;
    const binary = answer.report?.emulator?.binary ?? DEFAULT_QEMU_BINARY;
    process.stdout.write(
      `${o.vm}: no QEMU build declared; the source names ${binary}: doorbell probe-qemu ${binary} --vm ${o.vm} (or import with --probe-qemu)\n`,
    );
  }
  for (const o of failed) process.stderr.write(`doorbell: ${o.file}: ${o.error}\n`);
}
