// Loading the VM a request names, now or as of a version, with the 404s a client should see.

import { DomainError } from '../domain/errors.js';
import type { VmState } from '../domain/topology/types.js';
import type { Services } from './services.js';

export async function loadVm(services: Services, vmId: string, asOf?: number): Promise<VmState> {
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
