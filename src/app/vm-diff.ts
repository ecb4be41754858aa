// GET /v1/vms/{vm}/diff and diff.svg (issue 20): what changed in a VM between two versions. The
// parts added, removed and changed (diffTopology, the comparison a re-import makes), each with
// the positions of the events between the two versions that touched it, and the programmed
// vectors whose route changed.

import type { StoredEvent } from '../db/port.js';
import type { Stores } from '../db/port.js';
import type { Services } from './services.js';
import { SEMANTICS, type Semantics } from '../domain/resolve/types.js';
import { type Change, diffTopology, type PartKind } from '../domain/topology/diff.js';
import type { VmState } from '../domain/topology/types.js';
import { ServiceError } from '../errors/problem.js';
import type { DiffTreeNode } from '../pictures/diff-picture.js';
import { queryOf, vmPath } from './links.js';
import { loadVm } from './load-vm.js';
import { type RouteChange, routeChanges } from './route-changes.js';

export interface DiffRequest {
  vmId: string;
  from?: number;
  to?: number;
  /** One semantics for both sides, 'all' for each in turn; absent: each side's declared build picks. */
  semantics?: Semantics | 'all';
  baseUrl: string;
}

export interface VmDiff {
  vm: string;
  from: number;
  to: number;
  changes: (Change & { events: number[] })[];
  routes: RouteChange[];
  picture: string;
}

/** The part of the topology an event touches (the guest state events touch none: their effect is in the routes). */
function partOf(event: StoredEvent): { kind: PartKind; id: string } | undefined {
  const d = event.data as Record<string, unknown>;
  switch (event.type) {
    case 'VmDefined':
    case 'BoardChanged':
      return { kind: 'board', id: event.streamId };
    case 'QemuBuildDeclared':
      return { kind: 'qemu', id: event.streamId };
    case 'GuestProfileDeclared':
      return { kind: 'guest', id: event.streamId };
    case 'BusAdded':
    case 'BusRemoved':
      return { kind: 'bus', id: d.busId as string };
    case 'SmmuAdded':
    case 'SmmuRemoved':
    case 'SmmuAccelModeChanged':
      return { kind: 'smmu', id: d.smmuId as string };
    case 'DeviceAttached':
    case 'DeviceDetached':
      return { kind: 'device', id: d.deviceId as string };
    default:
      return undefined;
  }
}

/** Each change with the positions of the events (after `from`, up to `to`) that touched its part. */
export function attributeChanges(changes: readonly Change[], events: readonly StoredEvent[]) {
  const touched = new Map<string, number[]>();
  for (const event of events) {
    const part = partOf(event);
    if (part === undefined) continue;
    const key = `${part.kind}\u0000${part.id}`;
    touched.set(key, [...(touched.get(key) ?? []), event.position]);
  }
  return changes.map((c) => ({ ...c, events: touched.get(`${c.kind}\u0000${c.id}`) ?? [] }));
}

/**
 * The topology both versions make up together, for the picture: every bus, SMMU and device of
 * either side under its parent bus (as the newer side has it, else the older), each marked with
 * what happened to it. Depth-first from pcie.0, parts by id.
 */
export function diffTree(before: VmState | undefined, after: VmState, changes: readonly Change[]): DiffTreeNode[] {
  const op = new Map(changes.map((c) => [`${c.kind}\u0000${c.id}`, c.op]));
  const nodes: Omit<DiffTreeNode, 'depth'>[] = [];
  const seen = new Set<string>();
  const take = (kind: DiffTreeNode['kind'], id: string, parent: string | null, label: string) => {
    if (seen.has(`${kind}\u0000${id}`)) return;
    seen.add(`${kind}\u0000${id}`);
    nodes.push({ kind, id, parent, label, op: op.get(`${kind}\u0000${id}`) });
  };
  for (const state of [after, before]) {
    if (state === undefined) continue;
    for (const bus of state.buses.values())
      take(
        'bus',
        bus.id,
        bus.parent,
        bus.type === 'pcie-root' ? 'root complex, bus 0' : `${bus.type}, bus ${bus.number}`,
      );
    for (const smmu of state.smmus.values())
      take('smmu', smmu.id, smmu.primaryBus, `SMMUv3 stage ${smmu.stage}${smmu.accel.value ? ', accel=on' : ''}`);
    for (const device of state.devices.values())
      take(
        'device',
        device.id,
        device.bus,
        `${device.driver} ${device.slot.toString(16).padStart(2, '0')}.${device.function}${device.host === null ? '' : ` host ${device.host}`}`,
      );
  }
  const order = { smmu: 0, bus: 1, device: 2 } as const;
  const children = (parent: string) =>
    nodes
      .filter((n) => n.parent === parent && !(n.kind === 'bus' && n.id === parent))
      .sort((a, b) => order[a.kind] - order[b.kind] || a.id.localeCompare(b.id));
  const tree: DiffTreeNode[] = [];
  const walk = (node: Omit<DiffTreeNode, 'depth'>, depth: number) => {
    tree.push({ ...node, depth });
    if (node.kind === 'bus') for (const child of children(node.id)) walk(child, depth + 1);
  };
  const root = nodes.find((n) => n.kind === 'bus' && n.parent === null);
  if (root !== undefined) walk(root, 0);
  return tree;
}

function badQuery(field: 'from' | 'to', detail: string): ServiceError {
  return new ServiceError('VALIDATION_FAILED', `${field}: ${detail}`, {
    errors: [{ pointer: `/query/${field}`, detail, in: 'query' }],
  });
}

/**
 * The version before the last change: the last change is the events of the VM's last request
 * (they share its requestId: an import or a re-import appends many in one change). Read from the
 * end, a window at a time, so a long history is not read for it.
 */
async function beforeLastChange(stores: Stores, vmId: string, to: number): Promise<number> {
  let first = to;
  let requestId: string | undefined;
  for (let window = 64; ; window *= 4) {
    const after = Math.max(0, first - window);
    const events = await stores.events.readStream(vmId, { afterVersion: after, toVersion: first });
    for (const event of events.reverse()) {
      requestId ??= event.metadata.requestId;
      if (event.metadata.requestId !== requestId) return event.streamVersion;
      first = event.streamVersion - 1;
    }
    if (after === 0 || events.length === 0) return first;
  }
}

async function stateAt(services: Services, vmId: string, version: number, latest: VmState) {
  if (version === 0) return undefined;
  return version === latest.version ? latest : services.vms.loadAsOf(vmId, version);
}

export const diffEtag = (from: number, to: number, semantics: string | undefined) =>
  `"${from}-${to}-${semantics ?? 'declared'}"`;

export async function vmDiff(
  services: Services,
  request: DiffRequest,
): Promise<{ diff: VmDiff; etag: string; tree: DiffTreeNode[] }> {
  const { stores } = services;
  const latest = await loadVm(services, request.vmId);
  const to = request.to ?? latest.version;
  if (to < 1 || to > latest.version)
    throw badQuery('to', `VM ${latest.id} has versions 1 to ${latest.version}, not ${to}`);
  if (request.from !== undefined && request.from > to)
    throw badQuery('from', `${request.from} is after to (${to}); from is the older version (0: before the VM existed)`);
  const from = request.from ?? (await beforeLastChange(stores, request.vmId, to));
  // The events that made the changes: those after from, up to to.
  const events = await stores.events.readStream(request.vmId, { afterVersion: from, toVersion: to });
  const before = await stateAt(services, request.vmId, from, latest);
  const after = (await stateAt(services, request.vmId, to, latest))!;
  const changes = attributeChanges(diffTopology(before, after), events);
  const semantics = request.semantics === 'all' ? SEMANTICS : [request.semantics];
  const routes = semantics.flatMap((s) => routeChanges(before, after, s));
  const picture = `${request.baseUrl}${vmPath(latest.id)}/diff.svg${queryOf({ from, to, semantics: request.semantics })}`;
  return {
    diff: { vm: latest.id, from, to, changes, routes, picture },
    etag: diffEtag(from, to, request.semantics),
    tree: diffTree(before, after, changes),
  };
}
