// Switches and bridges in the domain: where QEMU lets each plug in, and the requester id QEMU's
// SMMU and ITS see for a device behind one. Expected values are derived by hand in the comments.

import { describe, expect, it } from 'vitest';
import { DomainError } from '../../../src/domain/errors';
import { decide } from '../../../src/domain/topology/decide';
import { evolve } from '../../../src/domain/topology/evolve';
import { replay } from '../../../src/domain/topology/replay';
import type { Command, RecordedEvent, VmState } from '../../../src/domain/topology/types';
import { placementOf } from '../../../src/domain/translation/topology-facts';

const given = (...commands: Command[]): VmState => replay(commands)!;

function rejected(state: VmState, command: Command): DomainError {
  try {
    decide(command, state);
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error(`${command.type} was accepted`);
}

const vm: Command = { type: 'DefineVm', vmId: 'vm1', kvm: false };
const port = (id: string, bus: string, secondaryBusNr: number): Command => ({
  type: 'AddBus',
  busId: id,
  busType: 'pcie-root-port',
  bus,
  secondaryBusNr,
});
const bridge = (
  id: string,
  busType: 'x3130-upstream' | 'xio3130-downstream' | 'pcie-pci-bridge' | 'pci-bridge',
  bus: string,
  slot: number,
  secondaryBusNr: number,
  fn?: number,
): Command => ({ type: 'AddBus', busId: id, busType, bus, slot, function: fn, secondaryBusNr });
const device = (id: string, bus: string, slot: number, fn = 0): Command => ({
  type: 'AttachDevice',
  deviceId: id,
  driver: 'virtio-net-pci',
  bus,
  slot,
  function: fn,
});
const smmu: Command = { type: 'AddSmmu', smmuId: 'smmuv3.0', primaryBus: 'pcie.0' };

describe('switch ports and bridges (AddBus)', () => {
  it('records a bridge with its slot, function and secondary bus; a root port still records neither', () => {
    const state = given(vm, port('rp1', 'pcie.0', 1), bridge('up', 'x3130-upstream', 'rp1', 0, 2));
    expect(state.buses.get('up')).toMatchObject({
      type: 'x3130-upstream',
      number: 2,
      parent: 'rp1',
      rootBus: 'pcie.0',
      slot: 0,
      function: 0,
    });
    // Events stored before bridges existed fold the same: a root port has no slot or function.
    expect(state.buses.get('rp1')).not.toHaveProperty('slot');
    const events = decide(port('rp2', 'pcie.0', 5), state);
    expect(events).toEqual([
      { type: 'BusAdded', data: { busId: 'rp2', busType: 'pcie-root-port', bus: 'pcie.0', busNumber: 5 } },
    ]);
  });

  it('QEMU do_pci_register_device: a PCIe function below a root port or downstream port takes slot 0 only', () => {
    // -device x3130-upstream,bus=rp1,addr=1 -> "PCI: slot 1 is not valid for x3130-upstream, parent device only allows plugging into slot 0."
    const state = given(vm, port('rp1', 'pcie.0', 1));
    const error = rejected(state, bridge('up', 'x3130-upstream', 'rp1', 1, 2));
    expect(error).toMatchObject({ code: 'SLOT_NOT_VALID', pointer: '/slot' });
    expect(error.message).toContain('only allows plugging into slot 0');
    // A pci-bridge is conventional PCI (no PCIe capability), so the rule does not apply to it.
    expect(() => decide(bridge('pb', 'pci-bridge', 'rp1', 3, 2), state)).not.toThrow();
  });

  it('QEMU shpc_device_get_slot: slot 0 of a pcie-pci-bridge or pci-bridge bus is refused (SHPC slots are 1-31)', () => {
    // QEMU 7.2: -device pcie-pci-bridge,id=b -device e1000,bus=b,addr=0 -> "Unsupported PCI slot 0 for standard hotplug controller."
    const state = given(vm, port('rp1', 'pcie.0', 1), bridge('ppb', 'pcie-pci-bridge', 'rp1', 0, 2));
    const error = rejected(state, device('e1', 'ppb', 0));
    expect(error).toMatchObject({ code: 'SLOT_NOT_VALID', pointer: '/slot' });
    expect(error.message).toContain('Unsupported PCI slot 0 for standard hotplug controller');
    expect(rejected(state, bridge('pb', 'pci-bridge', 'ppb', 0, 3)).code).toBe('SLOT_NOT_VALID');
  });

  it('QEMU do_pci_register_device: an endpoint on a pxb-pcie is refused, a bridge is not', () => {
    // -device pxb-pcie,id=pcie.1,bus_nr=8 -device virtio-net-pci,bus=pcie.1 -> "PCI: Only PCI/PCIe bridges can be plugged into pxb-pcie"
    const state = given(vm, { type: 'AddBus', busId: 'pcie.1', busType: 'pxb-pcie', busNr: 8 });
    const error = rejected(state, device('net0', 'pcie.1', 0));
    expect(error).toMatchObject({ code: 'BUS_TAKES_BRIDGES_ONLY', status: 422, pointer: '/bus' });
    expect(error.message).toContain('Only PCI/PCIe bridges can be plugged into pxb-pcie');
    expect(() => decide(bridge('pb', 'pci-bridge', 'pcie.1', 1, 9), state)).not.toThrow();
  });

  it('a slot a bridge holds is taken for a device, and the reverse', () => {
    const state = given(vm, bridge('pb', 'pci-bridge', 'pcie.0', 3, 1), device('net0', 'pcie.0', 4));
    expect(rejected(state, device('net1', 'pcie.0', 3))).toMatchObject({ code: 'SLOT_TAKEN' });
    expect(rejected(state, bridge('pb2', 'pci-bridge', 'pcie.0', 4, 2))).toMatchObject({ code: 'SLOT_TAKEN' });
  });

  it('a bridge needs bus, slot and secondaryBusNr, takes no busNr, and its number must be free', () => {
    const state = given(vm, port('rp1', 'pcie.0', 1));
    expect(
      rejected(state, { type: 'AddBus', busId: 'b', busType: 'pci-bridge', bus: 'rp1', secondaryBusNr: 2 }),
    ).toMatchObject({ code: 'FIELD_REQUIRED', pointer: '/slot' });
    expect(rejected(state, { type: 'AddBus', busId: 'b', busType: 'pci-bridge', bus: 'rp1', slot: 0 })).toMatchObject({
      code: 'FIELD_REQUIRED',
      pointer: '/secondaryBusNr',
    });
    expect(rejected(state, bridge('b', 'pci-bridge', 'rp1', 0, 1))).toMatchObject({ code: 'BUS_NUMBER_TAKEN' });
    expect(
      rejected(state, {
        type: 'AddBus',
        busId: 'rp2',
        busType: 'pcie-root-port',
        bus: 'pcie.0',
        secondaryBusNr: 3,
        slot: 2,
      }),
    ).toMatchObject({
      code: 'FIELD_NOT_ALLOWED',
      pointer: '/slot',
    });
  });

  it('a root port and an SMMU still sit on a root bus only', () => {
    const state = given(vm, port('rp1', 'pcie.0', 1), bridge('up', 'x3130-upstream', 'rp1', 0, 2));
    expect(rejected(state, port('rp2', 'up', 3))).toMatchObject({ code: 'BUS_NOT_ROOT' });
    expect(rejected(state, { type: 'AddSmmu', smmuId: 's', primaryBus: 'up' })).toMatchObject({
      code: 'SMMU_BUS_NOT_ROOT',
    });
  });
});

describe('the requester id QEMU translates a device by (pci_device_get_iommu_bus_devfn, pci_req_id_cache_get)', () => {
  // pcie.0 -> rp1 (bus 1) -> up (01:00.0, bus 2) -> dn1 (02:00.0, bus 3) -> n1 (03:00.0)
  //                                                -> dn2 (02:01.0, bus 4) -> n2 (04:00.0)
  // pcie.0 -> rp2 (bus 5) -> ppb (05:00.0, pcie-pci-bridge, bus 6) -> e1 (06:01.0)
  //                                                                -> pb (06:02.0, pci-bridge, bus 7) -> e2 (07:03.0)
  // pcie.0 -> pb0 (00:04.0, pci-bridge, bus 8) -> e3 (08:05.0)
  const state = given(
    vm,
    smmu,
    port('rp1', 'pcie.0', 1),
    bridge('up', 'x3130-upstream', 'rp1', 0, 2),
    bridge('dn1', 'xio3130-downstream', 'up', 0, 3),
    bridge('dn2', 'xio3130-downstream', 'up', 1, 4),
    device('n1', 'dn1', 0),
    device('n2', 'dn2', 0),
    port('rp2', 'pcie.0', 5),
    bridge('ppb', 'pcie-pci-bridge', 'rp2', 0, 6),
    device('e1', 'ppb', 1),
    bridge('pb', 'pci-bridge', 'ppb', 2, 7),
    device('e2', 'pb', 3),
    bridge('pb0', 'pci-bridge', 'pcie.0', 4, 8),
    device('e3', 'pb0', 5),
  );
  const placed = (id: string) => placementOf(state, state.devices.get(id)!);

  it('behind a PCIe switch a device keeps its own BDF: n1 = 3 << 8 = 0x300, n2 = 4 << 8 = 0x400', () => {
    expect(placed('n1')).toMatchObject({ streamId: 0x300n, ownId: 0x300n, requesterAlias: null });
    expect(placed('n2')).toMatchObject({ streamId: 0x400n, requesterAlias: null });
  });

  it('PCI_REQ_ID_SECONDARY_BUS: behind a pcie-pci-bridge, (secondary bus 6, devfn 0) = 0x600, not e1 own 06:01.0 = 0x608', () => {
    const e1 = placed('e1');
    expect(e1.streamId).toBe(0x600n);
    expect(e1.ownId).toBe(0x608n);
    expect(e1.requesterAlias).toMatchObject({ rule: 'secondary-bus', requesterId: 0x600n });
    expect(e1.requesterAlias?.bridge.id).toBe('ppb');
  });

  it('the topmost conventional bus wins: e2 behind pb behind ppb is 0x600 (pb own BDF 06:02.0 = 0x610 is replaced)', () => {
    // e2 own: 07:03.0 = 0x700 | 3 << 3 = 0x718. Walk: bus 7 (pb, pci-bridge) -> BDF of pb 0x610;
    // bus 6 (ppb, pcie-pci-bridge) -> (6, 00.0) = 0x600.
    const e2 = placed('e2');
    expect(e2).toMatchObject({ streamId: 0x600n, ownId: 0x718n });
    expect(e2.requesterAlias?.bridge.id).toBe('ppb');
  });

  it("PCI_REQ_ID_BDF: behind a pci-bridge on pcie.0, the bridge's own BDF 00:04.0 = 0x20, not e3 own 08:05.0 = 0x828", () => {
    const e3 = placed('e3');
    expect(e3).toMatchObject({ streamId: 0x20n, ownId: 0x828n });
    expect(e3.requesterAlias).toMatchObject({ rule: 'bridge-bdf', requesterId: 0x20n });
    // The alias rests on the bridge's BusAdded event.
    expect(e3.events.map((e) => e.position)).toContain(state.buses.get('pb0')!.setBy.position);
  });

  it('a BusAdded event stored without slot (as before bridges) folds as it did', () => {
    const defined: RecordedEvent = {
      type: 'VmDefined',
      data: { vmId: 'old', ramSize: 0x4000_0000n, gicVersion: 3, its: true, kvm: true, hostItsBase: null },
      position: 1,
      streamVersion: 1,
    };
    const added: RecordedEvent = {
      type: 'BusAdded',
      data: { busId: 'pcie.port1', busType: 'pcie-root-port', bus: 'pcie.0', busNumber: 2 },
      position: 2,
      streamVersion: 2,
    };
    const bus = evolve(evolve(undefined, defined), added).buses.get('pcie.port1');
    expect(bus).toEqual({
      id: 'pcie.port1',
      type: 'pcie-root-port',
      number: 2,
      parent: 'pcie.0',
      rootBus: 'pcie.0',
      // A root port bypasses when its root bus does (the virtio-iommu merge): false, never a slot.
      bypassIommu: false,
      setBy: { position: 2, type: 'BusAdded' },
    });
  });
});
