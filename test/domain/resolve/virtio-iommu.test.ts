// Where an MSI lands behind QEMU's virtio-iommu: the worked example of docs/domain/virtio-iommu.md
// and one test per rule (VI1-VI7). Every expected value is derived by hand in the comments.

import { describe, expect, it } from 'vitest';
import { DomainError } from '../../../src/domain/errors';
import { resolve } from '../../../src/domain/resolve/resolve';
import { virtioIommuReservedRegions } from '../../../src/domain/resolve/virtio-iommu';
import { fold } from '../../../src/domain/topology/evolve';
import { replay } from '../../../src/domain/topology/replay';
import type { Command, RecordedEvent, VmState } from '../../../src/domain/topology/types';

const given = (...commands: Command[]): VmState => replay(commands)!;

/**
 * The worked example (virtio-iommu.md §6):
 *   qemu-system-aarch64 -accel kvm -m 4G -nodefaults -machine virt,gic-version=3 \
 *     -device virtio-iommu-pci,addr=0x1 \
 *     -device pcie-root-port,id=rp1,bus=pcie.0,chassis=1,addr=0x2 \
 *     -device vfio-pci,host=0000:75:00.1,bus=rp1
 * virtio-iommu at 00:01.0 -> BDF 0 << 8 | 1 << 3 | 0 = 0x0008; rp1's secondary bus is 1 (firmware),
 * so the vfio-pci device is 01:00.0 -> RID = endpoint id = KVM devid = 1 << 8 = 0x0100.
 */
const example = (board: Partial<Extract<Command, { type: 'DefineVm' }>> = {}): Command[] => [
  { type: 'DefineVm', vmId: 'vm', ramSize: 0x1_0000_0000n, hostItsBase: 0x2_0210_0000n, ...board },
  { type: 'AttachDevice', deviceId: 'viommu', driver: 'virtio-iommu-pci', bus: 'pcie.0', slot: 1 },
  { type: 'AddBus', busId: 'rp1', busType: 'pcie-root-port', bus: 'pcie.0', secondaryBusNr: 1 },
  { type: 'AttachDevice', deviceId: 'hostdev0', driver: 'vfio-pci', bus: 'rp1', slot: 0, host: '0000:75:00.1' },
];
// The ITS irqchip composes ITS base + 0x10040 = 0x08080000 + 0x10040 = 0x08090040, data = EventID 0.
const doorbell = { deviceId: 'hostdev0', address: 0x0809_0040n, data: 0n };

describe('the worked example: vfio-pci behind the virtio-iommu, GICv3 with an ITS (§6.1)', () => {
  const r = resolve(given(...example()), doorbell, 'upstream');

  it('VI1: the address space is the virtio-iommu one, and every QEMU behaviour routes the same', () => {
    expect(r.addressSpace).toBe('virtio-iommu');
    expect(r.virtioIommu).toBe('viommu');
    expect(r.streamId).toBe(0x100n);
    expect(r.trail.find((s) => s.rule === 'VI1')?.source).toContain('kvm_arch_fixup_msi_route');
    expect(r.comparison['pre-fix']).toEqual(r.comparison.upstream);
    expect(r.comparison['address-space']).toEqual(r.comparison.upstream);
    expect(r.comparison.misroutedBeforeFix).toBe(false);
  });

  it('VI2: 0x08090040 lies in the reserved MSI region [0x08090000, 0x0809ffff]: identity, route {0x08090040, 0, devid 0x100}', () => {
    const step = r.trail.find((s) => s.rule === 'VI2')!;
    expect(step.output).toMatchObject({ gpa: 0x0809_0040n, region: { start: 0x0809_0000n, end: 0x0809_ffffn } });
    expect(step.action).toContain('viommu');
    expect(r.route).toEqual({
      installed: true,
      address: 0x0809_0040n,
      data: 0n,
      devid: 0x100n,
      flags: 'KVM_MSI_VALID_DEVID',
    });
    // 0x08090040 - 0x08080000 = 0x10040: the translation frame, offset 0x40 (GITS_TRANSLATER).
    expect(r.doorbell).toEqual({ its: true, frame: 'translation', offset: 0x40n });
    expect(r.virtioIommuFault).toBeNull();
  });

  it('VI7: the device writes the host sw_msi window 0x08000000 + 0x40; stage 2 to host ITS 0x202100000 + 0x10040', () => {
    expect(r.hardwarePath?.deviceWrites).toBe(0x0800_0040n);
    expect(r.hardwarePath?.delivered).toBe(true);
    expect(r.hardwarePath?.steps.at(-2)?.output).toBe(0x2_0211_0040n);
    expect(r.trail.find((s) => s.rule === 'VI7')?.action).toContain('viommu');
  });

  it('every step names the virtio-iommu event among its provenance where it relied on it', () => {
    // Events: 1 VmDefined, 2 DeviceAttached viommu, 3 BusAdded rp1, 4 DeviceAttached hostdev0.
    expect(r.trail[1]!.events.map((e) => e.position)).toEqual([1, 2, 3, 4]);
    expect(r.trail.find((s) => s.rule === 'VI2')!.events.map((e) => e.position)).toEqual([1, 2]);
  });
});

describe('virtio-iommu rules', () => {
  it('the reserved region follows the MSI controller: ITS page, GICv2m page, none without one', () => {
    // ITS: [0x08080000 + 0x10000, 0x08080000 + 0x20000 - 1]; GICv2m: [0x08020000, 0x08020000 + 0x1000 - 1].
    expect(virtioIommuReservedRegions('its')).toEqual([{ start: 0x0809_0000n, end: 0x0809_ffffn, type: 'msi' }]);
    expect(virtioIommuReservedRegions('gicv2m')).toEqual([{ start: 0x0802_0000n, end: 0x0802_0fffn, type: 'msi' }]);
    expect(virtioIommuReservedRegions('none')).toEqual([]);
  });

  it('R17 with GICv2m (V1): GSI direct mapping, no MSI route, the address is never translated', () => {
    const r = resolve(given(...example({ gicVersion: 2 })), { ...doorbell, address: 0x0802_0040n }, 'upstream');
    expect(r.route).toMatchObject({ installed: false, cause: 'gsi-direct' });
    expect(r.virtioIommu).toBe('viommu');
  });

  it('VI3: outside the MSI region the guest MAP translates (V3): 0xfffff040 via 0xfffff000 -> 0x08090000 is 0x08090040', () => {
    const state = given(...example(), {
      type: 'MapIova',
      deviceId: 'hostdev0',
      stage: 1,
      iova: 0xffff_f000n,
      output: 0x0809_0000n,
      size: 0x1000n,
    });
    const r = resolve(state, { ...doorbell, address: 0xffff_f040n }, 'upstream');
    expect(r.trail.find((s) => s.rule === 'VI3')?.output).toEqual({ gpa: 0x0809_0040n });
    expect(r.route).toMatchObject({ installed: true, address: 0x0809_0040n, devid: 0x100n });
  });

  it('VI4: unmapped and outside every region (V6): R_MAPPING with F_ADDRESS, no route, interrupts lost', () => {
    const r = resolve(given(...example()), { ...doorbell, address: 0xffff_e040n }, 'upstream');
    expect(r.virtioIommuFault).toMatchObject({
      reason: 'R_MAPPING',
      flags: ['F_ADDRESS'],
      endpoint: 0x100n,
      address: 0xffff_e040n,
    });
    expect(r.route).toMatchObject({ installed: false, cause: 'fault' });
    expect(r.fault).toBeNull();
    expect(r.diagnostics.map((d) => d.code)).toEqual(['VIRTIO_IOMMU_FAULT', 'INTERRUPTS_LOST']);
  });

  it('VI4: a read-only MAP faults the MSI write with F_WRITE', () => {
    const state = given(...example(), {
      type: 'MapIova',
      deviceId: 'hostdev0',
      stage: 1,
      iova: 0xffff_f000n,
      output: 0x0809_0000n,
      size: 0x1000n,
      perm: 'ro',
    });
    const r = resolve(state, { ...doorbell, address: 0xffff_f040n }, 'upstream');
    expect(r.virtioIommuFault?.flags).toEqual(['F_WRITE', 'F_ADDRESS']);
  });

  it("VI5: the virtio-iommu's own MSI (never attached, boot-bypass) is identity, devid 0x0008", () => {
    const state = given(...example(), {
      type: 'ProgramMsiVector',
      deviceId: 'viommu',
      vector: 0,
      address: 0x0809_0040n,
      data: 1n,
    });
    const r = resolve(state, { deviceId: 'viommu', vector: 0 }, 'upstream');
    expect(r.trail.find((s) => s.rule === 'VI5')).toBeDefined();
    expect(r.route).toMatchObject({ installed: true, address: 0x0809_0040n, data: 1n, devid: 0x8n });
  });

  it('VI6: a pxb-pcie with bypass_iommu=on (V5): system memory, the guest address is the route, the trail says why', () => {
    // vfio-pci on pxb bus_nr 0x10 -> root port, secondary bus 0x11 -> devid 0x1100.
    const state = given(
      ...example(),
      { type: 'AddBus', busId: 'pcie.1', busType: 'pxb-pcie', busNr: 0x10, bypassIommu: true },
      { type: 'AddBus', busId: 'rp2', busType: 'pcie-root-port', bus: 'pcie.1', secondaryBusNr: 0x11 },
      { type: 'AttachDevice', deviceId: 'hostdev1', driver: 'vfio-pci', bus: 'rp2', slot: 0, host: '0000:76:00.1' },
    );
    const r = resolve(state, { ...doorbell, deviceId: 'hostdev1' }, 'upstream');
    expect(r.addressSpace).toBe('system');
    expect(r.virtioIommu).toBe('viommu');
    expect(r.trail.find((s) => s.rule === 'VI6')?.action).toContain('pcie.1 has bypass_iommu=on');
    expect(r.route).toMatchObject({ installed: true, address: 0x0809_0040n, devid: 0x1100n });
  });

  it('a history holding both an SMMU and a virtio-iommu (stored before the rule) gets no answer', () => {
    const events: RecordedEvent[] = [
      {
        type: 'VmDefined',
        data: { vmId: 'vm', ramSize: 0x4000_0000n, gicVersion: 3, its: true, kvm: true, hostItsBase: null },
      },
      { type: 'SmmuAdded', data: { smmuId: 's', primaryBus: 'pcie.0', accel: false, stage: '1', oas: 44 } },
      {
        type: 'DeviceAttached',
        data: {
          deviceId: 'viommu',
          driver: 'virtio-iommu-pci',
          bus: 'pcie.0',
          slot: 1,
          function: 0,
          host: null,
          iommufd: null,
        },
      },
    ].map((e, i) => ({ ...e, position: i + 1, streamVersion: i + 1 }) as RecordedEvent);
    const state = fold(events)!;
    expect(() => resolve(state, { deviceId: 'viommu', address: 0x0809_0040n, data: 0n })).toThrow(DomainError);
  });
});
