// MSI doorbell resolutions and sweeps: resolve against the VM's state (now or as of a version),
// keep each answer as an immutable record, durably, before it is given. Records are the exact
// bytes returned, so a later read returns them byte for byte.

import { randomUUID } from 'node:crypto';
import { recordText, sweepText } from '../db/shared/record-text.js';
import type {
  ListedRecord,
  RecordFilter,
  RecordOrder,
  RecordWrite,
  ResolutionRecordRow,
  Stores,
  StoredResponse,
} from '../db/port.js';
import type { Services } from './services.js';
import { withGuestProfile } from '../domain/guest/implied.js';
import { chooseSemantics } from '../domain/qemu-build/semantics.js';
import type { MsiRequest, Resolution, Semantics } from '../domain/resolve/types.js';
import { qemuBuildOf } from '../domain/topology/decide.js';
import type { VmState } from '../domain/topology/types.js';
import { ServiceError } from '../errors/problem.js';
import { type Answer, type IdempotencyClaim, priorAnswer } from './idempotency.js';
import { pictureUrls, resolutionPath, sweepPath } from './links.js';
import { loadVm } from './load-vm.js';
import { page } from './paging.js';
import { answerOnce, type Resolved, resolveToJson } from './resolution-cache.js';

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

/**
 * A sweep answers one page of its results, the lists' default unless the query asks for another
 * (contract v1.3, "Edges"); `next` and GET of the sweep page the rest.
 */
export const DEFAULT_SWEEP_PAGE = 50;

export interface SweepRequest {
  vmId: string;
  semantics?: Semantics;
  /** The page of results the answer holds (the query's limit and offset). */
  limit: number;
  offset: number;
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

/**
 * Every programmed vector of the VM, devices by id, vectors by number; a device with none
 * recorded has those its guest profile implies (issue 19).
 */
export function programmedVectors(state: VmState): MsiRequest[] {
  return [...withGuestProfile(state).devices.values()]
    .sort((a, b) => a.id.localeCompare(b.id))
    .flatMap((device) =>
      [...device.vectors.keys()].sort((a, b) => a - b).map((vector) => ({ deviceId: device.id, vector })),
    );
}

/** A new resolution record: its JSON as answered, and the row that stores it (the body shared by hash). */
function recordOf(vmId: string, resolved: Resolved, sweepId: string | null, createdAt: string, baseUrl: string) {
  const id = randomUUID();
  const picture = pictureUrls.resolution(baseUrl, id);
  const row: ResolutionRecordRow = {
    id,
    vmId,
    sweepId,
    bodyHash: resolved.hash,
    resolution: resolved.json,
    picture,
    createdAt,
    device: resolved.resolution.device,
    semantics: resolved.resolution.semantics,
    installed: resolved.resolution.route.installed ? 1 : 0,
    misroutedBeforeFix: resolved.resolution.comparison.misroutedBeforeFix ? 1 : 0,
  };
  return { id, text: recordText(id, vmId, resolved.json, picture), row };
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
    const prior = await priorAnswer(stores, claim);
    if (prior === undefined) throw error;
    return prior;
  }
  return { ...response, replayed: false };
}

export async function resolveMsi(services: Services, request: ResolveRequest): Promise<Answer> {
  const { stores } = services;
  const prior = await priorAnswer(stores, request.idempotency);
  if (prior !== undefined) return prior;
  const msi = msiRequestOf(request.msi);
  const state = await loadVm(services, request.vmId, request.asOf);
  const createdAt = new Date().toISOString();
  const resolved = resolveToJson(state, msi, request.semantics);
  const record = recordOf(request.vmId, resolved, null, createdAt, request.baseUrl);
  const response = { status: 201, headers: { location: resolutionPath(record.id) }, body: record.text };
  return storeThenAnswer(stores, request.idempotency, response, { resolutions: [record.row] }, createdAt);
}

export async function sweepVm(services: Services, request: SweepRequest): Promise<Answer> {
  const { stores } = services;
  const prior = await priorAnswer(stores, request.idempotency);
  if (prior !== undefined) return prior;
  const { vmId } = request;
  const state = await loadVm(services, vmId, request.asOf);
  const { semantics, source } = chooseSemantics(qemuBuildOf(state), request.semantics);
  const createdAt = new Date().toISOString();
  const id = randomUUID();
  const resolved = programmedVectors(state).map((msi) => resolveToJson(state, msi, request.semantics));
  const records = resolved.map((r) => recordOf(vmId, r, id, createdAt, request.baseUrl));
  const counts = countsOf(resolved.map((r) => r.resolution));
  const head = JSON.stringify({ id, vm: vmId, asOfVersion: state.version, semantics, semanticsSource: source, counts });
  // The answer is the sweep's first page, exactly as GET of its Location reads it: the records
  // are spliced in as they are stored, so each stays byte for byte its record; the sweep's own
  // record keeps only the head.
  const { limit, offset } = request;
  const texts = records.slice(offset, offset + limit).map((r) => r.text);
  const body = sweepPageText(head, texts, records.length, sweepPath(id), limit, offset);
  const response = { status: 201, headers: { location: sweepPageLocation(id, limit, offset) }, body };
  const sweep = {
    id,
    vmId,
    head,
    createdAt,
    semantics,
    misroutedBeforeFix: counts.misroutedBeforeFix,
    routesMissing: counts.routesMissing,
  };
  const write = { sweep, resolutions: records.map((r) => r.row) };
  return storeThenAnswer(stores, request.idempotency, response, write, createdAt);
}

/**
 * The live route of a programmed vector (contract v1.1): the body of a record without its id,
 * nothing stored. The ETag names the VM version and the semantics asked for ("declared" when the
 * VM's build picks it), the two things the answer is a function of.
 */
export async function liveRoute(
  services: Services,
  request: RouteRequest,
): Promise<{ json: string; bytes: Buffer; version: number; etag: string }> {
  const state = await loadVm(services, request.vmId, request.asOf);
  const msi = { deviceId: request.device, vector: request.vector };
  const picture = pictureUrls.route(request.baseUrl, request.vmId, request.device, request.vector, {
    semantics: request.semantics,
    asOf: request.asOf,
  });
  // The picture's URL names everything the answer depends on besides the state: the VM, the
  // vector, the semantics asked for, asOf and the base URL.
  const { json, bytes } = answerOnce(state, picture, () =>
    recordText(undefined, request.vmId, resolveToJson(state, msi, request.semantics).json, picture),
  );
  return { json, bytes, version: state.version, etag: routeEtag(state.version, request.semantics) };
}

export const routeEtag = (version: number, semantics: Semantics | undefined) =>
  `"${version}-${semantics ?? 'declared'}"`;

/** Where GET reads the page a sweep answered: its path, with the page when it is not the default. */
function sweepPageLocation(id: string, limit: number, offset: number): string {
  const query = [
    ...(limit === DEFAULT_SWEEP_PAGE ? [] : [`limit=${limit}`]),
    ...(offset === 0 ? [] : [`offset=${offset}`]),
  ];
  return query.length === 0 ? sweepPath(id) : `${sweepPath(id)}?${query.join('&')}`;
}

/**
 * A page of resolution or sweep records that pass the filter, in the order asked for, and how many
 * pass it. `ofVm`: the records of one VM, which must exist (404), decommissioned or not.
 */
export async function listRecords(
  services: Pick<Services, 'stores' | 'vms'>,
  kind: 'resolutions' | 'sweeps',
  filter: RecordFilter,
  order: RecordOrder<'created'>,
  page: { limit: number; offset: number; ofVm?: boolean },
): Promise<{ records: ListedRecord[]; total: number }> {
  if (page.ofVm === true && filter.vm !== undefined) await loadVm(services, filter.vm);
  const { stores } = services;
  return kind === 'resolutions'
    ? stores.resolutions.listResolutionRecords(filter, order, page.limit, page.offset)
    : stores.resolutions.listSweepRecords(filter, order, page.limit, page.offset);
}

/** A stored resolution or sweep, byte for byte; 404 when there is none. */
export async function storedResolution(stores: Stores, id: string): Promise<string> {
  const body = await stores.resolutions.findResolution(id);
  if (body === undefined) throw new ServiceError('RESOLUTION_NOT_FOUND', `no MSI resolution ${id}`);
  return body;
}

/** A stored sweep with one page of its results; a sweep stored before paging, whole. */
export async function storedSweep(
  stores: Pick<Stores, 'resolutions'>,
  id: string,
  limit = DEFAULT_SWEEP_PAGE,
  offset = 0,
): Promise<string> {
  const stored = await stores.resolutions.findSweep(id, limit, offset);
  if (stored === undefined) throw new ServiceError('SWEEP_NOT_FOUND', `no MSI sweep ${id}`);
  if ('whole' in stored) return stored.whole;
  return sweepPageText(stored.head, stored.records, stored.total, sweepPath(id), limit, offset);
}

function sweepPageText(
  head: string,
  records: string[],
  total: number,
  path: string,
  limit: number,
  offset: number,
): string {
  // Relative links, as the sweep's first answer (stored byte for byte) gave them.
  const { count, next, previous } = page(records, total, limit, offset, { url: path, query: {} });
  return sweepText(head, { count, next, previous, records });
}
