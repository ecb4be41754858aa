// Guest profiles (issue 19): one test per rule, each naming the Linux function it models, with the
// expected values derived by hand in the comments (research: docs/domain/guest-profiles.md).

import { describe, expect, it } from 'vitest';
import { DomainError } from '../../../src/domain/errors';
import { doorbellPageIova, implicationFor, withGuestProfile } from '../../../src/domain/guest/implied';
import { GUEST_PROFILES, parseGuestDeclaration } from '../../../src/domain/guest/profiles';
import { resolve } from '../../../src/domain/resolve/resolve';
import { replay } from '../../../src/domain/topology/replay';
import type { Command, VmState } from '../../../src/domain/topology/types';

const given = (...commands: Command[]): VmState => replay(commands)!;

/** 4 GiB of RAM (0x40000000-0x13FFFFFFF), GICv3 + ITS, KVM; the guest declared with the VM. */
const vm = (guest?: unknown, board: Partial<Extract<Command, { type: 'DefineVm' }>> = {}): Command => ({
  type: 'DefineVm',
  vmId: 'vm',
  ramSize: 0x1_0000_0000n,
  hostItsBase: 0x2_0210_0000n,
  ...(guest === undefined ? {} : { guest }),
  ...board,
});
/** An emulated SMMUv3 on pcie.0 and a virtio-net-pci at 00:02.0 (stream id 0x10) behind it. */
const emulated: Command[] = [
  { type: 'AddSmmu', smmuId: 'smmu0', primaryBus: 'pcie.0' },
  { type: 'AttachDevice', deviceId: 'net0', driver: 'virtio-net-pci', bus: 'pcie.0', slot: 2 },
];
/** An accel SMMUv3 on pxb-pcie bus 1, a root port (secondary bus 2) and a vfio-pci at 02:00.0 (SID 0x200). */
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

describe('the declaration', () => {
  it('defaults pageSize to 4096 and sorts the vectors by device id', () => {
    expect(parseGuestDeclaration({ profile: 'linux-dma', vectors: { b: 2, a: 1 } })).toEqual({
      profile: 'linux-dma',
      pageSize: 4096,
      vectors: { a: 1, b: 2 },
    });
  });

  it('refuses an unknown profile and a vector count beyond the largest MSI-X table (2048), naming the field', () => {
    expect(() => parseGuestDeclaration({ profile: 'windows' })).toThrow(/profile: one of linux-dma, linux-passthrough/);
    const error = (() => {
      try {
        parseGuestDeclaration({ profile: 'linux-dma', vectors: { d: 4096 } }, '/guest');
      } catch (e) {
        return e as DomainError;
      }
    })();
    expect(error).toBeInstanceOf(DomainError);
    expect(error?.pointer).toBe('/guest/vectors/d');
  });

  it('every rule of every profile cites a Linux file, a function and a kernel range', () => {
    for (const profile of Object.values(GUEST_PROFILES))
      for (const rule of profile.rules)
        for (const c of rule.cite) {
          expect(c.file).toMatch(/^(drivers|include)\//);
          expect(c.function.length).toBeGreaterThan(0);
          expect(c.kernels).toMatch(/^v\d/);
        }
  });
});

describe('linux-dma, 4 KiB pages, an emulated SMMUv3 (arm-smmu-v3 + dma-iommu + the ITS driver)', () => {
  const state = given(vm({ profile: 'linux-dma' }), ...emulated);
  const implied = implicationFor(state, state.devices.get('net0')!, state.guest!.declared);

  it('arm_smmu_make_cdtable_ste / arm_smmu_make_s1_cd: STE.Config s1, CD TG0 4K, T0SZ 16', () => {
    // A DMA domain is stage-1 translated: Config 0b101; the 4 KiB granule gives TG0 = 4K; IAS 48 -> T0SZ 64 - 48 = 16.
    expect(implied.ste).toMatchObject({ config: 's1', cd: { granule: '4K', t0sz: 16, epd1: true } });
  });

  it('iommu_dma_get_msi_page + alloc_iova (top-down below 4 GiB): IOVA 0xFFFFF000 -> the doorbell page 0x08090000', () => {
    // First IOVA of the domain: 0x100000000 - 0x1000 = 0xFFFFF000; doorbell 0x08090040 aligned down to 4 KiB = 0x08090000.
    // An emulated SMMU has no RMR, so that is the only implied mapping.
    expect(implied.mappings).toEqual([
      { iova: 0xffff_f000n, output: 0x0809_0000n, size: 0x1000n, perm: 'rw', rule: 'msi-page' },
    ]);
  });

  it('vp_find_vqs_msix / virtnet_find_vqs: virtio-net-pci with one queue pair asks for 2 * 1 + 1 = 3 vectors', () => {
    expect(implied.vectors.map((v) => v.vector)).toEqual([0, 1, 2]);
  });

  it('its_irq_compose_msi_msg + iommu_dma_compose_msi_msg: address = 0xFFFFF000 + 0x40, data = EventID 0, 1, 2', () => {
    // The doorbell's offset in its page: 0x08090040 & 0xFFF = 0x40, so 0xFFFFF000 + 0x40 = 0xFFFFF040.
    expect(implied.vectors).toEqual([
      { vector: 0, address: 0xffff_f040n, data: 0n },
      { vector: 1, address: 0xffff_f040n, data: 1n },
      { vector: 2, address: 0xffff_f040n, data: 2n },
    ]);
  });

  it('the resolver walks the implied stage 1: 0xFFFFF040 -> 0x08090040, and the trail says it assumed it', () => {
    // smmu-iommu: STE s1 (implied) -> CD (implied) -> the IOVA page 0xFFFFF000 maps to 0x08090000, + 0x40.
    const r = resolve(state, { deviceId: 'net0', vector: 1 });
    expect(r.input).toEqual({ address: 0xffff_f040n, data: 1n });
    expect(r.route).toMatchObject({ installed: true, address: 0x0809_0040n, data: 1n, devid: 0x10n });
    const first = r.trail[0]!;
    expect(first.action).toMatch(/^assumed from linux-dma \(v1, /);
    expect(first.source).toContain('its_irq_compose_msi_msg');
    expect(first.events).toEqual([{ position: 2, type: 'GuestProfileDeclared' }]);
    // The walk rests on the implied STE and stage 1: those steps cite arm-smmu-v3 and dma-iommu.
    const walk = r.trail.filter((s) => s.action.startsWith('assumed from') && !('vector' in s.input));
    expect(walk.length).toBeGreaterThan(0);
    for (const step of walk) expect(step.source).toContain('iommu_dma_get_msi_page');
  });

  it('without the profile the same VM has no vectors, and an address resolves exactly as before', () => {
    const bare = given(vm(), ...emulated);
    expect(withGuestProfile(bare)).toBe(bare);
    expect(() => resolve(bare, { deviceId: 'net0', vector: 0 })).toThrow(/no programmed MSI-X vector 0/);
    // No stage-1 mapping is recorded, so 0xFFFFF040 faults (F_TRANSLATION) and no route is added.
    const r = resolve(bare, { deviceId: 'net0', address: 0xffff_f040n, data: 0n });
    expect(r.route.installed).toBe(false);
    expect(r.trail.some((s) => s.action.includes('assumed from'))).toBe(false);
  });
});

describe('linux-dma, the page size (iommu_dma_init_domain: the granule is the smallest page size)', () => {
  it('64 KiB: IOVA 0xFFFF0000 -> 0x08090000 (64K), address 0xFFFF0040', () => {
    // 0x100000000 - 0x10000 = 0xFFFF0000; 0x08090040 & 0xFFFF = 0x40.
    const state = given(vm({ profile: 'linux-dma', pageSize: 65536 }), ...emulated);
    const implied = implicationFor(state, state.devices.get('net0')!, state.guest!.declared);
    expect(implied.ste?.cd?.granule).toBe('64K');
    expect(implied.mappings[0]).toMatchObject({ iova: 0xffff_0000n, output: 0x0809_0000n, size: 0x1_0000n });
    expect(implied.vectors[0]?.address).toBe(0xffff_0040n);
    expect(resolve(state, { deviceId: 'net0', vector: 0 }).route).toMatchObject({ address: 0x0809_0040n });
  });

  it('16 KiB: IOVA 0xFFFFC000, address 0xFFFFC040', () => {
    // 0x100000000 - 0x4000 = 0xFFFFC000; 0x08090040 & 0x3FFF = 0x40.
    expect(doorbellPageIova(16384)).toBe(0xffff_c000n);
  });
});

describe('linux-dma behind an accel SMMUv3 (iort_get_rmrs + iommu_create_device_direct_mappings)', () => {
  const state = given(vm({ profile: 'linux-dma', vectors: { hostdev0: 2 } }), ...accel);
  const implied = implicationFor(state, state.devices.get('hostdev0')!, state.guest!.declared);

  it('the RMR [0x08000000, 0x08100000) is mapped 1:1 beside the doorbell page', () => {
    expect(implied.mappings.map((m) => [m.iova, m.output, m.size, m.rule])).toEqual([
      [0xffff_f000n, 0x0809_0000n, 0x1000n, 'msi-page'],
      [0x0800_0000n, 0x0800_0000n, 0x10_0000n, 'rmr-identity'],
    ]);
  });

  it('the three QEMU behaviours: pre-fix takes 0xFFFFF040 as a gPA (RAM), upstream routes 0x08090040', () => {
    // RAM is 0x40000000-0x13FFFFFFF, so 0xFFFFF040 is mach-virt.ram: pre-fix installs a route there
    // that vgic_msi_to_its cannot take. upstream uses msi-gpa = 0x08090040; address-space walks the
    // implied stage 1 (the device has an s1 HWPT from the implied s1 STE): 0xFFFFF040 -> 0x08090040.
    const r = resolve(state, { deviceId: 'hostdev0', vector: 1 }, 'upstream');
    expect(r.comparison['pre-fix']).toMatchObject({ installed: true, address: 0xffff_f040n, data: 1n });
    expect(r.comparison.upstream).toMatchObject({ installed: true, address: 0x0809_0040n, data: 1n, devid: 0x200n });
    expect(r.comparison['address-space']).toMatchObject({ installed: true, address: 0x0809_0040n, data: 1n });
    expect(r.comparison.misroutedBeforeFix).toBe(true);
  });

  it('with 1 GiB of RAM (0x40000000-0x7FFFFFFF) pre-fix finds nothing at 0xFFFFF040: no route at all', () => {
    // 0xFFFFF040 is above RAM and below the high PCIe window: io_mem_unassigned, the fixup returns 1.
    const small = given(vm({ profile: 'linux-dma', vectors: { hostdev0: 1 } }, { ramSize: 0x4000_0000n }), ...accel);
    const r = resolve(small, { deviceId: 'hostdev0', vector: 0 }, 'pre-fix');
    expect(r.route).toMatchObject({ installed: false, cause: 'unassigned' });
    expect(r.comparison.missingBeforeFix).toBe(true);
    expect(r.diagnostics.map((d) => d.code)).toContain('INTERRUPTS_LOST');
  });

  it('linux-passthrough behind accel: a bypass STE, 0x08090040 programmed, every behaviour routes it (S12)', () => {
    // Bypass STE -> bypass HWPT, no s1 HWPT: address-space uses system memory, pre-fix the alias,
    // and both take 0x08090040 as it is, which is the doorbell; upstream uses msi-gpa, the same.
    const pt = given(vm({ profile: 'linux-passthrough', vectors: { hostdev0: 1 } }), ...accel);
    const r = resolve(pt, { deviceId: 'hostdev0', vector: 0 }, 'upstream');
    expect(r.input.address).toBe(0x0809_0040n);
    for (const s of ['pre-fix', 'address-space', 'upstream'] as const)
      expect(r.comparison[s]).toMatchObject({ installed: true, address: 0x0809_0040n, data: 0n, devid: 0x200n });
    expect(r.comparison.misroutedBeforeFix).toBe(false);
    expect(withGuestProfile(pt).devices.get('hostdev0')!.hwpt.value.hwpt).toBe('bypass');
  });

  it('a recorded stage-1 mapping keeps the implied doorbell page out: three behaviours, three answers', () => {
    // Recorded state wins (withGuestProfile: stage-1 mappings are implied only while none is
    // recorded): the guest's one recorded mapping 0x10000000 -> 0x50000000 replaces the implied
    // page 0xFFFFF000 -> 0x08090000 and the RMR. The vector is still implied (none recorded):
    // 0xFFFFF040, data 0 (iommu_dma_compose_msi_msg + its_irq_compose_msi_msg).
    // pre-fix: 0xFFFFF040 as a gPA is RAM (4 GiB: up to 0x13FFFFFFF): a route there, lost.
    // address-space: the s1 HWPT's walk finds no mapping for 0xFFFFF040: F_TRANSLATION, no route.
    // upstream: msi-gpa, 0x08090040 whatever the IOVA: delivered.
    const state = given(vm({ profile: 'linux-dma', vectors: { hostdev0: 1 } }), ...accel, {
      type: 'MapIova',
      deviceId: 'hostdev0',
      stage: 1,
      iova: 0x1000_0000n,
      output: 0x5000_0000n,
      size: 0x1000n,
    });
    const r = resolve(state, { deviceId: 'hostdev0', vector: 0 }, 'address-space');
    expect(r.input).toEqual({ address: 0xffff_f040n, data: 0n });
    expect(r.route).toMatchObject({ installed: false });
    expect(r.fault).toMatchObject({ type: 'F_TRANSLATION', stage: 1, inputAddress: 0xffff_f040n });
    expect(r.comparison['pre-fix']).toMatchObject({ installed: true, address: 0xffff_f040n });
    expect(r.comparison.upstream).toMatchObject({ installed: true, address: 0x0809_0040n, devid: 0x200n });
  });

  it('vfio-pci without a declared count: no vectors, and the note says why', () => {
    const bare = given(vm({ profile: 'linux-dma' }), ...accel);
    const none = implicationFor(bare, bare.devices.get('hostdev0')!, bare.guest!.declared);
    expect(none.vectors).toEqual([]);
    expect(none.notes.find((n) => n.rule === 'vectors-vfio')?.text).toMatch(/no vectors are implied/);
  });
});

describe('linux-passthrough (iommu.passthrough=1): arm_smmu_make_bypass_ste, identity does not remap MSIs', () => {
  const state = given(vm({ profile: 'linux-passthrough' }), ...emulated);
  const implied = implicationFor(state, state.devices.get('net0')!, state.guest!.declared);

  it('STE bypass, no stage-1 mapping, address = the doorbell gPA 0x08080000 + 0x10040 = 0x08090040', () => {
    expect(implied.ste?.config).toBe('bypass');
    expect(implied.mappings).toEqual([]);
    expect(implied.vectors.map((v) => [v.address, v.data])).toEqual([
      [0x0809_0040n, 0n],
      [0x0809_0040n, 1n],
      [0x0809_0040n, 2n],
    ]);
    // A bypass STE hands 0x08090040 through unchanged: the route is the doorbell.
    expect(resolve(state, { deviceId: 'net0', vector: 2 }).route).toMatchObject({ address: 0x0809_0040n, data: 2n });
  });
});

describe('other topologies', () => {
  it('no IOMMU: linux-dma programs the doorbell gPA (no domain remaps it); virtio-blk-pci asks for 1 + 1 = 2 vectors', () => {
    const state = given(vm({ profile: 'linux-dma' }), {
      type: 'AttachDevice',
      deviceId: 'blk0',
      driver: 'virtio-blk-pci',
      bus: 'pcie.0',
      slot: 3,
    });
    const implied = implicationFor(state, state.devices.get('blk0')!, state.guest!.declared);
    expect(implied).toMatchObject({ applies: true, iommu: 'none', ste: null, mappings: [] });
    expect(implied.vectors).toEqual([
      { vector: 0, address: 0x0809_0040n, data: 0n },
      { vector: 1, address: 0x0809_0040n, data: 1n },
    ]);
  });

  it('virtio-iommu (viommu_get_resv_regions: the MSI region is IOMMU_RESV_MSI): the doorbell gPA, identity in the region', () => {
    const state = given(
      vm({ profile: 'linux-dma', vectors: { hostdev0: 1 } }),
      { type: 'AttachDevice', deviceId: 'viommu', driver: 'virtio-iommu-pci', bus: 'pcie.0', slot: 1 },
      { type: 'AddBus', busId: 'rp1', busType: 'pcie-root-port', bus: 'pcie.0', secondaryBusNr: 1 },
      { type: 'AttachDevice', deviceId: 'hostdev0', driver: 'vfio-pci', bus: 'rp1', slot: 0, host: '0000:75:00.1' },
    );
    const implied = implicationFor(state, state.devices.get('hostdev0')!, state.guest!.declared);
    expect(implied.iommu).toBe('virtio-iommu');
    expect(implied.vectors).toEqual([{ vector: 0, address: 0x0809_0040n, data: 0n }]);
    expect(implied.notes.some((n) => n.rule === 'virtio-iommu-msi')).toBe(true);
    expect(resolve(state, { deviceId: 'hostdev0', vector: 0 }).route).toMatchObject({ address: 0x0809_0040n });
  });

  it('GICv2m: the profile does not apply (gsi-direct), and says so', () => {
    const state = given(vm({ profile: 'linux-dma' }, { gicVersion: 2 }), ...emulated);
    const implied = implicationFor(state, state.devices.get('net0')!, state.guest!.declared);
    expect(implied.applies).toBe(false);
    expect(implied.reason).toMatch(/GICv2m.*gsi-direct/);
    expect(withGuestProfile(state).devices.get('net0')!.vectors.size).toBe(0);
  });
});

describe('recorded state always wins', () => {
  it('a programmed vector, a configured STE and a recorded mapping are kept', () => {
    const state = given(
      vm({ profile: 'linux-dma' }),
      ...emulated,
      { type: 'ConfigureSte', deviceId: 'net0', config: 's1', cd: { granule: '64K' } },
      { type: 'MapIova', deviceId: 'net0', stage: 1, iova: 0x1000_0000n, output: 0x0809_0000n, size: 0x1_0000n },
      { type: 'ProgramMsiVector', deviceId: 'net0', vector: 0, address: 0x1000_0040n, data: 7n },
    );
    const device = withGuestProfile(state).devices.get('net0')!;
    expect(device.ste.cd?.granule).toBe('64K');
    expect(device.mappings[1].count).toBe(1);
    expect([...device.vectors.values()].map((v) => [v.vector, v.address, v.data])).toEqual([[0, 0x1000_0040n, 7n]]);
    const r = resolve(state, { deviceId: 'net0', vector: 0 });
    expect(r.route).toMatchObject({ address: 0x0809_0040n, data: 7n });
    expect(r.trail.some((s) => s.action.includes('assumed from'))).toBe(false);
  });

  it('declaring the same profile again appends nothing; another one is a new event', () => {
    const state = given(vm({ profile: 'linux-dma' }));
    expect(
      replay([{ type: 'DeclareGuestProfile', guest: { profile: 'linux-dma', pageSize: 4096 } }], state)!.version,
    ).toBe(state.version);
    const next = replay([{ type: 'DeclareGuestProfile', guest: { profile: 'linux-passthrough' } }], state)!;
    expect(next.guest).toMatchObject({
      declared: { profile: 'linux-passthrough' },
      setBy: { type: 'GuestProfileDeclared' },
    });
  });
});
