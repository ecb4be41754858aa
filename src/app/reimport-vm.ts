// POST /v1/vms/{vm}/imports (issue 20): a command line or a libvirt domain read again into the VM
// it describes. The source is imported as a fresh VM would be (the same parsers and rules, on no
// store), compared with the VM (diffTopology), and the commands that turn one into the other
// (commandsToReach) are appended as one conditional change, each event's metadata naming the
// source. The same source twice appends nothing; a dry run appends nothing and answers the same
// plan. What the source does not state (the host's ITS base, the guest's RMR handling, the
// declared QEMU build and guest profile) stays as the VM has it.

import type { EventMetadata } from '../db/port.js';
import type { Precondition } from './vm-repository.js';
import type { Services } from './services.js';
import { bigintsToHex } from '../domain/address.js';
import { DomainError } from '../domain/errors.js';
import type { Semantics } from '../domain/resolve/types.js';
import { CommandListError, decideAll } from '../domain/topology/decide-all.js';
import { type Change, diffTopology } from '../domain/topology/diff.js';
import { fold } from '../domain/topology/evolve.js';
import { commandsToReach } from '../domain/topology/reshape.js';
import type { Command, GicVersion, RecordedEvent, VmState } from '../domain/topology/types.js';
import { etagOf, preconditionFailed, ServiceError } from '../errors/problem.js';
import { planImport } from '../interchange/draft.js';
import { describeAt, type ImportFormat, InterchangeError } from '../interchange/report.js';
import { executeCommand } from './execute-command.js';
import { type Answer, type IdempotencyClaim, priorAnswer } from './idempotency.js';
import { PARSERS, refuseGicVersionOnCommandLine, sha256Of } from './import-vm.js';
import { loadVm } from './load-vm.js';
import { type RouteChange, routeChanges } from './route-changes.js';

export interface ReimportRequest {
  vmId: string;
  format: ImportFormat;
  source: string;
  dryRun?: boolean;
  busNumbers?: Record<string, number>;
  gicVersion?: GicVersion;
  precondition?: Precondition;
  idempotency?: IdempotencyClaim;
  metadata: EventMetadata;
}

/** What a re-import answers (before `version` and `events`, which the append adds). */
export interface ReimportPlan {
  vm: string;
  dryRun: boolean;
  changes: Change[];
  routes: RouteChange[];
}

/** The VM's state after `commands`, decided on `state` as an append would (numbered after it). */
function applied(state: VmState | undefined, commands: readonly Command[]): VmState | undefined {
  let version = state?.version ?? 0;
  const events = decideAll(commands, state).map((e) => {
    version += 1;
    return { ...e, position: version, streamVersion: version } as RecordedEvent;
  });
  return fold(events, state);
}

/**
 * The VM the source describes, built as POST /v1/vm-imports would build it, with what the source
 * does not state taken from the VM. A rule the source breaks is reported at its part.
 */
export function importedTopology(
  current: VmState,
  request: Pick<ReimportRequest, 'format' | 'source' | 'busNumbers' | 'gicVersion'>,
): VmState {
  refuseGicVersionOnCommandLine(request);
  // A libvirt domain that leaves the GIC to the host: the host the VM already runs on.
  const gicVersion = request.gicVersion ?? (request.format === 'libvirt-xml' ? current.board.gicVersion : undefined);
  const draft = PARSERS[request.format](request.source, { gicVersion });
  const plan = planImport(current.id, draft, request.busNumbers);
  const [define, ...rest] = plan.commands;
  if (define?.type !== 'DefineVm') throw new Error('an import plan starts with DefineVm');
  const kept: Command = {
    ...define,
    hostItsBase: current.board.hostItsBase ?? undefined,
    rmrHonoured: current.board.rmrHonoured,
    ...(current.qemu === null ? {} : { qemu: current.qemu.declared }),
    ...(current.guest === null ? {} : { guest: current.guest.declared }),
  };
  try {
    return applied(undefined, [kept, ...rest])!;
  } catch (error) {
    if (!(error instanceof CommandListError)) throw error;
    const at = plan.at[error.index] ?? null;
    const part = plan.report.parts.find((p) => JSON.stringify(p.at) === JSON.stringify(at));
    throw new InterchangeError(
      error.code,
      `${describeAt(at)}${part === undefined ? '' : ` (${part.text})`}: ${error.message}`,
      at,
    );
  }
}

/** The re-import computed on the VM's state: the changes, the commands, and what they do to routes. */
export function planReimport(current: VmState, request: ReimportRequest, semantics?: Semantics) {
  const target = importedTopology(current, request);
  const changes = diffTopology(current, target);
  const commands = commandsToReach(current, target);
  const after = commands.length === 0 ? current : applied(current, commands)!;
  return { changes, commands, routes: routeChanges(current, after, semantics) };
}

function satisfied(precondition: Precondition | undefined, version: number): boolean {
  if (precondition === undefined) return true;
  return 'exists' in precondition ? version > 0 : precondition.versions.includes(version);
}

/** A plan made on one version is appended only on that version; another writer in between: plan again. */
const MAX_PLANS = 4;

export async function reimportVm(services: Services, request: ReimportRequest): Promise<Answer> {
  const { stores } = services;
  if (!request.dryRun) {
    const prior = await priorAnswer(stores, request.idempotency);
    if (prior !== undefined) return prior;
  }
  const sha256 = sha256Of(request.source);
  for (let attempt = 1; ; attempt += 1) {
    const current = await loadVm(services, request.vmId);
    if (current.decommissioned !== null)
      throw new DomainError(
        'VM_DECOMMISSIONED',
        `VM ${current.id} was decommissioned (event ${current.decommissioned.position}): it takes no more imports`,
      );
    if (!satisfied(request.precondition, current.version)) throw preconditionFailed(current.id, current.version);
    const plan = planReimport(current, request);
    const body: ReimportPlan = {
      vm: current.id,
      dryRun: request.dryRun === true,
      changes: plan.changes,
      routes: plan.routes,
    };
    if (request.dryRun) {
      return {
        status: 200,
        headers: { etag: etagOf(current.version) },
        body: JSON.stringify(bigintsToHex({ ...body, version: current.version, events: [] })),
        replayed: false,
      };
    }
    try {
      return await executeCommand(services, {
        vmId: current.id,
        command: plan.commands,
        status: 200,
        represent: () => ({ body }),
        // The plan holds for the version it was made on, whatever If-Match allowed.
        precondition: { versions: [current.version] },
        idempotency: request.idempotency,
        metadata: { ...request.metadata, importedFrom: { format: request.format, sha256 } },
      });
    } catch (error) {
      const stale = error instanceof ServiceError && error.code === 'PRECONDITION_FAILED';
      // The client's own If-Match named this version: another writer got there first, a 412 for it.
      const clientPinned = request.precondition !== undefined && !('exists' in request.precondition);
      if (!stale || clientPinned || attempt >= MAX_PLANS) throw error;
    }
  }
}
