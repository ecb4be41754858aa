// POST /v1/vm-imports: a command line or a libvirt domain -> the VM's commands, decided in order
// and appended as one change through the command writer (all events or none), each event's
// metadata naming the source (format and SHA-256). A rule a command breaks is reported at the
// part of the source the command came from.

import { createHash } from 'node:crypto';
import type { EventMetadata } from '../db/port.js';
import type { Services } from './services.js';
import type { Executed, Precondition } from './vm-repository.js';
import { CommandListError } from '../domain/topology/decide-all.js';
import type { Command, GicVersion } from '../domain/topology/types.js';
import { planImport, type Draft } from '../interchange/draft.js';
import { type HostAssumptions, parseLibvirtXml } from '../interchange/libvirt-xml/parse.js';
import { parseQemuCmdline } from '../interchange/qemu-cmdline/parse.js';
import { describeAt, type ImportFormat, type ImportReport, InterchangeError } from '../interchange/report.js';
import { executeCommand } from './execute-command.js';
import type { Answer, IdempotencyClaim } from './idempotency.js';

export interface ImportRequest {
  vmId: string;
  format: ImportFormat;
  source: string;
  busNumbers?: Record<string, number>;
  /** libvirt-xml: the host's GIC version, for a domain that leaves it to the host. */
  gicVersion?: GicVersion;
  /** The QEMU build the VM runs (the v1.2 object), declared in the same append. */
  qemu?: unknown;
  /** The guest profile (contract v1.3), declared in the same append. */
  guest?: unknown;
  represent: (executed: Executed, report: ImportReport & { sha256: string }) => { body: object; location: string };
  precondition?: Precondition;
  idempotency?: IdempotencyClaim;
  metadata: EventMetadata;
}

export const PARSERS: Record<ImportFormat, (source: string, host: HostAssumptions) => Draft> = {
  'qemu-cmdline': (source) => parseQemuCmdline(source),
  'libvirt-xml': parseLibvirtXml,
};

export function sha256Of(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * The build and the guest profile go with the DefineVm the plan starts with, so that decide
 * appends QemuBuildDeclared and GuestProfileDeclared right after VmDefined: each later part is
 * then checked against the build (an accel SMMU on a build without accel is refused at its
 * -device), and everything is one append.
 */
function withDeclarations(commands: Command[], request: Pick<ImportRequest, 'qemu' | 'guest'>): Command[] {
  const [first, ...rest] = commands;
  if (first?.type !== 'DefineVm' || (request.qemu === undefined && request.guest === undefined)) return commands;
  const qemu = request.qemu === undefined ? {} : { qemu: request.qemu };
  const guest = request.guest === undefined ? {} : { guest: request.guest };
  return [{ ...first, ...qemu, ...guest }, ...rest];
}

/** Each event's metadata.importedFrom: the source's format and hash, and the binary it names (a name, not a build). */
const importedFrom = (format: ImportFormat, sha256: string, emulator: string | undefined) =>
  emulator === undefined ? { format, sha256 } : { format, sha256, emulator };

/** `gicVersion` fills in what a libvirt domain leaves to the host; a command line names its GIC itself. */
export function refuseGicVersionOnCommandLine(request: { format: ImportFormat; gicVersion?: unknown }): void {
  if (request.gicVersion !== undefined && request.format !== 'libvirt-xml')
    throw new InterchangeError(
      'VALIDATION_FAILED',
      'gicVersion: only a libvirt domain leaves the GIC version to the host; a command line names it (-machine gic-version)',
      null,
      '/gicVersion',
    );
}

export async function importVm(services: Services, request: ImportRequest): Promise<Answer> {
  const sha256 = sha256Of(request.source);
  refuseGicVersionOnCommandLine(request);
  const draft = PARSERS[request.format](request.source, { gicVersion: request.gicVersion });
  const plan = planImport(request.vmId, draft, request.busNumbers);
  const report = { ...plan.report, sha256 };
  try {
    return await executeCommand(services, {
      vmId: request.vmId,
      command: withDeclarations(plan.commands, request),
      status: 201,
      represent: (executed) => request.represent(executed, report),
      precondition: request.precondition,
      idempotency: request.idempotency,
      metadata: { ...request.metadata, importedFrom: importedFrom(request.format, sha256, report.emulator?.binary) },
    });
  } catch (error) {
    if (!(error instanceof CommandListError)) throw error;
    if (error.code === 'VM_EXISTS')
      throw new InterchangeError(error.code, `vm: VM ${request.vmId} already exists`, null, '/vm');
    const at = plan.at[error.index] ?? null;
    const part = plan.report.parts.find((p) => JSON.stringify(p.at) === JSON.stringify(at));
    throw new InterchangeError(
      error.code,
      `${describeAt(at)}${part === undefined ? '' : ` (${part.text})`}: ${error.message}`,
      at,
    );
  }
}
