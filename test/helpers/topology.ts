// Builders for the topologies of the domain reference's scenarios, through the HTTP API.

import { expect } from 'vitest';
import type { TestApp } from './test-app';

type Json = Record<string, unknown>;

/** Sends one command and insists it was accepted: a scenario's setup must not fail quietly. */
export async function command(t: TestApp, method: 'post' | 'put' | 'delete', path: string, body?: Json) {
  const request = t.http[method](path);
  const response = body === undefined ? await request : await request.send(body);
  expect(response.status, `${method.toUpperCase()} ${path} -> ${JSON.stringify(response.body)}`).toBeLessThan(300);
  return response;
}

/** §5 emulated baseline: 4G RAM, arm-smmuv3 on pcie.0, virtio-net-pci at 00:02.0 (SID 0x0010), LOG2SIZE=8. */
export async function emulatedBaseline(t: TestApp, vm: string, smmu: Json = {}, device = 'net0') {
  await command(t, 'post', '/v1/vms', { id: vm, ramSize: '0x100000000' });
  await command(t, 'post', `/v1/vms/${vm}/smmus`, { id: 'smmuv3.0', primaryBus: 'pcie.0', ...smmu });
  await command(t, 'put', `/v1/vms/${vm}/smmus/smmuv3.0/guest-state`, { streamTableLog2Size: 8 });
  await command(t, 'post', `/v1/vms/${vm}/devices`, { id: device, driver: 'virtio-net-pci', bus: 'pcie.0', slot: 2 });
}

/** S10: accel SMMU on pxb-pcie bus 1, vfio-pci behind pcie.port1 whose secondary bus is 2 (SID 0x0200). */
export async function acceleratedS10(
  t: TestApp,
  vm: string,
  options: {
    ramSize?: string;
    hostItsBase?: string | null;
    rmrHonoured?: boolean;
    identityWindow?: boolean;
    qemu?: Json;
  } = {},
) {
  const hostItsBase = options.hostItsBase === undefined ? '0x202100000' : options.hostItsBase;
  await command(t, 'post', '/v1/vms', {
    id: vm,
    ramSize: options.ramSize ?? '0x100000000',
    ...(hostItsBase === null ? {} : { hostItsBase }),
    ...(options.rmrHonoured === undefined ? {} : { rmrHonoured: options.rmrHonoured }),
    ...(options.qemu === undefined ? {} : { qemu: options.qemu }),
  });
  await command(t, 'post', `/v1/vms/${vm}/buses`, { id: 'pcie.1', type: 'pxb-pcie', busNr: 1, bus: 'pcie.0' });
  await command(t, 'post', `/v1/vms/${vm}/smmus`, { id: 'smmuv3.0', primaryBus: 'pcie.1', accel: true, oas: 48 });
  await command(t, 'post', `/v1/vms/${vm}/buses`, {
    id: 'pcie.port1',
    type: 'pcie-root-port',
    bus: 'pcie.1',
    secondaryBusNr: 2,
  });
  await command(t, 'post', `/v1/vms/${vm}/devices`, {
    id: 'hostdev0',
    driver: 'vfio-pci',
    bus: 'pcie.port1',
    slot: 0,
    host: '0019:06:00.0',
    iommufd: 'iommufd0',
  });
  // The guest's stage 1: the doorbell page at 0xFFFFF000, and the RMR identity window.
  await command(t, 'post', `/v1/vms/${vm}/devices/hostdev0/mappings`, {
    stage: 1,
    iova: '0xFFFFF000',
    output: '0x08090000',
    size: '0x1000',
  });
  if (options.identityWindow !== false) {
    await command(t, 'post', `/v1/vms/${vm}/devices/hostdev0/mappings`, {
      stage: 1,
      iova: '0x08000000',
      output: '0x08000000',
      size: '0x100000',
    });
  }
  await command(t, 'put', `/v1/vms/${vm}/devices/hostdev0/msi-vectors/0`, { address: '0xFFFFF040', data: '0x0' });
}
