// A fleet sweep's entry for one VM (issue 19, "the fleet view answers"): the verdict stays the
// contract's, and the reason and vectorsFrom say what it rests on. Each expected text is derived
// in the comments from the guest profile's rules (src/domain/guest/implied.ts) and §10.

import { describe, expect, it } from 'vitest';
import { sweepOneVm } from '../../src/app/fleet-sweep';
import { replay } from '../../src/domain/topology/replay';
import type { Command, VmState } from '../../src/domain/topology/types';

const given = (...commands: Command[]): VmState => replay(commands)!;
const defineVm = (extra: Partial<Extract<Command, { type: 'DefineVm' }>> = {}): Command => ({
  type: 'DefineVm',
  vmId: 'vm',
  ramSize: 0x1_0000_0000n,
  qemu: { version: '11.0.0' },
  ...extra,
});
const accel: Command[] = [
  { type: 'AddBus', busId: 'pcie.1', busType: 'pxb-pcie', busNr: 1 },
  { type: 'AddSmmu', smmuId: 'smmu1', primaryBus: 'pcie.1', accel: true },
  { type: 'AddBus', busId: 'rp1', busType: 'pcie-root-port', bus: 'pcie.1', secondaryBusNr: 2 },
  {
    type: 'AttachDevice',
    deviceId: 'hostdev0',
    driver: 'vfio-pci',
    bus: 'rp1',
    slot: 0,
    host: '0000:75:00.1',
    iommufd: 'iommufd0',
  },
];
const net = (id: string, slot: number): Command => ({
  type: 'AttachDevice',
  deviceId: id,
  driver: 'virtio-net-pci',
  bus: 'pcie.0',
  slot,
});

describe('a VM with no vector to judge is never a plain ok', () => {
  it('no profile: ok by the rule (L = T = 0 over nothing), and the reason says nothing was judged', () => {
    const r = sweepOneVm(given(defineVm(), ...accel), 'upstream');
    expect(r.verdict).toBe('ok');
    expect(r.counts.vectors).toBe(0);
    expect(r.vectorsFrom).toEqual({ recorded: 0, assumed: 0, profile: null });
    expect(r.reason).toBe(
      'no programmed vectors and no guest profile to imply them: nothing was judged (declare one: guest on the import, doorbell import --guest-profile, or PUT /v1/vms/vm/guest)',
    );
  });

  it('linux-dma and a vfio-pci without a declared count: the profile implies none, and says which count is missing', () => {
    // vectors-vfio: a vfio-pci's MSI-X table size is on the host, so 0 vectors unless declared.
    const r = sweepOneVm(given(defineVm({ guest: { profile: 'linux-dma' } }), ...accel), 'upstream');
    expect(r.vectorsFrom).toEqual({ recorded: 0, assumed: 0, profile: 'linux-dma' });
    expect(r.reason).toBe(
      'no programmed vectors, and the guest profile linux-dma implies none here: nothing was judged (hostdev0 is vfio-pci: its MSI-X table size on the host is not in the topology, so no vectors are implied (declare vectors.hostdev0))',
    );
  });

  it('GICv2m: the profile does not apply, and the reason says why', () => {
    const r = sweepOneVm(
      given(defineVm({ gicVersion: 2, guest: { profile: 'linux-dma' } }), net('net0', 2)),
      'upstream',
    );
    expect(r.counts.vectors).toBe(0);
    expect(r.reason).toMatch(
      /^no programmed vectors, and the guest profile linux-dma implies none here: .*GICv2m: linux-dma describes the GICv3 ITS driver/,
    );
  });

  it('no devices at all', () => {
    expect(sweepOneVm(given(defineVm()), 'upstream').reason).toBe('no devices, so no vectors: nothing was judged');
  });
});

describe('vectors recorded and assumed', () => {
  it('a recorded vector on net0, 3 assumed on net1 (virtio-net-pci, one queue pair: 2 * 1 + 1)', () => {
    // No IOMMU: linux-dma programs the doorbell gPA 0x08090040 itself; every behaviour routes it.
    const state = given(defineVm({ guest: { profile: 'linux-dma' } }), net('net0', 2), net('net1', 3), {
      type: 'ProgramMsiVector',
      deviceId: 'net0',
      vector: 0,
      address: 0x0809_0040n,
      data: 0n,
    });
    const r = sweepOneVm(state, 'upstream');
    expect(r.vectorsFrom).toEqual({ recorded: 1, assumed: 3, profile: 'linux-dma' });
    expect(r.verdict).toBe('ok');
    expect(r.reason).toBe(
      "4 vectors (1 recorded, 3 assumed from linux-dma): none loses its interrupts under upstream, its own behaviour and the target's",
    );
  });

  it('unknown build with implied vectors: the build part first, then the vectors judged as upstream routes them', () => {
    const state = given(defineVm({ qemu: undefined, guest: { profile: 'linux-dma' } }), net('net0', 2));
    const r = sweepOneVm(state, 'address-space');
    expect(r.verdict).toBe('unknown-build');
    expect(r.reason).toMatch(
      /^no QEMU build declared, so its MSI behaviour is unknown .*; 3 vectors \(3 assumed from linux-dma\): none loses its interrupts under upstream \(its own\), none loses its interrupts under address-space \(the target\)$/,
    );
  });
});
