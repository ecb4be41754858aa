// The comparison of two topologies (diffTopology) and the commands that turn one into the other
// (commandsToReach), with the removal rules they need (RemoveBus, RemoveSmmu, ChangeBoard).
// Expected lists are written out by hand from the two command lists of each case.

import { describe, expect, it } from 'vitest';
import { decide } from '../../../src/domain/topology/decide';
import { diffTopology } from '../../../src/domain/topology/diff';
import { commandsToReach } from '../../../src/domain/topology/reshape';
import { replay } from '../../../src/domain/topology/replay';
import type { Command, VmState } from '../../../src/domain/topology/types';

/** pxb-pcie pcie.1 (bus_nr 1) with an emulated SMMU, root port rp1 (bus 2) with net0 and vector 0 programmed. */
const BASE: Command[] = [
  { type: 'DefineVm', vmId: 'vm' },
  { type: 'AddBus', busId: 'pcie.1', busType: 'pxb-pcie', busNr: 1 },
  { type: 'AddSmmu', smmuId: 's0', primaryBus: 'pcie.1' },
  { type: 'AddBus', busId: 'rp1', busType: 'pcie-root-port', bus: 'pcie.1', secondaryBusNr: 2 },
  { type: 'AttachDevice', deviceId: 'net0', driver: 'virtio-net-pci', bus: 'rp1', slot: 0 },
];
const state = (commands: Command[]) => replay(commands)!;
const base = () =>
  state([...BASE, { type: 'ProgramMsiVector', deviceId: 'net0', vector: 0, address: 0x8090040n, data: 1n }]);
const reach = (from: VmState, to: VmState) => replay(commandsToReach(from, to), from)!;

describe('RemoveBus, RemoveSmmu, ChangeBoard', () => {
  it('refuses to remove a bus with anything behind it, and pcie.0 ever', () => {
    const vm = base();
    expect(() => decide({ type: 'RemoveBus', busId: 'rp1' }, vm)).toThrow(
      expect.objectContaining({ code: 'BUS_NOT_EMPTY', message: expect.stringContaining('device net0') }),
    );
    // pcie.1 holds rp1 and the SMMU.
    expect(() => decide({ type: 'RemoveBus', busId: 'pcie.1' }, vm)).toThrow(
      expect.objectContaining({ code: 'BUS_NOT_EMPTY', message: expect.stringContaining('bus rp1, SMMU s0') }),
    );
    expect(() => decide({ type: 'RemoveBus', busId: 'pcie.0' }, vm)).toThrow(
      expect.objectContaining({ code: 'BUS_NOT_REMOVABLE' }),
    );
    expect(() => decide({ type: 'RemoveBus', busId: 'nope' }, vm)).toThrow(
      expect.objectContaining({ code: 'BUS_NOT_FOUND' }),
    );
    const emptied = replay(
      [
        { type: 'DetachDevice', deviceId: 'net0' },
        { type: 'RemoveBus', busId: 'rp1' },
      ],
      vm,
    )!;
    expect([...emptied.buses.keys()]).toEqual(['pcie.0', 'pcie.1']);
  });

  it('removes an SMMU and leaves its devices in place', () => {
    const vm = replay([{ type: 'RemoveSmmu', smmuId: 's0' }], base())!;
    expect(vm.smmus.size).toBe(0);
    expect(vm.devices.get('net0')!.vectors.size).toBe(1);
  });

  it('changes only the board fields that differ, under the rules of a new VM', () => {
    const vm = base();
    expect(decide({ type: 'ChangeBoard', ramSize: vm.board.ramSize, kvm: true }, vm)).toEqual([]);
    expect(decide({ type: 'ChangeBoard', ramSize: 0x200000000n, kvm: true }, vm)).toEqual([
      { type: 'BoardChanged', data: { ramSize: 0x200000000n } },
    ]);
    // A GICv2 has no ITS: the board keeps its ITS, so gicVersion 2 alone is refused.
    expect(() => decide({ type: 'ChangeBoard', gicVersion: 2 }, vm)).toThrow(
      expect.objectContaining({ code: 'GIC_V2_WITHOUT_ITS' }),
    );
  });

  it('refuses default_bus_bypass_iommu while a device sits on pcie.0', () => {
    const vm = replay(
      [{ type: 'AttachDevice', deviceId: 'nic', driver: 'virtio-net-pci', bus: 'pcie.0', slot: 3 }],
      base(),
    )!;
    expect(() => decide({ type: 'ChangeBoard', defaultBusBypassIommu: true }, vm)).toThrow(
      expect.objectContaining({ code: 'BUS_NOT_EMPTY', message: expect.stringContaining('nic') }),
    );
    const bypassing = replay([{ type: 'ChangeBoard', defaultBusBypassIommu: true }], base())!;
    expect(bypassing.buses.get('pcie.0')!.bypassIommu).toBe(true);
  });
});

describe('diffTopology and commandsToReach', () => {
  it('the same topology: no change, no command', () => {
    expect(diffTopology(base(), base())).toEqual([]);
    expect(commandsToReach(base(), base())).toEqual([]);
  });

  it('a device added on a new root port: the port, then the device; net0 keeps its vector', () => {
    const target = state([
      ...BASE,
      { type: 'AddBus', busId: 'rp2', busType: 'pcie-root-port', bus: 'pcie.1', secondaryBusNr: 3 },
      { type: 'AttachDevice', deviceId: 'blk0', driver: 'virtio-blk-pci', bus: 'rp2', slot: 0 },
    ]);
    expect(diffTopology(base(), target).map((c) => `${c.op} ${c.kind} ${c.id}`)).toEqual([
      'add bus rp2',
      'add device blk0',
    ]);
    expect(commandsToReach(base(), target)).toEqual([
      { type: 'AddBus', busId: 'rp2', busType: 'pcie-root-port', bus: 'pcie.1', secondaryBusNr: 3 },
      { type: 'AttachDevice', deviceId: 'blk0', driver: 'virtio-blk-pci', bus: 'rp2', slot: 0, function: 0 },
    ]);
    const after = reach(base(), target);
    expect(diffTopology(after, target)).toEqual([]);
    expect(after.devices.get('net0')!.vectors.get(0)!.address).toBe(0x8090040n);
  });

  it('a root port renumbered: it and its device go and come back, devices before buses', () => {
    const target = state(BASE.map((c) => (c.type === 'AddBus' && c.busId === 'rp1' ? { ...c, secondaryBusNr: 5 } : c)));
    expect(diffTopology(base(), target)).toEqual([
      { op: 'change', kind: 'bus', id: 'rp1', before: { number: 2 }, after: { number: 5 } },
    ]);
    expect(commandsToReach(base(), target).map((c) => c.type)).toEqual([
      'DetachDevice',
      'RemoveBus',
      'AddBus',
      'AttachDevice',
    ]);
    const after = reach(base(), target);
    expect(diffTopology(after, target)).toEqual([]);
    // net0 was re-created: a new function starts from its defaults, without the old vector.
    expect(after.devices.get('net0')!.vectors.size).toBe(0);
  });

  it('accel switched on and the emulated device replaced by a vfio one: device out, accel on, device in', () => {
    const target = state([
      { type: 'DefineVm', vmId: 'vm' },
      { type: 'AddBus', busId: 'pcie.1', busType: 'pxb-pcie', busNr: 1 },
      { type: 'AddSmmu', smmuId: 's0', primaryBus: 'pcie.1', accel: true },
      { type: 'AddBus', busId: 'rp1', busType: 'pcie-root-port', bus: 'pcie.1', secondaryBusNr: 2 },
      {
        type: 'AttachDevice',
        deviceId: 'vf0',
        driver: 'vfio-pci',
        bus: 'rp1',
        slot: 0,
        host: '0000:01:00.0',
        iommufd: 'fd',
      },
    ]);
    expect(diffTopology(base(), target).map((c) => `${c.op} ${c.kind} ${c.id}`)).toEqual([
      'change smmu s0',
      'remove device net0',
      'add device vf0',
    ]);
    expect(commandsToReach(base(), target)).toEqual([
      { type: 'DetachDevice', deviceId: 'net0' },
      { type: 'SetSmmuAccel', smmuId: 's0', enabled: true },
      {
        type: 'AttachDevice',
        deviceId: 'vf0',
        driver: 'vfio-pci',
        bus: 'rp1',
        slot: 0,
        function: 0,
        host: '0000:01:00.0',
        iommufd: 'fd',
      },
    ]);
    expect(diffTopology(reach(base(), target), target)).toEqual([]);
  });

  it('a pxb-pcie removed takes everything behind it, leaves first', () => {
    const target = state([{ type: 'DefineVm', vmId: 'vm' }]);
    expect(commandsToReach(base(), target)).toEqual([
      { type: 'DetachDevice', deviceId: 'net0' },
      { type: 'RemoveSmmu', smmuId: 's0' },
      { type: 'RemoveBus', busId: 'rp1' },
      { type: 'RemoveBus', busId: 'pcie.1' },
    ]);
    expect(diffTopology(reach(base(), target), target)).toEqual([]);
  });

  it('before the VM existed, everything is added', () => {
    expect(diffTopology(undefined, base()).map((c) => `${c.op} ${c.kind} ${c.id}`)).toEqual([
      'add board vm',
      'add bus pcie.1',
      'add bus rp1',
      'add smmu s0',
      'add device net0',
    ]);
  });
});
