// decide's virtio-iommu rules, one QEMU rule per test with the input that shows it, and which
// devices it translates (bypass_iommu). Expected values derived by hand from the cited code.

import { describe, expect, it } from 'vitest';
import { DomainError } from '../../../src/domain/errors';
import { decide } from '../../../src/domain/topology/decide';
import { replay } from '../../../src/domain/topology/replay';
import type { Command, VmState } from '../../../src/domain/topology/types';
import { placementOf, translatedByVirtioIommu } from '../../../src/domain/translation/topology-facts';

const given = (...commands: Command[]): VmState => replay(commands)!;
const vm = (extra: Partial<Extract<Command, { type: 'DefineVm' }>> = {}): Command => ({
  type: 'DefineVm',
  vmId: 'vm',
  ...extra,
});
const viommu = (extra: Partial<Extract<Command, { type: 'AttachDevice' }>> = {}): Command => ({
  type: 'AttachDevice',
  deviceId: 'viommu',
  driver: 'virtio-iommu-pci',
  bus: 'pcie.0',
  slot: 1,
  ...extra,
});
const pxb = (bypassIommu?: boolean): Command => ({
  type: 'AddBus',
  busId: 'pcie.1',
  busType: 'pxb-pcie',
  busNr: 0x10,
  ...(bypassIommu === undefined ? {} : { bypassIommu }),
});

function refusal(command: Command, state: VmState): DomainError {
  try {
    decide(command, state);
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error('decide accepted the command');
}

describe('virtio-iommu: QEMU rules enforced by decide', () => {
  it('virt_machine_device_pre_plug_cb: a second virtio-iommu-pci is "virt machine does not support multiple IOMMUs"', () => {
    const e = refusal(viommu({ deviceId: 'viommu2', slot: 3 }), given(vm(), viommu()));
    expect(e.code).toBe('IOMMU_CONFLICT');
    expect(e.status).toBe(422);
    expect(e.message).toContain('virt machine does not support multiple IOMMUs');
    expect(e.pointer).toBe('/driver');
  });

  it('virt_machine_device_pre_plug_cb: the machine SMMU (iommu=smmuv3, on pcie.0) then virtio-iommu-pci is refused', () => {
    const state = given(vm(), { type: 'AddSmmu', smmuId: 'smmuv3.0', primaryBus: 'pcie.0' });
    const e = refusal(viommu(), state);
    expect(e.code).toBe('IOMMU_CONFLICT');
    expect(e.message).toContain('virt machine does not support multiple IOMMUs');
  });

  it('-device arm-smmuv3 on a pxb-pcie then virtio-iommu-pci: QEMU does not catch it, the model refuses it all the same', () => {
    const state = given(vm(), pxb(), { type: 'AddSmmu', smmuId: 'smmuv3.1', primaryBus: 'pcie.1' });
    const e = refusal(viommu(), state);
    expect(e.code).toBe('IOMMU_CONFLICT');
    expect(e.message).toContain('does not catch this order');
  });

  it('virt_machine_device_pre_plug_cb (TYPE_ARM_SMMUV3): virtio-iommu then an SMMU is "already has virtio-iommu set"', () => {
    const state = given(vm(), pxb(), viommu());
    for (const primaryBus of ['pcie.0', 'pcie.1']) {
      const e = refusal({ type: 'AddSmmu', smmuId: 'smmuv3.0', primaryBus }, state);
      expect(e.code).toBe('IOMMU_CONFLICT');
      expect(e.message).toContain("virt machine already has virtio-iommu set. Doesn't support incompatible iommus");
    }
  });

  it('virtio_iommu_pci_realize: on a root port it is "virtio-iommu-pci must be plugged on the root bus"', () => {
    const state = given(vm(), {
      type: 'AddBus',
      busId: 'rp1',
      busType: 'pcie-root-port',
      bus: 'pcie.0',
      secondaryBusNr: 1,
    });
    const e = refusal(viommu({ bus: 'rp1', slot: 0 }), state);
    expect(e.code).toBe('VIRTIO_IOMMU_BUS_NOT_VALID');
    expect(e.message).toContain('virtio-iommu-pci must be plugged on the root bus');
    expect(e.pointer).toBe('/bus');
  });

  it('do_pci_register_device: on a pxb-pcie it is "Only PCI/PCIe bridges can be plugged into pxb-pcie"', () => {
    const e = refusal(viommu({ bus: 'pcie.1', slot: 0 }), given(vm(), pxb()));
    expect(e.code).toBe('VIRTIO_IOMMU_BUS_NOT_VALID');
    expect(e.message).toContain('Only PCI/PCIe bridges can be plugged into pxb-pcie');
  });

  it('virt_machine_device_unplug_request_cb: the virtio-iommu cannot be detached', () => {
    const e = refusal({ type: 'DetachDevice', deviceId: 'viommu' }, given(vm(), viommu()));
    expect(e.code).toBe('DEVICE_NOT_UNPLUGGABLE');
    expect(e.message).toContain('device unplug request for unsupported device type');
  });

  it('qdev_alias_table: driver "virtio-iommu" (as libvirt writes it) is virtio-iommu-pci', () => {
    const [event] = decide(viommu({ driver: 'virtio-iommu' }), given(vm()));
    expect(event).toMatchObject({ type: 'DeviceAttached', data: { driver: 'virtio-iommu-pci' } });
  });

  it('virt_machine_device_plug_cb: an SMMU on a pxb-pcie with bypass_iommu=on is refused', () => {
    const e = refusal({ type: 'AddSmmu', smmuId: 'smmuv3.1', primaryBus: 'pcie.1' }, given(vm(), pxb(true)));
    expect(e.code).toBe('SMMU_BUS_BYPASSES_IOMMU');
    expect(e.message).toContain('Bypass option cannot be set for SMMUv3 associated PCIe RC');
  });

  it('bypassIommu is a pxb-pcie property: a root port with it is a 400 naming the field', () => {
    const e = refusal(
      { type: 'AddBus', busId: 'rp1', busType: 'pcie-root-port', bus: 'pcie.0', secondaryBusNr: 1, bypassIommu: true },
      given(vm()),
    );
    expect(e.code).toBe('FIELD_NOT_ALLOWED');
    expect(e.pointer).toBe('/bypassIommu');
  });

  it('the guest MAPs into a virtio-iommu domain are stage-1 mappings; stage 2 is refused', () => {
    const state = given(vm(), viommu(), {
      type: 'AttachDevice',
      deviceId: 'net0',
      driver: 'e1000e',
      bus: 'pcie.0',
      slot: 2,
    });
    const map = { type: 'MapIova', deviceId: 'net0', iova: 0xffff_f000n, output: 0x4000_0000n, size: 0x1000n } as const;
    expect(decide({ ...map, stage: 1 }, state)).toHaveLength(1);
    expect(refusal({ ...map, stage: 2 }, state).code).toBe('STAGE_NOT_SUPPORTED');
  });
});

describe('virtio-iommu: which devices it translates (pci_device_get_iommu_bus_devfn, pci_bus_bypass_iommu)', () => {
  // pcie.0 holds the virtio-iommu (00:01.0) and e1000e n0 (00:05.0); pxb pcie.1 (bus_nr 0x10) holds
  // root port rp1 (secondary bus 0x11) with e1000e n1 at 0x11:00.0. QEMU 7.2's `info mtree` shows a
  // virtio-iommu address space for devfn 0x28 (n0) and for n1 unless its pxb bypasses.
  const topology = (board: Partial<Extract<Command, { type: 'DefineVm' }>>, pxbBypass?: boolean) =>
    given(
      vm(board),
      viommu(),
      pxb(pxbBypass),
      { type: 'AddBus', busId: 'rp1', busType: 'pcie-root-port', bus: 'pcie.1', secondaryBusNr: 0x11 },
      { type: 'AttachDevice', deviceId: 'n0', driver: 'e1000e', bus: 'pcie.0', slot: 5 },
      { type: 'AttachDevice', deviceId: 'n1', driver: 'e1000e', bus: 'rp1', slot: 0 },
    );
  const translated = (state: VmState, id: string) =>
    translatedByVirtioIommu(placementOf(state, state.devices.get(id)!));

  it('every device of pcie.0 and of a pxb-pcie, but not the virtio-iommu itself', () => {
    const state = topology({});
    expect(translated(state, 'n0')).toBe(true);
    expect(translated(state, 'n1')).toBe(true);
    expect(translated(state, 'viommu')).toBe(false);
    expect(placementOf(state, state.devices.get('viommu')!).untranslated).toBe('self');
    // n1: bus 0x11, devfn 0 -> endpoint id 0x1100; n0: bus 0, devfn 5 << 3 = 0x28.
    expect(placementOf(state, state.devices.get('n1')!).streamId).toBe(0x1100n);
    expect(placementOf(state, state.devices.get('n0')!).streamId).toBe(0x28n);
  });

  it('pxb-pcie bypass_iommu=on: its devices are not translated, pcie.0 still is', () => {
    const state = topology({}, true);
    expect(translated(state, 'n1')).toBe(false);
    expect(placementOf(state, state.devices.get('n1')!).untranslated).toBe('bus-bypass');
    expect(translated(state, 'n0')).toBe(true);
  });

  it('-machine default_bus_bypass_iommu=on: pcie.0 devices are not translated, the pxb still is', () => {
    const state = topology({ defaultBusBypassIommu: true });
    expect(translated(state, 'n0')).toBe(false);
    expect(translated(state, 'n1')).toBe(true);
  });

  it('the machine SMMU with default_bus_bypass_iommu=on translates none of pcie.0: no STE, vfio-pci accepted (no R8)', () => {
    const state = given(
      vm({ defaultBusBypassIommu: true }),
      { type: 'AddSmmu', smmuId: 'smmuv3.0', primaryBus: 'pcie.0' },
      { type: 'AttachDevice', deviceId: 'hostdev0', driver: 'vfio-pci', bus: 'pcie.0', slot: 2, host: '0000:75:00.1' },
    );
    const placement = placementOf(state, state.devices.get('hostdev0')!);
    expect(placement.smmu).toBeUndefined();
    expect(placement.untranslated).toBe('bus-bypass');
    expect(refusal({ type: 'ConfigureSte', deviceId: 'hostdev0', config: 's1' }, state).code).toBe(
      'NO_SMMU_FOR_DEVICE',
    );
  });

  it('VmDefined and BusAdded stored without the fields fold as false', () => {
    const state = given(vm(), pxb());
    expect(state.board.defaultBusBypassIommu).toBe(false);
    expect(state.buses.get('pcie.0')!.bypassIommu).toBe(false);
    expect(state.buses.get('pcie.1')!.bypassIommu).toBe(false);
    expect(decide(vm(), undefined)[0]!.data).not.toHaveProperty('defaultBusBypassIommu');
    expect(decide(pxb(), given(vm()))[0]!.data).not.toHaveProperty('bypassIommu');
  });
});
