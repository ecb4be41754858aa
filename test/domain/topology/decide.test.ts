// decide/evolve as specifications: given these events, when this command, then these events
// (or this domain error). Pure: no database, no HTTP.

import { describe, expect, it } from 'vitest';
import { DomainError } from '../../../src/domain/errors';
import { decide } from '../../../src/domain/topology/decide';
import { replay } from '../../../src/domain/topology/replay';
import type { Command, DomainEvent, VmState } from '../../../src/domain/topology/types';

/** The state after these commands, as the service would append them. */
const given = (...commands: Command[]): VmState | undefined => replay(commands);

function whenRejected(state: VmState | undefined, command: Command): DomainError {
  try {
    decide(command, state);
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error(`${command.type} was accepted`);
}

const vm: Command = { type: 'DefineVm', vmId: 'vm1' };
const pxb: Command = { type: 'AddBus', busId: 'pcie.1', busType: 'pxb-pcie', busNr: 1 };
const port: Command = {
  type: 'AddBus',
  busId: 'pcie.port1',
  busType: 'pcie-root-port',
  bus: 'pcie.1',
  secondaryBusNr: 2,
};
const accelSmmu: Command = { type: 'AddSmmu', smmuId: 'smmuv3.0', primaryBus: 'pcie.1', accel: true };
const hostdev: Command = {
  type: 'AttachDevice',
  deviceId: 'hostdev0',
  driver: 'vfio-pci',
  bus: 'pcie.port1',
  slot: 0,
  host: '0019:06:00.0',
  iommufd: 'iommufd0',
};

describe('decide', () => {
  it('defines a VM with the defaults of a booted virt board', () => {
    const events: DomainEvent[] = decide(vm, undefined);
    expect(events).toEqual([
      {
        type: 'VmDefined',
        data: { vmId: 'vm1', ramSize: 0x4000_0000n, gicVersion: 3, its: true, kvm: true, hostItsBase: null },
      },
    ]);
  });

  it('places a device behind a root port at secondaryBusNr << 8 (S10: SID 0x0200)', () => {
    const state = given(vm, pxb, accelSmmu, port, hostdev)!;
    expect(state.devices.get('hostdev0')).toMatchObject({ bus: 'pcie.port1', slot: 0, function: 0 });
    expect(state.buses.get('pcie.port1')).toMatchObject({ number: 2, rootBus: 'pcie.1' });
  });

  it('R13 holds for an SMMU added over a vfio-pci device that has no iommufd', () => {
    const withDevice = given(vm, pxb, port, { ...hostdev, iommufd: undefined })!;
    expect(whenRejected(withDevice, accelSmmu).code).toBe('ACCEL_VFIO_WITHOUT_IOMMUFD');
  });

  it('R8 holds for a vfio-pci device attached after accel was turned off', () => {
    const emulatedNow = given(vm, pxb, accelSmmu, { type: 'SetSmmuAccel', smmuId: 'smmuv3.0', enabled: false }, port)!;
    expect(whenRejected(emulatedNow, hostdev).code).toBe('VFIO_BEHIND_EMULATED_SMMU');
  });

  it('records every MSI-X write, even an identical rewrite (S24: the fixup runs on each write)', () => {
    const write: Command = {
      type: 'ProgramMsiVector',
      deviceId: 'hostdev0',
      vector: 0,
      address: 0xffff_f040n,
      data: 0n,
    };
    const state = given(vm, pxb, accelSmmu, port, hostdev, write)!;
    expect(decide(write, state)).toHaveLength(1);
  });

  it('turns a guest-state change that changes nothing into no event', () => {
    const state = given(vm, pxb, accelSmmu)!;
    expect(decide({ type: 'SetSmmuGuestState', smmuId: 'smmuv3.0', changes: { enabled: true } }, state)).toEqual([]);
    expect(
      decide(
        { type: 'SetSmmuGuestState', smmuId: 'smmuv3.0', changes: { enabled: false, eventqEnabled: true } },
        state,
      ),
    ).toEqual([{ type: 'SmmuGuestStateChanged', data: { smmuId: 'smmuv3.0', enabled: false } }]);
  });

  it('gives an STE left-out fields their defaults again', () => {
    const state = given(vm, pxb, accelSmmu, port, hostdev, {
      type: 'ConfigureSte',
      deviceId: 'hostdev0',
      config: 's1',
      cd: { t0sz: 25 },
    })!;
    const again = given(
      vm,
      pxb,
      accelSmmu,
      port,
      hostdev,
      { type: 'ConfigureSte', deviceId: 'hostdev0', config: 's1', cd: { t0sz: 25 } },
      { type: 'ConfigureSte', deviceId: 'hostdev0', config: 's1' },
    )!;
    expect(state.devices.get('hostdev0')!.ste.cd!.t0sz).toBe(25);
    expect(again.devices.get('hostdev0')!.ste.cd!.t0sz).toBe(16);
  });

  it('remembers the event that set each fact', () => {
    const state = given(vm, pxb, accelSmmu, port, hostdev, {
      type: 'SetSmmuGuestState',
      smmuId: 'smmuv3.0',
      changes: { eventqEnabled: false },
    })!;
    const smmu = state.smmus.get('smmuv3.0')!;
    expect(smmu.guest.eventqEnabled.setBy).toEqual({ position: 6, type: 'SmmuGuestStateChanged' });
    expect(smmu.guest.enabled.setBy).toEqual({ position: 3, type: 'SmmuAdded' });
    expect(smmu.accel.setBy).toEqual({ position: 3, type: 'SmmuAdded' });
  });
});
