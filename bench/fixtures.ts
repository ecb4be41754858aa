// Topologies for the benchmarks, built through the domain (no HTTP): the S10 accel VM and an
// emulated VM whose device has many stage-1 mappings.

import type autocannon from 'autocannon';
import type { Services } from '../src/app/services';
import type { Command } from '../src/domain/topology/types';

export const S10_VM = 's10';

export const S10_COMMANDS: Command[] = [
  { type: 'DefineVm', vmId: S10_VM, ramSize: 0x1_0000_0000n, hostItsBase: 0x2_0210_0000n },
  { type: 'AddBus', busId: 'pcie.1', busType: 'pxb-pcie', busNr: 1 },
  { type: 'AddSmmu', smmuId: 'smmuv3.0', primaryBus: 'pcie.1', accel: true },
  { type: 'AddBus', busId: 'pcie.port1', busType: 'pcie-root-port', bus: 'pcie.1', secondaryBusNr: 2 },
  {
    type: 'AttachDevice',
    deviceId: 'hostdev0',
    driver: 'vfio-pci',
    bus: 'pcie.port1',
    slot: 0,
    host: '0019:06:00.0',
    iommufd: 'iommufd0',
  },
  { type: 'MapIova', deviceId: 'hostdev0', stage: 1, iova: 0xffff_f000n, output: 0x0809_0000n, size: 0x1000n },
  { type: 'MapIova', deviceId: 'hostdev0', stage: 1, iova: 0x0800_0000n, output: 0x0800_0000n, size: 0x10_0000n },
  { type: 'ProgramMsiVector', deviceId: 'hostdev0', vector: 0, address: 0xffff_f040n, data: 0n },
];

/** An emulated VM (§5 baseline) whose device has `count` 4 KiB stage-1 mappings; vector 0 hits the doorbell page. */
export function* emulatedWithMappings(vmId: string, count: number): Generator<Command> {
  yield { type: 'DefineVm', vmId, ramSize: 0x1_0000_0000n };
  yield { type: 'AddSmmu', smmuId: 'smmuv3.0', primaryBus: 'pcie.0' };
  yield { type: 'SetSmmuGuestState', smmuId: 'smmuv3.0', changes: { streamTableLog2Size: 8 } };
  yield { type: 'AttachDevice', deviceId: 'net0', driver: 'virtio-net-pci', bus: 'pcie.0', slot: 2 };
  for (let i = 0n; i < BigInt(count - 1); i++) {
    yield {
      type: 'MapIova',
      deviceId: 'net0',
      stage: 1,
      iova: 0x1_0000_0000n + i * 0x1000n,
      output: 0x4000_0000n + (i % 0x10000n) * 0x1000n,
      size: 0x1000n,
    };
  }
  yield { type: 'MapIova', deviceId: 'net0', stage: 1, iova: 0xffff_f000n, output: 0x0809_0000n, size: 0x1000n };
  yield { type: 'ProgramMsiVector', deviceId: 'net0', vector: 0, address: 0xffff_f040n, data: 0n };
}

/** The command benchmark's VMs: one emulated device each, whose vectors the load programs. */
export const COMMAND_VMS = 50;

export function commandVm(i: number): Command[] {
  const vmId = `cmd${i}`;
  return [
    { type: 'DefineVm', vmId },
    { type: 'AttachDevice', deviceId: 'net0', driver: 'virtio-net-pci', bus: 'pcie.0', slot: 2 },
  ];
}

/**
 * A VM of a fleet: the S10 topology with `vectors` programmed vectors, half at the mapped doorbell
 * page (0xFFFFF040) and half at an unmapped gIOVA (0xFFFFE040), on the QEMU build given.
 */
export function* fleetVm(vmId: string, vectors: number, qemu?: object): Generator<Command> {
  yield { type: 'DefineVm', vmId, ramSize: 0x1_0000_0000n, hostItsBase: 0x2_0210_0000n, qemu };
  for (const command of S10_COMMANDS.slice(1, -1)) yield command;
  for (let v = 0; v < vectors; v++) {
    const address = v % 2 === 0 ? 0xffff_f040n : 0xffff_e040n;
    yield { type: 'ProgramMsiVector', deviceId: 'hostdev0', vector: v, address, data: BigInt(v) };
  }
}

/** The S10 VM and the COMMAND_VMS VMs of the command benchmarks, one append each. */
export async function seedBenchVms(services: Services): Promise<void> {
  const metadata = { occurredAt: new Date().toISOString(), actor: 'bench', requestId: 'bench' };
  await services.vms.executeAll(S10_VM, S10_COMMANDS, { metadata });
  for (let i = 0; i < COMMAND_VMS; i++) await services.vms.executeAll(`cmd${i}`, commandVm(i), { metadata });
}

/**
 * PUT msi-vectors on VMs cmd<first>..cmd<first+count-1>, one connection per VM: each connection
 * programs vector after vector of its own VM, one MsiVectorProgrammed event a request.
 */
export function programVectorsOn(url: string, first: number, count: number): autocannon.Options {
  let nextVm = 0;
  return {
    url,
    connections: count,
    requests: [
      {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        setupRequest: (request, context: { vm?: number; vector?: number }) => {
          context.vm ??= first + (nextVm++ % count);
          context.vector = ((context.vector ?? -1) + 1) % 2048;
          return {
            ...request,
            path: `/v1/vms/cmd${context.vm}/devices/net0/msi-vectors/${context.vector}`,
            body: JSON.stringify({ address: '0x8090040', data: `0x${context.vector.toString(16)}` }),
          };
        },
      },
    ],
  };
}
