// The resolver's branches that no §5 scenario reaches, in-process: config faults, boards without
// an ITS or without KVM, and provenance of every trail step.

import { describe, expect, it } from 'vitest';
import { resolve } from '../../../src/domain/resolve/resolve';
import { replay } from '../../../src/domain/topology/replay';
import type { Command, VmState } from '../../../src/domain/topology/types';

const given = (...commands: Command[]): VmState => replay(commands)!;

const emulated = (
  smmu: Partial<Extract<Command, { type: 'AddSmmu' }>> = {},
  vm: Partial<Extract<Command, { type: 'DefineVm' }>> = {},
): Command[] => [
  { type: 'DefineVm', vmId: 'vm', ramSize: 0x1_0000_0000n, ...vm },
  { type: 'AddSmmu', smmuId: 'smmuv3.0', primaryBus: 'pcie.0', ...smmu },
  { type: 'AttachDevice', deviceId: 'net0', driver: 'virtio-net-pci', bus: 'pcie.0', slot: 2 },
  { type: 'MapIova', deviceId: 'net0', stage: 1, iova: 0xffff_f000n, output: 0x0809_0000n, size: 0x1000n },
];
const msi = { deviceId: 'net0', address: 0xffff_f040n, data: 0n };

describe('resolve', () => {
  it('raises C_BAD_STE for an S2T0SZ the SMMU cannot use (s2t0sz_valid)', () => {
    const state = given(
      ...emulated().slice(0, 1),
      { type: 'AddSmmu', smmuId: 'smmuv3.0', primaryBus: 'pcie.0', stage: '2' },
      emulated()[2]!,
      { type: 'ConfigureSte', deviceId: 'net0', config: 's2', s2: { t0sz: 40 } },
    );
    expect(resolve(state, msi, 'upstream').fault).toMatchObject({ type: 'C_BAD_STE', recorded: true });
  });

  it('raises C_BAD_STE for a nested STE on an SMMU that only advertises stage 1', () => {
    const state = given(...emulated(), { type: 'ConfigureSte', deviceId: 'net0', config: 'nested' });
    expect(resolve(state, msi, 'upstream').fault).toMatchObject({ type: 'C_BAD_STE' });
  });

  it('raises C_BAD_CD for CD.T0SZ outside [16, 39]', () => {
    const state = given(...emulated(), { type: 'ConfigureSte', deviceId: 'net0', config: 's1', cd: { t0sz: 40 } });
    expect(resolve(state, msi, 'upstream').fault).toMatchObject({ type: 'C_BAD_CD', code: 0x0an });
  });

  it('records no event when EVENTQ is off, even for a config fault', () => {
    const state = given(
      ...emulated(),
      { type: 'ConfigureSte', deviceId: 'net0', config: 'invalid' },
      { type: 'SetSmmuGuestState', smmuId: 'smmuv3.0', changes: { eventqEnabled: false } },
    );
    expect(resolve(state, msi, 'upstream').fault).toMatchObject({ type: 'C_BAD_STE', recorded: false });
  });

  it('marks "no MSI translation" on GICv2m (GSI direct mapping) and on GICv3 without an ITS (Q3)', () => {
    const v2m = resolve(given(...emulated({}, { gicVersion: 2 })), msi, 'upstream');
    expect(v2m.route).toMatchObject({ installed: false, cause: 'gsi-direct' });
    expect(v2m.diagnostics.map((d) => d.code)).toEqual(['NO_MSI_TRANSLATION']);
    const noIts = resolve(given(...emulated({}, { its: false })), msi, 'upstream');
    expect(noIts.route).toMatchObject({ installed: false, cause: 'no-msi-controller' });
  });

  it('installs no KVM route without an in-kernel irqchip, but still translates and checks the doorbell', () => {
    const r = resolve(given(...emulated({}, { kvm: false })), msi, 'upstream');
    expect(r.route).toMatchObject({ installed: false, cause: 'no-kvm-irqchip' });
    expect(r.doorbell).toEqual({ its: true, frame: 'translation', offset: 0x40n });
  });

  it('blocks the accel hardware path when a guest stage-1 mapping breaks the RMR identity window', () => {
    const state = given(
      { type: 'DefineVm', vmId: 'vm', ramSize: 0x1_0000_0000n },
      { type: 'AddSmmu', smmuId: 'smmuv3.0', primaryBus: 'pcie.0', accel: true },
      {
        type: 'AttachDevice',
        deviceId: 'hostdev0',
        driver: 'vfio-pci',
        bus: 'pcie.0',
        slot: 3,
        host: '0000:75:00.1',
        iommufd: 'iommufd0',
      },
      { type: 'MapIova', deviceId: 'hostdev0', stage: 1, iova: 0x0800_0000n, output: 0x4000_0000n, size: 0x1000n },
    );
    const r = resolve(state, { deviceId: 'hostdev0', address: 0xffff_f040n, data: 0n }, 'upstream');
    expect(r.route).toMatchObject({ installed: true, address: 0x0809_0040n });
    expect(r.hardwarePath).toMatchObject({ delivered: false });
    expect(r.diagnostics.map((d) => d.code)).toContain('HW_PATH_BLOCKED');
  });

  it('cites only events of the state it was given, and every step cites at least one', () => {
    const state = given(...emulated(), {
      type: 'ProgramMsiVector',
      deviceId: 'net0',
      vector: 0,
      address: 0xffff_f040n,
      data: 3n,
    });
    const r = resolve(state, { deviceId: 'net0', vector: 0 }, 'upstream');
    for (const step of r.trail) {
      expect(step.events.length, step.action).toBeGreaterThan(0);
      for (const e of step.events) expect(e.position).toBeLessThanOrEqual(state.position);
    }
  });
});
