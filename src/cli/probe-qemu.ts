// doorbell probe-qemu [BINARY]: asks a QEMU binary what it is (--version, then QMP query-version
// and device-list-properties arm-smmuv3 under -machine none), classifies the answers by §10 and
// says what the build can create; with --vm, declares them on that VM (PUT /v1/vms/{vm}/qemu).
// The classification runs here, without the service: the same domain code the service runs.

import { execFile } from 'node:child_process';
import {
  CAPABILITY_RULES,
  type CapabilityAnswer,
  capabilitiesOf,
  QEMU_CAPABILITIES,
} from '../domain/qemu-build/capabilities.js';
import { classifyQemuBuild, type QemuBuildClassification } from '../domain/qemu-build/classify.js';
import { parseQemuDeclaration } from '../domain/qemu-build/declaration.js';
import { QemuBuildInputError } from '../domain/qemu-build/input-error.js';
import type { Client } from './client.js';
import { CliError, EXIT } from './exit-codes.js';
import { printJson, printTable } from './output.js';
import { type QmpAnswer, qmpSession, QmpSessionError } from './qmp.js';

export const DEFAULT_QEMU_BINARY = 'qemu-system-aarch64';

export interface ProbeOptions {
  vm?: string;
  /** Seconds for each of the two runs (--version, the QMP session). */
  timeout: number;
  json?: boolean;
}

/** The `qemu` object of the contract: what the binary said, in the forms the service reads. */
export interface ProbedDeclaration {
  versionText: string;
  queryVersion?: unknown;
  smmuProperties?: unknown[];
}

/**
 * Runs the binary twice (--version, the QMP session) and answers the declaration with its
 * classification; a binary that cannot be run, hangs or does not answer as QEMU does throws a
 * CliError. `doorbell sync --probe-qemu` calls it once per distinct <emulator>.
 */
export async function probeDeclaration(
  binary: string,
  timeoutMs: number,
): Promise<{ qemu: ProbedDeclaration; classification: QemuBuildClassification }> {
  const versionText = await versionTextOf(binary, timeoutMs);
  const session = await qmpSession(
    binary,
    [{ execute: 'query-version' }, { execute: 'device-list-properties', arguments: { typename: 'arm-smmuv3' } }],
    timeoutMs,
  ).catch((error: unknown) => {
    throw error instanceof QmpSessionError ? new CliError(EXIT.refused, error.message) : error;
  });
  const [version, properties] = session.answers as [QmpAnswer, QmpAnswer];
  const qemu = declarationOf(versionText, version, properties);
  try {
    return { qemu, classification: classifyQemuBuild(parseQemuDeclaration(qemu)) };
  } catch (error) {
    if (error instanceof QemuBuildInputError)
      throw new CliError(EXIT.refused, `${binary} does not answer as QEMU does: ${error.message}`);
    throw error;
  }
}

/**
 * The binary to probe when none is given: with --vm, the one the VM's import named (its first
 * event's metadata.importedFrom.emulator), else qemu-system-aarch64 on PATH.
 */
async function binaryFor(client: () => Client, vm: string | undefined): Promise<string> {
  if (vm === undefined) return DEFAULT_QEMU_BINARY;
  const first = await client().json<{ results: { metadata?: { importedFrom?: { emulator?: string } } }[] }>(
    'GET',
    `/v1/vms/${encodeURIComponent(vm)}/events?limit=1`,
  );
  return first.results[0]?.metadata?.importedFrom?.emulator ?? DEFAULT_QEMU_BINARY;
}

export async function probeQemu(
  client: () => Client,
  given: string | undefined,
  options: ProbeOptions,
): Promise<number> {
  const binary = given ?? (await binaryFor(client, options.vm));
  const { qemu, classification } = await probeDeclaration(binary, options.timeout * 1000);
  const capabilities = capabilitiesOf(classification);
  const declared =
    options.vm === undefined
      ? null
      : await client().json<{ id: string; version: number; qemu: unknown }>(
          'PUT',
          `/v1/vms/${encodeURIComponent(options.vm)}/qemu`,
          qemu,
        );

  if (options.json) {
    printJson({
      binary,
      qemu,
      classification,
      capabilities: QEMU_CAPABILITIES.map((c) => ({ ...capabilities[c], since: CAPABILITY_RULES[c].since })),
      declared: declared === null ? null : { vm: declared.id, version: declared.version, qemu: declared.qemu },
    });
    return EXIT.ok;
  }
  printTable(['build', binary], buildRows(classification));
  printTable(
    ['capability', 'creates', 'since', 'basis'],
    QEMU_CAPABILITIES.map((c) => [c, canText(capabilities[c]), CAPABILITY_RULES[c].since, capabilities[c].basis]),
  );
  if (declared !== null)
    process.stdout.write(
      `declared on VM ${declared.id} (PUT /v1/vms/${declared.id}/qemu), now at version ${declared.version}\n`,
    );
  return EXIT.ok;
}

/** `BINARY --version`, bounded like the session. */
function versionTextOf(binary: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(binary, ['--version'], { timeout: timeoutMs, killSignal: 'SIGKILL' }, (error, stdout, stderr) => {
      if (error === null) return resolve(stdout);
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'EACCES')
        return reject(new CliError(EXIT.usage, `cannot run ${binary}: ${code} (give the path of a QEMU binary)`));
      if (error.killed)
        return reject(
          new CliError(EXIT.refused, `${binary} --version gave no answer within ${timeoutMs / 1000} s; killed it`),
        );
      reject(
        new CliError(EXIT.refused, `${binary} --version failed: ${(stderr || error.message).trim().split('\n')[0]}`),
      );
    });
  });
}

/**
 * The answers as a declaration. device-list-properties fails with DeviceNotFound on a build
 * without any arm-smmuv3 type: that is evidence too, declared as an empty property list. Any other
 * error leaves the properties out (nothing is known of them).
 */
export function declarationOf(versionText: string, version: QmpAnswer, properties: QmpAnswer): ProbedDeclaration {
  const qemu: ProbedDeclaration = { versionText: versionText.trim() };
  if (version.error === undefined) qemu.queryVersion = version.return;
  if (properties.error === undefined && Array.isArray(properties.return)) qemu.smmuProperties = properties.return;
  else if (properties.error?.class === 'DeviceNotFound') qemu.smmuProperties = [];
  return qemu;
}

const canText = (answer: CapabilityAnswer) => (answer.can === null ? 'unknown' : answer.can ? 'yes' : 'no');

function buildRows(build: QemuBuildClassification): string[][] {
  const rows = [
    ['version', `${build.version ?? 'unknown'}${build.sources.version ? ` (from ${build.sources.version})` : ''}`],
    ['package', build.package ?? '(none)'],
    ['behaviour', build.behaviour],
    ['rule', `${build.rule}: ${build.basis}`],
    [
      'arm-smmuv3 properties',
      build.smmuProperties === null ? '(not probed)' : build.smmuProperties.join(' ') || '(no arm-smmuv3)',
    ],
  ];
  for (const conflict of build.conflicts)
    rows.push([
      `conflict (${conflict.field})`,
      `${conflict.used.value} from ${conflict.used.from}; ignored ${conflict.ignored.map((i) => `${i.value} from ${i.from}`).join(', ')}`,
    ]);
  return rows;
}
