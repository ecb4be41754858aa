// MSI doorbell resolutions and sweeps: resolve against the VM's state (now or as of a version),
// keep each answer as an immutable record, durably, before it is given. Records are the exact
// bytes returned, so a later read returns them byte for byte.

import { randomUUID } from 'node:crypto';
import { chooseSemantics } from '../domain/qemu-build/semantics.js';
import type { MsiRequest, Resolution, Semantics } from '../domain/resolve/types.js';
import { qemuBuildOf } from '../domain/topology/decide.js';
import type { VmState } from '../domain/topology/types.js';
import type { RecordWrite } from '../db/record-writer/index.js';
import type { Stores } from '../db/stores.js';
import type { StoredResponse } from '../db/idempotency-store.js';
import { ServiceError } from '../errors/problem.js';
import { type Answer, type IdempotencyClaim, priorAnswer } from './idempotency.js';
import { pictureUrls, resolutionPath, sweepPath } from './links.js';
import { loadVm } from './load-vm.js';
import { recordJson, resolveToJson } from './resolution-cache.js';

/** How a client names the MSI: a programmed vector, or an address and data. */
export interface MsiQuestion {
  device: string;
  vector?: number;
  address?: bigint;
  data?: bigint;
}

export interface ResolveRequest {
  vmId: string;
  msi: MsiQuestion;
  /** Absent: the VM's declared build picks it (contract v1.2). */
  semantics?: Semantics;
  asOf?: number;
  idempotency?: IdempotencyClaim;
  /** Where absolute links point (the record's picture). */
  baseUrl: string;
}

export interface SweepRequest {
  vmId: string;
  semantics?: Semantics;
  asOf?: number;
  idempotency?: IdempotencyClaim;
  baseUrl: string;
}

export interface RouteRequest {
  vmId: string;
  device: string;
  vector: number;
  semantics?: Semantics;
  asOf?: number;
  baseUrl: string;
}

/** Exactly one of the two ways to name the MSI. */
function msiRequestOf(question: MsiQuestion): MsiRequest {
  const byVector = question.vector !== undefined;
  const byAddress = question.address !== undefined || question.data !== undefined;
  if (byVector === byAddress) {
    throw new ServiceError('VALIDATION_FAILED', 'give either vector, or address and data (not both, not neither)', {
      errors: [{ pointer: byVector ? '/vector' : '', detail: 'give either vector, or address and data' }],
    });
  }
  if (byAddress && (question.address === undefined || question.data === undefined)) {
    const [missing, other] = question.address === undefined ? ['address', 'data'] : ['data', 'address'];
    throw new ServiceError('VALIDATION_FAILED', `${missing} is required with ${other}`, {
      errors: [{ pointer: `/${missing}`, detail: `${missing} is required` }],
    });
  }
  return { deviceId: question.device, vector: question.vector, address: question.address, data: question.data };
}

export function countsOf(results: Resolution[]) {
  return {
    vectors: results.length,
    misroutedBeforeFix: results.filter((r) => r.comparison.misroutedBeforeFix).length,
    missingBeforeFix: results.filter((r) => r.comparison.missingBeforeFix).length,
    routesMissing: results.filter((r) => !r.route.installed).length,
    interruptsLost: results.filter((r) => r.diagnostics.some((d) => d.code === 'INTERRUPTS_LOST')).length,
    // delivered: null means unknown (no hostItsBase, §9.10): not blocked.
    hwPathBlocked: results.filter((r) => r.hardwarePath?.delivered === false).length,
  };
}

/** Every programmed vector of the VM, devices by id, vectors by number. */
export function programmedVectors(state: VmState): MsiRequest[] {
  return [...state.devices.values()]
    .sort((a, b) => a.id.localeCompare(b.id))
    .flatMap((device) =>
      [...device.vectors.keys()].sort((a, b) => a - b).map((vector) => ({ deviceId: device.id, vector })),
    );
}

/**
 * Stores the records (and the answer under the Idempotency-Key) durably, then answers. A
 * concurrent request with the same key may win the race to store it: then its answer is the one.
 */
export async function storeThenAnswer(
  stores: Stores,
  claim: IdempotencyClaim | undefined,
  response: StoredResponse,
  write: RecordWrite,
  createdAt: string,
): Promise<Answer> {
  try {
    await stores.records.write({
      ...write,
      idempotency: claim === undefined ? undefined : { ...claim, response, createdAt },
    });
  } catch (error) {
    const prior = priorAnswer(stores, claim);
    if (prior === undefined) throw error;
    return prior;
  }
  return { ...response, replayed: false };
}

export async function resolveMsi(stores: Stores, request: ResolveRequest): Promise<Answer> {
  const prior = priorAnswer(stores, request.idempotency);
  if (prior !== undefined) return prior;
  const msi = msiRequestOf(request.msi);
  const state = loadVm(stores, request.vmId, request.asOf);
  const id = randomUUID();
  const body = recordJson(
    id,
    request.vmId,
    resolveToJson(state, msi, request.semantics),
    pictureUrls.resolution(request.baseUrl, id),
  );
  const createdAt = new Date().toISOString();
  const response = { status: 201, headers: { location: resolutionPath(id) }, body };
  return storeThenAnswer(
    stores,
    request.idempotency,
    response,
    { resolutions: [{ id, vmId: request.vmId, sweepId: null, body, createdAt }] },
    createdAt,
  );
}

export async function sweepVm(stores: Stores, request: SweepRequest): Promise<Answer> {
  const prior = priorAnswer(stores, request.idempotency);
  if (prior !== undefined) return prior;
  const { vmId } = request;
  const state = loadVm(stores, vmId, request.asOf);
  const { semantics, source } = chooseSemantics(qemuBuildOf(state), request.semantics);
  const createdAt = new Date().toISOString();
  const resolved = programmedVectors(state).map((msi) => resolveToJson(state, msi, request.semantics));
  const records = resolved.map((r) => {
    const id = randomUUID();
    const body = recordJson(id, vmId, r, pictureUrls.resolution(request.baseUrl, id));
    return { id, vmId, sweepId: null as string | null, body, createdAt };
  });
  const id = randomUUID();
  const head = JSON.stringify({
    id,
    vm: vmId,
    asOfVersion: state.version,
    semantics,
    semanticsSource: source,
    counts: countsOf(resolved.map((r) => r.resolution)),
    results: [],
  });
  // The resolutions are spliced in as they are stored, so each stays byte for byte its record.
  const body = `${head.slice(0, -2)}${records.map((r) => r.body).join(',')}]}`;
  const response = { status: 201, headers: { location: sweepPath(id) }, body };
  const write = { sweep: { id, vmId, body, createdAt }, resolutions: records.map((r) => ({ ...r, sweepId: id })) };
  return storeThenAnswer(stores, request.idempotency, response, write, createdAt);
}

/**
 * The live route of a programmed vector (contract v1.1): the body of a record without its id,
 * nothing stored. The ETag names the VM version and the semantics asked for ("declared" when the
 * VM's build picks it), the two things the answer is a function of.
 */
export function liveRoute(stores: Stores, request: RouteRequest): { json: string; version: number; etag: string } {
  const state = loadVm(stores, request.vmId, request.asOf);
  const msi = { deviceId: request.device, vector: request.vector };
  const picture = pictureUrls.route(request.baseUrl, request.vmId, request.device, request.vector, {
    semantics: request.semantics,
    asOf: request.asOf,
  });
  const json = recordJson(undefined, request.vmId, resolveToJson(state, msi, request.semantics), picture);
  return { json, version: state.version, etag: routeEtag(state.version, request.semantics) };
}

export const routeEtag = (version: number, semantics: Semantics | undefined) =>
  `"${version}-${semantics ?? 'declared'}"`;

/** A stored resolution or sweep, byte for byte; 404 when there is none. */
export function storedResolution(stores: Stores, id: string): string {
  const body = stores.resolutions.findResolution(id);
  if (body === undefined) throw new ServiceError('RESOLUTION_NOT_FOUND', `no MSI resolution ${id}`);
  return body;
}

export function storedSweep(stores: Stores, id: string): string {
  const body = stores.resolutions.findSweep(id);
  if (body === undefined) throw new ServiceError('SWEEP_NOT_FOUND', `no MSI sweep ${id}`);
  return body;
}
