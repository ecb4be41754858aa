// Loading the VM a request names, now or as of a version, with the 404s a client should see; and
// a page of the VMs there are.

import { DomainError } from '../domain/errors.js';
import type { VmState } from '../domain/topology/types.js';
import type { StreamListOptions, StreamStatus } from '../db/port.js';
import type { Services } from './services.js';

export async function loadVm(services: Pick<Services, 'vms'>, vmId: string, asOf?: number): Promise<VmState> {
  const latest = await services.vms.load(vmId);
  if (latest === undefined) throw new DomainError('VM_NOT_FOUND', `VM ${vmId} does not exist`);
  if (asOf === undefined) return latest;
  const state = await services.vms.loadAsOf(vmId, asOf);
  if (state === undefined) {
    throw new DomainError(
      'VERSION_NOT_FOUND',
      `asOf: VM ${vmId} has versions 1 to ${latest.version}, not ${asOf}`,
      '/asOf',
    );
  }
  return state;
}

/** A page of VMs (in service, decommissioned or all) as of their latest events, and how many there are. */
export async function listVms(
  services: Services,
  page: { limit: number; offset: number; status: StreamStatus } & Omit<StreamListOptions, 'status'>,
): Promise<{ states: VmState[]; total: number }> {
  const { limit, offset, ...options } = page;
  const streams = await services.stores.events.streams(limit, offset, options);
  const states = await Promise.all(streams.map((s) => services.vms.load(s.streamId)));
  const total = await services.stores.events.streamCount(page.status);
  return { states: states.filter((state): state is VmState => state !== undefined), total };
}
