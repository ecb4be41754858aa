// The corrections of domain reference §9 (QEMU 11.0), one describe per item, in-process: decide,
// evolve (through replay) and resolve. Each expected value is derived in a comment from the
// reference (README §9, qemu-fidelity-and-import.md Part A) and the QEMU function it cites.

import { describe, expect, it } from 'vitest';
import { DomainError } from '../../../src/domain/errors';
import { MODEL, resolve } from '../../../src/domain/resolve/resolve';
import type { Resolution, Semantics } from '../../../src/domain/resolve/types';
import { decide } from '../../../src/domain/topology/decide';
import { replay } from '../../../src/domain/topology/replay';
import type { Command, CommandOf, VmState } from '../../../src/domain/topology/types';

const given = (...commands: Command[]): VmState => replay(commands)!;

/**
 * S10 in the domain: accel SMMU on pxb bus 1, vfio-pci behind a root port with secondary bus 2
 * (SID 0x0200), guest stage 1 maps 0xFFFFF000 -> the vITS page. Unlike the HTTP helper there is
 * no explicit identity mapping of the sw_msi window: the RMR (§9.4) decides it.
 * Positions: 1 VmDefined, 2 BusAdded, 3 SmmuAdded, 4 BusAdded, 5 DeviceAttached, 6 IovaMapped.
 */
function accel(vm: Partial<CommandOf<'DefineVm'>> = {}): Command[] {
  return [
    { type: 'DefineVm', vmId: 'vm', ramSize: 0x1_0000_0000n, hostItsBase: 0x2_0210_0000n, ...vm },
    { type: 'AddBus', busId: 'pcie.1', busType: 'pxb-pcie', busNr: 1 },
    { type: 'AddSmmu', smmuId: 'smmuv3.0', primaryBus: 'pcie.1', accel: true, oas: 48 },
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
  ];
}
const hostdev = (address = 0xffff_f040n) => ({ deviceId: 'hostdev0', address, data: 0n });
const accelSte = (config: CommandOf<'ConfigureSte'>['config']): Command => ({
  type: 'ConfigureSte',
  deviceId: 'hostdev0',
  config,
});
const accelGuest = (changes: CommandOf<'SetSmmuGuestState'>['changes']): Command => ({
  type: 'SetSmmuGuestState',
  smmuId: 'smmuv3.0',
  changes,
});

/**
 * The §5 emulated baseline: 4G RAM, arm-smmuv3 on pcie.0, virtio-net-pci at 00:02.0 (SID 0x0010),
 * LOG2SIZE=8. Positions: 1 VmDefined, 2 SmmuAdded, 3 SmmuGuestStateChanged, 4 DeviceAttached.
 */
function emulated(stage: '1' | '2' | 'nested' = '1'): Command[] {
  return [
    { type: 'DefineVm', vmId: 'vm', ramSize: 0x1_0000_0000n },
    { type: 'AddSmmu', smmuId: 'smmuv3.0', primaryBus: 'pcie.0', stage },
    { type: 'SetSmmuGuestState', smmuId: 'smmuv3.0', changes: { streamTableLog2Size: 8 } },
    { type: 'AttachDevice', deviceId: 'net0', driver: 'virtio-net-pci', bus: 'pcie.0', slot: 2 },
  ];
}
const net0 = (address: bigint) => ({ deviceId: 'net0', address, data: 0n });
const map = (stage: 1 | 2, iova: bigint, output: bigint, size = 0x1000n): Command => ({
  type: 'MapIova',
  deviceId: 'net0',
  stage,
  iova,
  output,
  size,
});
const ste = (command: Omit<CommandOf<'ConfigureSte'>, 'type' | 'deviceId'>): Command => ({
  type: 'ConfigureSte',
  deviceId: 'net0',
  ...command,
});
const guest = (changes: CommandOf<'SetSmmuGuestState'>['changes']): Command => ({
  type: 'SetSmmuGuestState',
  smmuId: 'smmuv3.0',
  changes,
});

const codes = (r: Resolution) => r.diagnostics.map((d) => d.code);
const cited = (r: Resolution) => r.trail.flatMap((s) => s.events.map((e) => e.position));
const run = (
  state: VmState,
  msi: { deviceId: string; address: bigint; data: bigint },
  semantics: Semantics = 'upstream',
) => resolve(state, msi, semantics);

describe('§9.1 address-space (v4) is keyed on the stage-1 HWPT', () => {
  it('§9.1 without a stage-1 HWPT the route carries the raw guest address, where pre-fix has none', () => {
    // S11 with a bypass vSTE: 1G RAM, so 0xFFFFF040 is backed by nothing. v4's
    // smmuv3_accel_find_msi_as() returns &address_space_memory (no s1_hwpt: the last install was
    // bypass), kvm_arch_fixup_msi_route returns at once: route {0xFFFFF040, 0x0, 0x200}, which is
    // not in the vITS (DOORBELL_NOT_IN_ITS). Pre-fix translates through the alias: unassigned, no route.
    const state = given(...accel({ ramSize: 0x4000_0000n }), accelSte('bypass'));
    const v4 = run(state, hostdev(), 'address-space');
    expect(v4.addressSpace).toBe('system');
    expect(v4.route).toMatchObject({ installed: true, address: 0xffff_f040n, data: 0n, devid: 0x200n });
    expect(codes(v4)).toContain('DOORBELL_NOT_IN_ITS');
    expect(v4.comparison['pre-fix']).toMatchObject({ installed: false, cause: 'unassigned' });
    // The step that chose the address space cites the install that left no s1_hwpt (event 7).
    const chosen = v4.trail.find((s) => s.output.addressSpace === 'system')!;
    expect(chosen.events.map((e) => e.position)).toContain(7);
  });

  it('§9.1 the stage-1 HWPT follows the last install, not the live SMMUEN: SMMUEN=0 with GBPA.ABORT=1 gives no route', () => {
    // The default vSTE (s1, installed at attach, event 5) gave the device an s1_hwpt. The guest
    // then clears SMMUEN and sets GBPA.ABORT (event 7); nothing re-installs an STE, so v4 still
    // returns &sdev->as, and smmuv3_translate takes the GBPA branch: SMMU_TRANS_ABORT, no route.
    const state = given(...accel(), accelGuest({ enabled: false, gbpaAbort: true }));
    const v4 = run(state, hostdev(), 'address-space');
    expect(v4.addressSpace).toBe('smmu-iommu');
    expect(v4.route).toMatchObject({ installed: false, cause: 'aborted' });
    expect(v4.trail.some((s) => s.rule === 'R5')).toBe(true);
  });

  it('§9.1 a nested vSTE (0b111) counts as stage 1 on, so v4 walks it and the stage-1-only vSMMU rejects it', () => {
    // STE_CFG_S1_ENABLED covers 0b111: s1_hwpt is set, &sdev->as is used, and decode_ste finds
    // stage 2 used but not advertised (accel is stage=1 only): C_BAD_STE, no route.
    const state = given(...accel(), accelSte('nested'));
    const v4 = run(state, hostdev(), 'address-space');
    expect(v4.addressSpace).toBe('smmu-iommu');
    expect(v4.fault).toMatchObject({ type: 'C_BAD_STE', stage: null });
  });
});

describe('§9.2 CD.T1SZ sizes TT1', () => {
  // CD T0SZ=16 (TT0 = [0, 2^48)), EPD1=0, T1SZ=25: TT1 is the top 2^39 bytes, from
  // 2^64 - 2^39 = 0xFFFFFF8000000000 (select_tt with tt[1].tsz = 25).
  const tt1Base = 0xffff_ff80_0000_0000n;
  const withTt1 = (t1sz: number | undefined) =>
    given(
      ...emulated(),
      ste({ config: 's1', cd: { t0sz: 16, epd1: false, ...(t1sz === undefined ? {} : { t1sz }) } }),
      map(1, tt1Base, 0x0809_0000n),
    );

  it('§9.2 an address in the top 2^39 bytes walks TT1 to the doorbell', () => {
    const r = run(withTt1(25), net0(tt1Base + 0x40n));
    expect(r.route).toMatchObject({ installed: true, address: 0x0809_0040n });
    expect(r.trail.find((s) => s.action.startsWith('stage-1 walk'))!.input).toMatchObject({ tt: 'TT1' });
  });

  it('§9.2 an address TT1 would cover with T1SZ=T0SZ falls in the gap with T1SZ=25: F_TRANSLATION', () => {
    // 0xFFFF000000000040: its top 16 bits are ones (TT1 if T1SZ were 16), but not its top 25, and
    // it is not below 2^48: select_tt returns NULL, a stage-1 F_TRANSLATION (CLASS=IN), recorded (CD.R=1).
    const gap = 0xffff_0000_0000_0040n;
    expect(run(withTt1(25), net0(gap)).fault).toMatchObject({
      type: 'F_TRANSLATION',
      stage: 1,
      class: 'IN',
      recorded: true,
    });
    // Before §9 the model gave TT1 the size of TT0; T1SZ left out still does (default = T0SZ), so the
    // same address selects TT1, which maps nothing there: F_TRANSLATION from the walk instead.
    const same = given(
      ...emulated(),
      ste({ config: 's1', cd: { t0sz: 16, epd1: false } }),
      map(1, gap - 0x40n, 0x0809_0000n),
    );
    expect(same.devices.get('net0')!.ste.cd!.t1sz).toBe(16);
    expect(run(same, net0(gap)).route).toMatchObject({ installed: true, address: 0x0809_0040n });
  });

  it('§9.2 T1SZ outside [16, 39] is C_BAD_CD when TT1 is enabled, and unchecked when EPD1=1', () => {
    // decode_cd checks each TT's TSZ only when its EPD is clear.
    const bad = given(
      ...emulated(),
      ste({ config: 's1', cd: { epd1: false, t1sz: 40 } }),
      map(1, 0xffff_f000n, 0x0809_0000n),
    );
    expect(run(bad, net0(0xffff_f040n)).fault).toMatchObject({
      type: 'C_BAD_CD',
      code: 0x0an,
      stage: null,
      class: null,
      recorded: true,
    });
    const ignored = given(
      ...emulated(),
      ste({ config: 's1', cd: { epd1: true, t1sz: 40 } }),
      map(1, 0xffff_f000n, 0x0809_0000n),
    );
    expect(run(ignored, net0(0xffff_f040n)).route).toMatchObject({ installed: true, address: 0x0809_0040n });
  });
});

describe('§9.3 nested: the CD and table addresses are IPAs read through stage 2', () => {
  // S4: nested vSMMU, CD TG0=64K, T0SZ=16; S1 maps 0xFFFF0000 (64K) -> IPA 0x48000000, S2 (4K)
  // maps IPA 0x48000000 -> 0x08090000. Positions 1-4 emulated, 5 SteConfigured, 6-7 IovaMapped.
  const s4 = (addresses: Pick<CommandOf<'ConfigureSte'>, 'cdAddress' | 'ttb0'>, ...more: Command[]) =>
    given(
      ...emulated('nested'),
      ste({ config: 'nested', cd: { granule: '64K', t0sz: 16 }, ...addresses }),
      map(1, 0xffff_0000n, 0x4800_0000n, 0x1_0000n),
      map(2, 0x4800_0000n, 0x0809_0000n),
      ...more,
    );

  it('§9.3 a CD address stage 2 does not map faults with CLASS=CD, S2=1, recorded (STE.S2R), input = the gIOVA', () => {
    // smmu_get_cd: smmuv3_do_translate(CD IPA 0x50000000, IOMMU_RO, CLASS_CD) -> smmu_ptw_64_s2 finds no
    // PTE: F_TRANSLATION, S2=1, CLASS=CD; smmuv3_fixup_event sets InputAddr to the gIOVA 0xFFFF0040.
    const r = run(s4({ cdAddress: 0x5000_0000n }), net0(0xffff_0040n));
    expect(r.fault).toMatchObject({
      type: 'F_TRANSLATION',
      stage: 2,
      class: 'CD',
      inputAddress: 0xffff_0040n,
      recorded: true,
    });
    expect(r.route.installed).toBe(false);
  });

  it('§9.3 with the CD mapped, an unmapped TTB0 faults with CLASS=TT; with both mapped the MSI reaches the doorbell', () => {
    const cdMapped = map(2, 0x5000_0000n, 0x5000_0000n);
    // decode_cd: TTB0 0x51000000 is below the stage-1 output size (2^44), then read through stage 2: no PTE.
    const tt = run(s4({ cdAddress: 0x5000_0000n, ttb0: 0x5100_0000n }, cdMapped), net0(0xffff_0040n));
    expect(tt.fault).toMatchObject({ type: 'F_TRANSLATION', stage: 2, class: 'TT' });
    const ok = run(
      s4({ cdAddress: 0x5000_0000n, ttb0: 0x5100_0000n }, cdMapped, map(2, 0x5100_0000n, 0x5100_0000n)),
      net0(0xffff_0040n),
    );
    expect(ok.route).toMatchObject({ installed: true, address: 0x0809_0040n });
    expect(ok.trail.some((s) => s.action.includes('CLASS=CD'))).toBe(true);
    // Only what the topology cannot state is assumed: the next-level tables.
    const assumed = ok.trail.find((s) => s.action.includes('assumed to translate cleanly'))!;
    expect(assumed.input).toEqual({ assumedClean: ['the next-level stage-1 tables'] });
  });

  it('§9.3 descriptor addresses left out are named in the trail as assumed clean (S4 as the reference states it)', () => {
    const r = run(s4({}), net0(0xffff_0040n));
    expect(r.route).toMatchObject({ installed: true, address: 0x0809_0040n });
    const assumed = r.trail.find((s) => s.action.includes('assumed to translate cleanly'))!;
    expect(assumed.input).toEqual({
      assumedClean: ['the CD address (STE.S1ContextPtr)', 'the TT0 base (CD.TTB0)', 'the next-level stage-1 tables'],
    });
    expect(assumed.events.map((e) => e.position)).toEqual([5]);
  });

  it('§9.3 a TTB beyond the stage-1 output size is C_BAD_CD, in s1 mode too', () => {
    // decode_cd: cfg->oas = min(IPS=44, OAS=44) = 44; TTB0 = 2^44 has a bit outside that mask.
    const r = run(
      given(...emulated(), ste({ config: 's1', ttb0: 1n << 44n }), map(1, 0xffff_f000n, 0x0809_0000n)),
      net0(0xffff_f040n),
    );
    expect(r.fault).toMatchObject({ type: 'C_BAD_CD', stage: null });
  });

  it('§9.3 descriptor addresses are refused for configs without stage 1', () => {
    const state = given(...emulated('2'));
    expect(() => decide(ste({ config: 's2', cdAddress: 0x5000_0000n }), state)).toThrow(
      expect.objectContaining({ code: 'STE_FIELD_NOT_USED', pointer: '/cdAddress' }),
    );
  });
});

describe('§9.4 the RMR identity is a guest fact', () => {
  // No guest stage-1 mapping covers the sw_msi write 0x08000040, so what stage 1 does with it rests
  // on the guest's handling of the IORT RMR (iort_get_rmrs).
  const stage1Step = (r: Resolution) => r.hardwarePath!.steps.find((s) => s.action.startsWith('stage 1'))!;

  it('§9.4 by default the guest honours the RMR: delivered, and the step cites the VM definition that set it', () => {
    const r = run(given(...accel()), hostdev());
    expect(r.hardwarePath).toMatchObject({ delivered: true });
    expect(stage1Step(r).action).toContain('honours the IORT RMR');
    expect(stage1Step(r).events.map((e) => e.position)).toContain(1);
  });

  it('§9.4 rmrHonoured=false through the SMMU guest state breaks the sw_msi identity: hardware path blocked', () => {
    // Event 7 sets it; the physical SMMU finds no identity for 0x08000040 in the guest's stage 1.
    const state = given(...accel(), accelGuest({ rmrHonoured: false }));
    expect(state.smmus.get('smmuv3.0')!.guest.rmrHonoured).toEqual({
      value: false,
      setBy: { position: 7, type: 'SmmuGuestStateChanged' },
    });
    const r = run(state, hostdev());
    expect(r.route).toMatchObject({ installed: true, address: 0x0809_0040n });
    expect(r.hardwarePath).toMatchObject({ delivered: false });
    expect(stage1Step(r).events.map((e) => e.position)).toContain(7);
    expect(codes(r)).toContain('HW_PATH_BLOCKED');
  });

  it('§9.4 rmrHonoured=false on the VM (a DT boot) is every SMMU default; a bypass vSTE needs no RMR', () => {
    const dt = given(...accel({ rmrHonoured: false }));
    expect(run(dt, hostdev()).hardwarePath).toMatchObject({ delivered: false });
    expect(run(given(...accel({ rmrHonoured: false }), accelSte('bypass')), hostdev()).hardwarePath).toMatchObject({
      delivered: true,
    });
    // The VM's default is recorded only when given, so VmDefined reads as before §9 otherwise.
    expect(decide({ type: 'DefineVm', vmId: 'x' }, undefined)[0]!.data).not.toHaveProperty('rmrHonoured');
  });
});

describe('§9.5 0x08090042 is injected and flagged', () => {
  it('§9.5 a misaligned doorbell in the translation frame: route installed, MSI_ADDR_MISALIGNED and DOORBELL_NOT_TRANSLATER', () => {
    // vgic_msi_to_its looks the ITS up over its whole region and never checks the offset: injected.
    const r = run(given(...emulated(), map(1, 0xffff_f000n, 0x0809_0000n)), net0(0xffff_f042n));
    expect(r.route).toMatchObject({ installed: true, address: 0x0809_0042n });
    expect(r.diagnostics).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ code: 'MSI_ADDR_MISALIGNED', severity: 'warning' }),
        expect.objectContaining({ code: 'DOORBELL_NOT_TRANSLATER', severity: 'KVM-tolerated' }),
      ]),
    );
    expect(codes(r)).not.toContain('INTERRUPTS_LOST');
  });
});

describe('§9.6 S2T0SZ is bounded by the effective S2PS', () => {
  // Stage-2 vSMMU (OAS 44), STE.S2PS=40: eff_ps = min(40, 44) = 40, so s2t0sz_valid needs
  // S2T0SZ >= max(64 - 40, 16) = 24. The pre-§9 bound used IAS: 64 - 44 = 20.
  const s2 = (t0sz: number, granule: '4K' | '64K' = '4K') =>
    given(
      ...emulated('2'),
      ste({ config: 's2', s2: { t0sz, ps: 40, granule } }),
      map(2, 0x8000_0000n, 0x0809_0000n, granule === '64K' ? 0x1_0000n : 0x1000n),
    );

  it('§9.6 S2T0SZ=22 with S2PS=40 is C_BAD_STE (it passed the IAS bound before §9)', () => {
    expect(run(s2(22), net0(0x8000_0040n)).fault).toMatchObject({
      type: 'C_BAD_STE',
      stage: null,
      reason: expect.stringContaining('[24, 39]'),
    });
  });

  it('§9.6 S2T0SZ=24 is the smallest accepted, 4K or 64K (64K: 64 - eff_ps = 24)', () => {
    expect(run(s2(24), net0(0x8000_0040n)).route).toMatchObject({ installed: true, address: 0x0809_0040n });
    expect(run(s2(23, '64K'), net0(0x8000_0040n)).fault).toMatchObject({ type: 'C_BAD_STE' });
    expect(run(s2(24, '64K'), net0(0x8000_0040n)).route).toMatchObject({ installed: true, address: 0x0809_0040n });
  });
});

describe('§9.7 the whole STE is validated before the CD', () => {
  it('§9.7 a nested STE with a bad S2T0SZ and a bad CD.T0SZ gives C_BAD_STE (the model said C_BAD_CD before §9)', () => {
    // smmuv3_decode_config: decode_ste (decode_ste_s2_cfg: S2T0SZ=40 > 39) fails before smmu_get_cd.
    const state = given(...emulated('nested'), ste({ config: 'nested', cd: { t0sz: 40 }, s2: { t0sz: 40 } }));
    expect(run(state, net0(0xffff_f040n)).fault).toMatchObject({ type: 'C_BAD_STE', stage: null });
  });
});

describe('§9.8 the accel hardware path follows the last accepted vSTE install', () => {
  const stage1Step = (r: Resolution) => r.hardwarePath!.steps.find((s) => s.action.startsWith('stage 1'))!;

  it('§9.8 an s2 or nested vSTE is refused (CERROR_ILL): the device keeps its nested stage-1 HWPT', () => {
    // smmuv3_accel_install_ste: only STE_CFG_S1_TRANSLATE gets a HWPT; "Invalid STE config" fails
    // before attaching. The HWPT of the attach-time install (event 5) stays; the RMR covers sw_msi.
    for (const config of ['s2', 'nested'] as const) {
      const r = run(given(...accel(), accelSte(config)), hostdev());
      expect(r.hardwarePath, config).toMatchObject({ delivered: true });
      expect(stage1Step(r).action).toContain('Invalid STE config for sid 0x200');
      expect(stage1Step(r).events.map((e) => e.position)).toEqual(expect.arrayContaining([5, 7]));
    }
  });

  it('§9.8 a refused install after an abort vSTE keeps abort_hwpt (before §9 the model blocked it for the s2 config itself)', () => {
    const r = run(given(...accel(), accelSte('abort'), accelSte('s2')), hostdev());
    expect(r.hardwarePath).toMatchObject({ delivered: false });
    expect(stage1Step(r).action).toContain('abort_hwpt, attached for the vSTE abort');
  });

  it('§9.8 a SID beyond the stream table installs nothing: an abort vSTE written then does not reach the hardware', () => {
    // LOG2SIZE=8: SID 0x200 >= 2^8, so smmu_find_ste fails and smmuv3_accel_install_ste returns
    // ("No STE found, nothing to install"): the s1 HWPT of event 5 stays, delivered.
    const state = given(...accel(), accelGuest({ streamTableLog2Size: 8 }), accelSte('abort'));
    expect(state.devices.get('hostdev0')!.hwpt).toEqual({
      value: { hwpt: 'nested-s1', via: 'ste', config: 's1' },
      setBy: { position: 5, type: 'DeviceAttached' },
    });
    expect(run(state, hostdev()).hardwarePath).toMatchObject({ delivered: true });
  });
});

describe('§9.9 GBPA on the accel path', () => {
  // The guest stage 1 maps the sw_msi page to RAM (event 7): whenever the nested stage-1 HWPT is
  // attached, the physical SMMU sends the MSI elsewhere; bypass_hwpt leaves it alone.
  const broken: Command = {
    type: 'MapIova',
    deviceId: 'hostdev0',
    stage: 1,
    iova: 0x0800_0000n,
    output: 0x4000_0000n,
    size: 0x1000n,
  };

  it('§9.9 a CR0 write alone (SMMUEN=0) re-attaches nothing: the stage-1 HWPT still carries the MSI', () => {
    // Before §9 the model took the live SMMUEN=0 with GBPA bypass as bypass_hwpt (delivered).
    const r = run(given(...accel(), broken, accelGuest({ enabled: false })), hostdev());
    expect(r.hardwarePath).toMatchObject({ delivered: false });
  });

  it('§9.9 CFGI_STE while SMMUEN=0 attaches the GBPA HWPT (bypass)', () => {
    const r = run(given(...accel(), broken, accelGuest({ enabled: false }), accelSte('s1')), hostdev());
    expect(r.hardwarePath).toMatchObject({ delivered: true });
    expect(r.hardwarePath!.steps.some((s) => s.action.includes('bypass_hwpt, attached for the GBPA HWPT'))).toBe(true);
  });

  it('§9.9 a GBPA write attaches the GBPA HWPT at once, to every device of the SMMU, whatever SMMUEN', () => {
    // smmu_writel(A_GBPA) -> smmuv3_accel_attach_gbpa_hwpt: GBPA.ABORT=1 -> abort_hwpt (event 8).
    const state = given(...accel(), broken, accelGuest({ gbpaAbort: true }));
    expect(state.devices.get('hostdev0')!.hwpt).toEqual({
      value: { hwpt: 'abort', via: 'gbpa', config: null },
      setBy: { position: 8, type: 'SmmuGuestStateChanged' },
    });
    expect(run(state, hostdev()).hardwarePath).toMatchObject({ delivered: false });
  });
});

describe('2-level stream table (item 7; smmu_find_ste, Part A spot-check)', () => {
  // SID 0x10 with SPLIT=8: L1 index 0, L2 offset 0x10. QEMU accepts L2 offsets up to (1 << span) - 1.
  const twoLevel = (changes: CommandOf<'SetSmmuGuestState'>['changes']) =>
    given(...emulated(), map(1, 0xffff_f000n, 0x0809_0000n), guest({ streamTableFormat: '2-level', ...changes }));

  it('as Linux programs it (SPLIT=8, span 9) every SID in range finds its STE', () => {
    const state = twoLevel({});
    expect(state.smmus.get('smmuv3.0')!.guest).toMatchObject({ split: { value: 8 }, l1Span: { value: 9 } });
    const r = run(state, net0(0xffff_f040n));
    expect(r.route).toMatchObject({ installed: true, address: 0x0809_0040n });
    expect(r.trail.find((s) => s.source === 'smmu_find_ste')!.output.entry).toContain('L1STD[0] (span 9), L2 entry 16');
  });

  it('an L1 descriptor with span 0 is C_BAD_STREAMID; an L2 offset beyond the span is C_BAD_STE', () => {
    expect(run(twoLevel({ l1Span: 0 }), net0(0xffff_f040n)).fault).toMatchObject({
      type: 'C_BAD_STREAMID',
      code: 0x02n,
      stage: null,
      recorded: true,
    });
    // span 4: offsets 0..15; 0x10 is beyond. With SPLIT=4 the offset of 0x10 is 0 (L1 index 1): found.
    expect(run(twoLevel({ l1Span: 4 }), net0(0xffff_f040n)).fault).toMatchObject({
      type: 'C_BAD_STE',
      code: 0x04n,
      stage: null,
    });
    expect(run(twoLevel({ l1Span: 4, split: 4 }), net0(0xffff_f040n)).route).toMatchObject({ installed: true });
  });

  it('the LOG2SIZE bound still applies first, and out-of-field values are refused', () => {
    expect(run(twoLevel({ streamTableLog2Size: 4 }), net0(0xffff_f040n)).fault).toMatchObject({
      type: 'C_BAD_STREAMID',
    });
    const error = (() => {
      try {
        decide(guest({ l1Span: 32 }), given(...emulated()));
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(DomainError);
    expect(error).toMatchObject({ code: 'GUEST_STATE_OUT_OF_RANGE', pointer: '/l1Span' });
  });

  it('an accel vSTE install whose L1 descriptor is invalid is skipped: the previous HWPT stays', () => {
    const state = given(...accel(), accelGuest({ streamTableFormat: '2-level', l1Span: 0 }), accelSte('abort'));
    expect(state.devices.get('hostdev0')!.refusedInstall!.value.reason).toContain('C_BAD_STREAMID');
    expect(run(state, hostdev()).hardwarePath).toMatchObject({ delivered: true });
  });
});

describe('§9.10 presentation', () => {
  it('§9.10 a configuration fault has no stage and no CLASS', () => {
    const r = run(given(...emulated(), ste({ config: 'invalid' })), net0(0xffff_f040n));
    expect(r.fault).toMatchObject({ type: 'C_BAD_STE', stage: null, class: null });
    expect(r.route).toMatchObject({
      installed: false,
      reason: expect.stringContaining('C_BAD_STE (0x4) (configuration)'),
    });
  });

  it('§9.10 INTERRUPTS_LOST names the fallback of the device: msix_notify for an emulated device, QEMU signalling for vfio-pci', () => {
    const emulatedLost = run(given(...emulated()), net0(0xffff_e040n)).diagnostics.find(
      (d) => d.code === 'INTERRUPTS_LOST',
    )!;
    expect(emulatedLost.message).toContain('emulated device signals through msix_notify');
    expect(emulatedLost.message).not.toContain('vfio-pci');
    // S11 pre-fix: no route for the vfio-pci device.
    const vfioLost = run(given(...accel({ ramSize: 0x4000_0000n })), hostdev(), 'pre-fix').diagnostics.find(
      (d) => d.code === 'INTERRUPTS_LOST',
    )!;
    expect(vfioLost.message).toContain('vfio-pci falls back to QEMU signalling');
  });

  it('§9.10 with GICv2m the hardware path has no vITS step and ends at the GSI direct route', () => {
    // R17: kvm_gsi_direct_mapping, so the upstream "route" is the GSI, not a doorbell.
    const r = run(given(...accel({ gicVersion: 2 })), hostdev());
    expect(r.route).toMatchObject({ installed: false, cause: 'gsi-direct' });
    const last = r.hardwarePath!.steps.at(-1)!;
    expect(last.action).toContain('GICv2m');
    expect(r.hardwarePath!.steps.some((s) => s.action.includes('KVM MSI route to the vITS'))).toBe(false);
    expect(r.hardwarePath!.delivered).toBe(true);
  });

  it('§9.10 without hostItsBase delivered is null (unknown), not true, and nothing is flagged blocked', () => {
    const r = run(given(...accel({ hostItsBase: undefined })), hostdev());
    expect(r.hardwarePath).toMatchObject({ delivered: null, reason: expect.stringContaining('hostItsBase') });
    expect(codes(r)).not.toContain('HW_PATH_BLOCKED');
    // R1 (no vIOMMU) alike.
    const bare = given(
      { type: 'DefineVm', vmId: 'vm' },
      {
        type: 'AttachDevice',
        deviceId: 'hostdev0',
        driver: 'vfio-pci',
        bus: 'pcie.0',
        slot: 3,
        host: '0000:75:00.1',
        iommufd: 'iommufd0',
      },
    );
    expect(run(bare, { deviceId: 'hostdev0', address: 0x0809_0040n, data: 0n }).hardwarePath!.delivered).toBeNull();
  });

  it('§9.10 missingBeforeFix beside misroutedBeforeFix: S10 is misrouted, S11 is missing', () => {
    // S10: pre-fix installs {0xFFFFF040} (RAM) where upstream installs {0x08090040}: misrouted.
    const s10 = run(given(...accel()), hostdev());
    expect(s10.comparison).toMatchObject({ misroutedBeforeFix: true, missingBeforeFix: false });
    // S11: 1G RAM, pre-fix installs nothing: missing, and not misrouted.
    const s11 = run(given(...accel({ ramSize: 0x4000_0000n })), hostdev());
    expect(s11.comparison).toMatchObject({ misroutedBeforeFix: false, missingBeforeFix: true });
    expect(codes(s11)).toEqual(expect.arrayContaining(['MISSING_BEFORE_FIX']));
    expect(codes(s11)).not.toContain('MISROUTED_BEFORE_FIX');
  });
});

describe('model version (item 9)', () => {
  it('every resolution names the model that produced it, version 4 (the §9 corrections, §10 builds, then virtio-iommu)', () => {
    const r = run(given(...accel()), hostdev());
    expect(r.model).toEqual(MODEL);
    expect(r.model.version).toBe(4);
    expect(r.model.reference).toContain('§9');
    expect(r.model.reference).toContain('§10');
  });
});

describe('provenance of the new facts', () => {
  it('every trail step of a nested, 2-level, accel or RMR resolution cites events of its state', () => {
    const vector = (deviceId: string, address: bigint): Command => ({
      type: 'ProgramMsiVector',
      deviceId,
      vector: 0,
      address,
      data: 0n,
    });
    const nested = given(
      ...emulated('nested'),
      ste({ config: 'nested', cdAddress: 0x5000_0000n }),
      guest({ streamTableFormat: '2-level' }),
      vector('net0', 0xffff_f040n),
    );
    // 7: rmrHonoured=false, 8: the refused s2 install, 9: the vector.
    const accelState = given(
      ...accel(),
      accelGuest({ rmrHonoured: false }),
      accelSte('s2'),
      vector('hostdev0', 0xffff_f040n),
    );
    for (const [state, deviceId] of [
      [nested, 'net0'],
      [accelState, 'hostdev0'],
    ] as const) {
      for (const semantics of ['upstream', 'address-space', 'pre-fix'] as const) {
        for (const step of resolve(state, { deviceId, vector: 0 }, semantics).trail) {
          expect(step.events.length, step.action).toBeGreaterThan(0);
          for (const e of step.events) expect(e.position).toBeLessThanOrEqual(state.position);
        }
      }
    }
    expect(cited(resolve(accelState, { deviceId: 'hostdev0', vector: 0 }, 'upstream'))).toEqual(
      expect.arrayContaining([7, 8]),
    );
  });
});
