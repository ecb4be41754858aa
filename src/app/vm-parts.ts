// Reading one part of a VM (a bus, an SMMU, a device, a mapping, a programmed vector), now or as of a
// version, with the 404 a client should see when the part is not there.

import { DomainError } from '../domain/errors.js';
import { getDevice, getSmmu } from '../domain/topology/decide.js';
import type { Bus, Device, Mapping, MsiVector, Smmu, Stage, VmState } from '../domain/topology/types.js';
import { loadVm } from './load-vm.js';
import type { Services } from './services.js';

type Vms = Pick<Services, 'vms'>;

export async function loadBus(services: Vms, vmId: string, busId: string, asOf?: number) {
  const state = await loadVm(services, vmId, asOf);
  const bus = state.buses.get(busId);
  if (bus === undefined) throw new DomainError('BUS_NOT_FOUND', `bus ${busId} does not exist in VM ${state.id}`);
  return { state, bus } satisfies { state: VmState; bus: Bus };
}

export async function loadDevice(services: Vms, vmId: string, deviceId: string, asOf?: number) {
  const state = await loadVm(services, vmId, asOf);
  return { state, device: getDevice(state, deviceId) } satisfies { state: VmState; device: Device };
}

export async function loadSmmu(services: Vms, vmId: string, smmuId: string, asOf?: number) {
  const state = await loadVm(services, vmId, asOf);
  return { state, smmu: getSmmu(state, smmuId) } satisfies { state: VmState; smmu: Smmu };
}

export async function loadMapping(
  services: Vms,
  vmId: string,
  deviceId: string,
  stage: Stage,
  iova: bigint,
  asOf?: number,
  /** The iova as the client wrote it, for the message. */
  given: string = `${iova}`,
) {
  const { state, device } = await loadDevice(services, vmId, deviceId, asOf);
  const mapping = device.mappings[stage].at(iova);
  if (mapping === undefined)
    throw new DomainError('MAPPING_NOT_FOUND', `no stage-${stage} mapping of device ${deviceId} starts at ${given}`);
  return { state, mapping: mapping.value } satisfies { state: VmState; mapping: Mapping };
}

export async function loadVector(services: Vms, vmId: string, deviceId: string, vector: number, asOf?: number) {
  const { state, device } = await loadDevice(services, vmId, deviceId, asOf);
  const found = device.vectors.get(vector);
  if (found === undefined)
    throw new DomainError(
      'VECTOR_NOT_FOUND',
      `vector ${vector} of device ${deviceId} is not programmed in VM ${state.id}`,
    );
  return { state, vector: found } satisfies { state: VmState; vector: MsiVector };
}
