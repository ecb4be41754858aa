// Fleet sweeps (contract v1.2): every programmed vector of every VM (or of those named) resolved
// under the VM's own QEMU behaviour and under a target build's, counted, and judged per VM. The
// record is compact (counts and verdicts, no resolution), kept durably before it is answered, and
// read back byte for byte; its results are paged like a list.

import { randomUUID } from 'node:crypto';
import { fleetReasonOf, type VectorSources, vectorSourcesOf } from '../domain/fleet/reason.js';
import { FLEET_VERDICTS, fleetCountsOf, fleetVerdictOf, type FleetVerdict } from '../domain/fleet/verdict.js';
import { withGuestProfile } from '../domain/guest/implied.js';
import { classifyQemuBuild, type QemuBuildClassification } from '../domain/qemu-build/classify.js';
import { parseQemuDeclaration } from '../domain/qemu-build/declaration.js';
import type { QemuBehaviour } from '../domain/qemu-build/rules.js';
import { chooseSemantics, describeBuild } from '../domain/qemu-build/semantics.js';
import type { Resolution, Semantics } from '../domain/resolve/types.js';
import { qemuBuildOf } from '../domain/topology/decide.js';
import type { VmState } from '../domain/topology/types.js';
import { virtioIommuOf } from '../domain/translation/topology-facts.js';
import { DomainError } from '../domain/errors.js';
import type { Stores } from '../db/port.js';
import type { Services } from './services.js';
import { ServiceError } from '../errors/problem.js';
import { type Answer, type IdempotencyClaim, priorAnswer } from './idempotency.js';
import { fleetSweepPath, pictureUrls } from './links.js';
import { programmedVectors, storeThenAnswer } from './resolve-msi.js';
import { resolveOnce } from './resolution-cache.js';

export const DEFAULT_TARGET = { version: '11.0.0' };
export const DEFAULT_PAGE_SIZE = 50;
const QEMU_BEHAVIOURS: QemuBehaviour[] = ['upstream', 'address-space', 'none', 'unknown'];
/** VMs swept between two turns of the event loop, so that other requests are served meanwhile. */
const VMS_PER_TURN = 25;

export interface FleetSweepRequest {
  /** The target build as the client sent it (a qemu object); default 11.0.0. */
  target?: unknown;
  /** The VMs to sweep; all when absent. */
  vm?: string[];
  /** Results in the answer's first page. */
  limit?: number;
  idempotency?: IdempotencyClaim;
  baseUrl: string;
}

const buildJson = (c: QemuBuildClassification) => ({
  version: c.version,
  package: c.package,
  smmuProperties: c.smmuProperties,
  behaviour: c.behaviour,
  rule: c.rule,
  basis: c.basis,
});

interface VmResult {
  vm: string;
  version: number;
  qemu: { version: string | null; package: string | null; behaviour: QemuBehaviour; rule: string };
  behaviour: QemuBehaviour;
  /** The semantics the counts were made with (upstream when the behaviour is none or unknown). */
  semantics: Semantics;
  counts: ReturnType<typeof fleetCountsOf>;
  countsUnderTarget: ReturnType<typeof fleetCountsOf>;
  verdict: FleetVerdict;
  /** What the verdict rests on, in words: the build when its behaviour is none or unknown, and the vectors judged (or why there were none). */
  reason: string;
  /** Where the vectors counted came from: recorded, or assumed from the guest profile. */
  vectorsFrom: VectorSources;
  /** Which IOMMU the VM has, so that a virtio-iommu VM is never read as one without an IOMMU. */
  iommu: { kind: 'none' | 'smmuv3' | 'virtio-iommu'; ids: string[] };
}

function iommuOf(state: VmState): VmResult['iommu'] {
  const viommu = virtioIommuOf(state);
  if (viommu !== undefined) return { kind: 'virtio-iommu', ids: [viommu.id] };
  const smmus = [...state.smmus.keys()].sort();
  return smmus.length > 0 ? { kind: 'smmuv3', ids: smmus } : { kind: 'none', ids: [] };
}

/** One VM, under its own behaviour and the target's; a vector is resolved once when they are the same. */
export function sweepOneVm(state: VmState, targetSemantics: Semantics): VmResult {
  const build = qemuBuildOf(state);
  const own = chooseSemantics(build).semantics;
  const vectors = programmedVectors(state);
  const underOwn: Resolution[] = vectors.map((msi) => resolveOnce(state, msi, own));
  const underTarget =
    own === targetSemantics ? underOwn : vectors.map((msi) => resolveOnce(state, msi, targetSemantics));
  const counts = fleetCountsOf(underOwn);
  const countsUnderTarget = fleetCountsOf(underTarget);
  const verdict = fleetVerdictOf(build.behaviour, counts.interruptsLost, countsUnderTarget.interruptsLost);
  const sources = vectorSourcesOf(withGuestProfile(state));
  const reasonOf = { state, build, verdict, own, target: targetSemantics, counts, countsUnderTarget, sources };
  return {
    vm: state.id,
    version: state.version,
    qemu: { version: build.version, package: build.package, behaviour: build.behaviour, rule: build.rule },
    behaviour: build.behaviour,
    semantics: own,
    counts,
    countsUnderTarget,
    verdict,
    reason: fleetReasonOf(reasonOf),
    vectorsFrom: sources,
    iommu: iommuOf(state),
  };
}

function targetOf(input: unknown): { classification: QemuBuildClassification; semantics: Semantics } {
  const classification = classifyQemuBuild(parseQemuDeclaration(input ?? DEFAULT_TARGET, '/target'));
  const { behaviour } = classification;
  if (behaviour !== 'upstream' && behaviour !== 'address-space')
    throw new ServiceError(
      'TARGET_QEMU_BUILD_UNUSABLE',
      `target: ${describeBuild(classification)} has behaviour ${behaviour} (${classification.basis}); a target must be a build whose MSI behaviour is known, upstream or address-space`,
      { errors: [{ pointer: '/target', detail: `target has behaviour ${behaviour}` }] },
    );
  return { classification, semantics: behaviour };
}

/** The VMs to sweep, by id; every one named must exist. */
async function vmIdsOf(stores: Stores, named: string[] | undefined): Promise<string[]> {
  if (named === undefined)
    return (await stores.events.streams(Number.MAX_SAFE_INTEGER, 0, { status: 'active' })).map((s) => s.streamId);
  const versions = await Promise.all(named.map((id) => stores.events.version(id)));
  versions.forEach((version, i) => {
    if (version === 0) throw new DomainError('VM_NOT_FOUND', `vm: VM ${named[i]} does not exist`, `/vm/${i}`);
  });
  return [...new Set(named)].sort();
}

const zeroes = <K extends string>(keys: readonly K[]) =>
  Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;

/** The JSON of one page: the head, the paging of the results, the results of the page. */
function pageJson(
  head: object,
  results: readonly string[],
  limit: number,
  offset: number,
  link: (o: number) => string,
) {
  const paging = JSON.stringify({
    count: results.length,
    next: offset + limit < results.length ? link(offset + limit) : null,
    previous: offset > 0 ? link(Math.max(0, offset - limit)) : null,
  });
  const headJson = JSON.stringify(head);
  return `${headJson.slice(0, -1)},${paging.slice(1, -1)},"results":[${results.slice(offset, offset + limit).join(',')}]}`;
}

const pageLink = (baseUrl: string, id: string, limit: number) => (offset: number) =>
  `${baseUrl}${fleetSweepPath(id)}?limit=${limit}&offset=${offset}`;

export async function fleetSweep(services: Services, request: FleetSweepRequest): Promise<Answer> {
  const { stores } = services;
  const prior = await priorAnswer(stores, request.idempotency);
  if (prior !== undefined) return prior;
  const target = targetOf(request.target);
  const ids = await vmIdsOf(stores, request.vm);
  const results: VmResult[] = [];
  for (let i = 0; i < ids.length; i++) {
    if (i > 0 && i % VMS_PER_TURN === 0) await new Promise<void>((done) => setImmediate(done));
    const state = await services.vms.load(ids[i]!);
    if (state !== undefined) results.push(sweepOneVm(state, target.semantics));
  }
  const byBehaviour = zeroes(QEMU_BEHAVIOURS);
  const byVerdict = zeroes(FLEET_VERDICTS);
  for (const r of results) {
    byBehaviour[r.behaviour]++;
    byVerdict[r.verdict]++;
  }
  const id = randomUUID();
  const createdAt = new Date().toISOString();
  const head = {
    id,
    picture: pictureUrls.fleetSweep(request.baseUrl, id),
    target: buildJson(target.classification),
    createdAt,
    totals: {
      vms: results.length,
      vectors: results.reduce((n, r) => n + r.counts.vectors, 0),
      byBehaviour,
      byVerdict,
      // Issue 19: a VM with nothing to judge is counted apart, whatever its verdict says.
      vmsWithoutVectors: results.filter((r) => r.counts.vectors === 0).length,
      vectorsFrom: {
        recorded: results.reduce((n, r) => n + r.vectorsFrom.recorded, 0),
        assumed: results.reduce((n, r) => n + r.vectorsFrom.assumed, 0),
      },
    },
  };
  const resultJson = results.map((r) => JSON.stringify(r));
  const limit = request.limit ?? DEFAULT_PAGE_SIZE;
  const body = pageJson(head, resultJson, limit, 0, pageLink(request.baseUrl, id, limit));
  const response = { status: 201, headers: { location: fleetSweepPath(id) }, body };
  const write = { resolutions: [], fleetSweep: { id, body, results: `[${resultJson.join(',')}]`, createdAt } };
  return storeThenAnswer(stores, request.idempotency, response, write, createdAt);
}

async function stored(stores: Stores, id: string) {
  const record = await stores.resolutions.findFleetSweep(id);
  if (record === undefined) throw new ServiceError('FLEET_SWEEP_NOT_FOUND', `no fleet sweep ${id}`);
  return record;
}

/**
 * A stored fleet sweep. Without a page asked for: the JSON first returned, byte for byte. With
 * limit or offset: that page of its results, under the same head, linked on `baseUrl`.
 */
export async function storedFleetSweep(
  stores: Stores,
  id: string,
  page: { limit?: number; offset?: number; baseUrl: string },
): Promise<string> {
  const record = await stored(stores, id);
  if (page.limit === undefined && page.offset === undefined) return record.body;
  const head = headOf(record.body);
  const results = (JSON.parse(record.results) as unknown[]).map((r) => JSON.stringify(r));
  const limit = page.limit ?? DEFAULT_PAGE_SIZE;
  return pageJson(head, results, limit, page.offset ?? 0, pageLink(page.baseUrl, id, limit));
}

/** Fleet sweeps as first returned, oldest first (newest first when `descending`), and how many there are. */
export function listFleetSweeps(
  stores: Pick<Stores, 'resolutions'>,
  page: { limit: number; offset: number; descending: boolean },
): Promise<{ bodies: string[]; total: number }> {
  return stores.resolutions.listFleetSweeps(page.limit, page.offset, page.descending);
}

/** The whole sweep (every result), as the fleet picture reads it. */
export async function fleetSweepWhole(
  stores: Stores,
  id: string,
): Promise<Record<string, unknown> & { results: unknown[] }> {
  const record = await stored(stores, id);
  const head = headOf(record.body);
  return { ...head, results: JSON.parse(record.results) as unknown[] };
}

/** A fleet sweep's answer without its page: what every page of it repeats. */
function headOf(body: string): Record<string, unknown> {
  const { count: _c, next: _n, previous: _p, results: _r, ...head } = JSON.parse(body) as Record<string, unknown>;
  return head;
}
