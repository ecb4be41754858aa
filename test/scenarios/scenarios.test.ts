// The worked scenarios S1-S24 of the domain reference (§5), each built and resolved through the
// HTTP API against a real SQLite file.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { acceleratedS10, command, emulatedBaseline } from '../helpers/topology';
import { codesOf, installed, resolveMsi } from '../helpers/resolve';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => t.close());

const map = (vm: string, body: Record<string, unknown>, device = 'net0') =>
  command(t, 'post', `/v1/vms/${vm}/devices/${device}/mappings`, { stage: 1, size: '0x1000', ...body });
const program = (vm: string, address: string, data = '0x0', device = 'net0', vector = 0) =>
  command(t, 'put', `/v1/vms/${vm}/devices/${device}/msi-vectors/${vector}`, { address, data });
const setSte = (vm: string, body: Record<string, unknown>, device = 'net0') =>
  command(t, 'put', `/v1/vms/${vm}/devices/${device}/ste`, body);

/** §5 emulated baseline with the doorbell page mapped at 0xFFFFF000 (S2's stage 1). */
async function s2Topology(vm: string, leaf: Record<string, unknown> = {}) {
  await emulatedBaseline(t, vm);
  await map(vm, { iova: '0xFFFFF000', output: '0x08090000', ...leaf });
}

describe('domain reference §5 scenarios, through HTTP', () => {
  it('S1 — no vIOMMU, vfio-pci: the guest address is the doorbell, before and after the fix (R1)', async () => {
    await command(t, 'post', '/v1/vms', { id: 's1', ramSize: '0x100000000', hostItsBase: '0x202100000' });
    await command(t, 'post', '/v1/vms/s1/devices', {
      id: 'hostdev0',
      driver: 'vfio-pci',
      bus: 'pcie.0',
      slot: 3,
      host: '0000:75:00.1',
      iommufd: 'iommufd0',
    });
    await program('s1', '0x08090040', '0x1', 'hostdev0');
    for (const semantics of ['upstream', 'pre-fix', 'address-space']) {
      const r = await resolveMsi(t, 's1', { device: 'hostdev0', vector: 0, semantics });
      expect(r.addressSpace).toBe('system');
      expect(r.route).toEqual(installed('0x8090040', '0x1', '0x18'));
      expect(r.doorbell).toEqual({ its: true, frame: 'translation', offset: '0x40' });
      expect(r.comparison.misroutedBeforeFix).toBe(false);
      expect(r.diagnostics).toEqual([]);
      expect(r.hardwarePath).toMatchObject({ deviceWrites: '0x8000040', delivered: true });
    }
  });

  it('S2 — emulated stage 1 translates 0xFFFFF040 to the vITS doorbell (R2)', async () => {
    await s2Topology('s2');
    await program('s2', '0x00000000FFFFF040');
    const r = await resolveMsi(t, 's2', { device: 'net0', vector: 0 });
    expect(r.streamId).toBe('0x10');
    expect(r.addressSpace).toBe('smmu-iommu');
    expect(r.route).toEqual(installed('0x8090040', '0x0', '0x10'));
    expect(r.fault).toBeNull();
    expect(r.comparison.misroutedBeforeFix).toBe(false);
    expect(r.comparison['pre-fix']).toEqual(r.comparison.upstream);
    expect(r.hardwarePath).toBeNull();
    expect(r.trail.some((s) => s.rule === 'R2' && s.action.startsWith('stage-1 walk'))).toBe(true);
  });

  it('S3 — emulated stage=2 walks the input as an IPA (R3)', async () => {
    await emulatedBaseline(t, 's3', { stage: '2' });
    await setSte('s3', { config: 's2', s2: { granule: '4K', t0sz: 24, ps: 44, recordFaults: true } });
    await map('s3', { stage: 2, iova: '0x80000000', output: '0x08090000' });
    await program('s3', '0x80000040');
    const r = await resolveMsi(t, 's3', { device: 'net0', vector: 0 });
    expect(r.route).toEqual(installed('0x8090040', '0x0', '0x10'));
    expect(r.trail.some((s) => s.rule === 'R3' && s.action.startsWith('stage-2 walk'))).toBe(true);
  });

  it('S4 — emulated nested: stage 1 (64K) to IPA 0x48000040, stage 2 to the doorbell (R4)', async () => {
    await emulatedBaseline(t, 's4', { stage: 'nested' });
    await setSte('s4', { config: 'nested', cd: { granule: '64K', t0sz: 16 } });
    await map('s4', { iova: '0xFFFF0000', output: '0x48000000', size: '0x10000' });
    await map('s4', { stage: 2, iova: '0x48000000', output: '0x08090000' });
    await program('s4', '0xFFFF0040');
    const r = await resolveMsi(t, 's4', { device: 'net0', vector: 0 });
    expect(r.route).toEqual(installed('0x8090040', '0x0', '0x10'));
    const walks = r.trail.filter((s) => s.rule === 'R4');
    expect(walks.map((s) => s.output)).toEqual([{ ipa: '0x48000040' }, { gpa: '0x8090040' }]);
  });

  it('S5 — emulated, SMMU disabled: GBPA bypass gives identity (a), GBPA.ABORT gives no route and no event (b) (R5)', async () => {
    await emulatedBaseline(t, 's5');
    await command(t, 'put', '/v1/vms/s5/smmus/smmuv3.0/guest-state', { enabled: false });
    await program('s5', '0x08090040');
    const a = await resolveMsi(t, 's5', { device: 'net0', vector: 0 });
    expect(a.route).toEqual(installed('0x8090040', '0x0', '0x10'));

    await command(t, 'put', '/v1/vms/s5/smmus/smmuv3.0/guest-state', { gbpaAbort: true });
    const b = await resolveMsi(t, 's5', { device: 'net0', vector: 0 });
    expect(b.route).toMatchObject({ installed: false, cause: 'aborted' });
    expect(b.fault).toBeNull();
    expect(b.trail.some((s) => s.rule === 'R5')).toBe(true);
  });

  it('S6 — emulated STE bypass: identity; a RAM address installs a route that never injects (R6)', async () => {
    await emulatedBaseline(t, 's6');
    await setSte('s6', { config: 'bypass' });
    await program('s6', '0x08090040');
    const a = await resolveMsi(t, 's6', { device: 'net0', vector: 0 });
    expect(a.route).toEqual(installed('0x8090040', '0x0', '0x10'));
    // Nothing wrong; only the note that no QEMU build is declared, so upstream was assumed (§10, Q8).
    expect(a.diagnostics.map((d) => [d.code, d.severity])).toEqual([['QEMU_BUILD_UNKNOWN', 'info']]);

    await program('s6', '0xFFFFF040');
    const b = await resolveMsi(t, 's6', { device: 'net0', vector: 0 });
    expect(b.route).toEqual(installed('0xfffff040', '0x0', '0x10'));
    expect(codesOf(b)).toEqual(expect.arrayContaining(['DOORBELL_NOT_IN_ITS', 'INTERRUPTS_LOST']));
  });

  it('S7 — emulated STE abort: no event recorded, no route (R7)', async () => {
    await emulatedBaseline(t, 's7');
    await setSte('s7', { config: 'abort' });
    await program('s7', '0xFFFFF040');
    const r = await resolveMsi(t, 's7', { device: 'net0', vector: 0 });
    expect(r.route).toMatchObject({ installed: false, cause: 'aborted' });
    expect(r.fault).toBeNull();
  });

  it('S8 — emulated invalid STE: C_BAD_STE (0x04) for SID 0x0010, recorded, no route', async () => {
    await emulatedBaseline(t, 's8');
    await setSte('s8', { config: 'invalid' });
    await program('s8', '0xFFFFF040');
    const r = await resolveMsi(t, 's8', { device: 'net0', vector: 0 });
    expect(r.fault).toMatchObject({ type: 'C_BAD_STE', code: '0x4', streamId: '0x10', recorded: true });
    expect(r.route.installed).toBe(false);
  });

  it('S9 — vfio-pci behind an emulated vSMMU is refused (R8), so there is nothing to resolve', async () => {
    await command(t, 'post', '/v1/vms', { id: 's9' });
    await command(t, 'post', '/v1/vms/s9/smmus', { id: 'smmuv3.0', primaryBus: 'pcie.0' });
    const refused = await t.http
      .post('/v1/vms/s9/devices')
      .send({ id: 'hostdev0', driver: 'vfio-pci', bus: 'pcie.0', slot: 3, host: '0000:75:00.1', iommufd: 'iommufd0' });
    expect(refused.status).toBe(422);
    expect(refused.body.code).toBe('VFIO_BEHIND_EMULATED_SMMU');
    expect(refused.body.detail).toContain('requires iommu MAP notifier which is not currently supported');
    const none = await t.http
      .post('/v1/vms/s9/msi-resolutions')
      .send({ device: 'hostdev0', address: '0x8090040', data: '0x0' });
    expect(none.status).toBe(404);
    expect(none.body.code).toBe('DEVICE_NOT_FOUND');
  });

  it('S10 — accel, the bug: pre-fix routes the gIOVA 0xFFFFF040 (lost), QEMU 11.0 routes 0x08090040 (R9)', async () => {
    await acceleratedS10(t, 's10');
    const before = await resolveMsi(t, 's10', { device: 'hostdev0', vector: 0, semantics: 'pre-fix' });
    expect(before.streamId).toBe('0x200');
    expect(before.addressSpace).toBe('sysmem-alias');
    expect(before.route).toEqual(installed('0xfffff040', '0x0', '0x200'));
    expect(codesOf(before)).toEqual(
      expect.arrayContaining(['DOORBELL_NOT_IN_ITS', 'INTERRUPTS_LOST', 'MISROUTED_BEFORE_FIX']),
    );

    const after = await resolveMsi(t, 's10', { device: 'hostdev0', vector: 0 });
    expect(after.semantics).toBe('upstream');
    expect(after.addressSpace).toBe('direct-gpa');
    expect(after.route).toEqual(installed('0x8090040', '0x0', '0x200'));
    expect(after.comparison.misroutedBeforeFix).toBe(true);
    expect(after.comparison['pre-fix']).toEqual(before.route);
    expect(after.hardwarePath).toMatchObject({ deviceWrites: '0x8000040', delivered: true });
    expect(after.hardwarePath!.steps.map((s) => s.output)).toContain('0x202110040');
    expect(codesOf(after)).not.toContain('INTERRUPTS_LOST');
  });

  it('S11 — accel, gIOVA not backed (1G RAM): pre-fix has no route at all, QEMU 11.0 routes 0x08090040 (R9)', async () => {
    await acceleratedS10(t, 's11', { ramSize: '0x40000000' });
    const before = await resolveMsi(t, 's11', { device: 'hostdev0', vector: 0, semantics: 'pre-fix' });
    expect(before.route).toMatchObject({ installed: false, cause: 'unassigned' });
    expect(codesOf(before)).toContain('INTERRUPTS_LOST');
    const after = await resolveMsi(t, 's11', { device: 'hostdev0', vector: 0 });
    expect(after.route).toEqual(installed('0x8090040', '0x0', '0x200'));
    // Changed by §9.10: pre-fix installs no route here, which is "missing", not "misrouted"
    // (misroutedBeforeFix was true before §9).
    expect(after.comparison.misroutedBeforeFix).toBe(false);
    expect((after.comparison as { missingBeforeFix?: boolean }).missingBeforeFix).toBe(true);
    expect(codesOf(after)).toContain('MISSING_BEFORE_FIX');
    expect(after.hardwarePath).toMatchObject({ delivered: true });
  });

  it('S12 — accel, guest in passthrough: pre-fix is right by coincidence; bypass_hwpt on the hardware path (R10)', async () => {
    await acceleratedS10(t, 's12');
    await setSte('s12', { config: 'bypass' }, 'hostdev0');
    await program('s12', '0x08090040', '0x0', 'hostdev0');
    const r = await resolveMsi(t, 's12', { device: 'hostdev0', vector: 0 });
    expect(r.route).toEqual(installed('0x8090040', '0x0', '0x200'));
    expect(r.comparison['pre-fix']).toEqual(installed('0x8090040', '0x0', '0x200'));
    expect(r.comparison.misroutedBeforeFix).toBe(false);
    expect(r.hardwarePath!.delivered).toBe(true);
    expect(r.hardwarePath!.steps.some((s) => s.action.includes('bypass_hwpt'))).toBe(true);
  });

  it('S13 — accel, vSTE abort: the route is present but the hardware path is blocked (R11)', async () => {
    await acceleratedS10(t, 's13');
    await setSte('s13', { config: 'abort' }, 'hostdev0');
    const r = await resolveMsi(t, 's13', { device: 'hostdev0', vector: 0 });
    expect(r.route).toEqual(installed('0x8090040', '0x0', '0x200'));
    expect(r.hardwarePath).toMatchObject({ delivered: false });
    expect(r.diagnostics).toContainEqual(
      expect.objectContaining({
        code: 'HW_PATH_BLOCKED',
        message: expect.stringContaining('route present, hardware path blocked'),
      }),
    );
  });

  it('S14 — accel rejections name their rule (R12, R13, R15, R16)', async () => {
    await acceleratedS10(t, 's14');
    const cases: [string, Record<string, unknown>, string, string][] = [
      [
        '/v1/vms/s14/devices',
        { id: 'net0', driver: 'virtio-net-pci', bus: 'pcie.port1', slot: 0, function: 1 },
        'ACCEL_EMULATED_ENDPOINT',
        'Emulated endpoint devices are not allowed',
      ],
      [
        '/v1/vms/s14/devices',
        { id: 'hostdev1', driver: 'vfio-pci', bus: 'pcie.port1', slot: 0, function: 2, host: '0019:07:00.0' },
        'ACCEL_VFIO_WITHOUT_IOMMUFD',
        'vfio-pci endpoint devices without an iommufd backend not allowed',
      ],
      [
        '/v1/vms/s14/smmus',
        { id: 'smmuv3.1', primaryBus: 'pcie.0', accel: true, stage: 'nested' },
        'ACCEL_STAGE_NOT_1',
        'Only stage1 is supported',
      ],
    ];
    for (const [path, body, code, quote] of cases) {
      const response = await t.http.post(path).send(body).expect(422);
      expect(response.body.code).toBe(code);
      expect(response.body.detail).toContain(quote);
    }
    await command(t, 'post', '/v1/vms', { id: 's14-tcg', kvm: false });
    const tcg = await t.http
      .post('/v1/vms/s14-tcg/smmus')
      .send({ id: 'smmuv3.0', primaryBus: 'pcie.0', accel: true })
      .expect(422);
    expect(tcg.body.code).toBe('ACCEL_WITHOUT_KVM');
    expect(tcg.body.detail).toContain('SMMUv3 accel=on requires KVM with kernel-irqchip=on support');
  });

  it('S15 — F_TRANSLATION (0x10) for an unmapped gIOVA, recorded; with CD.R=0 not recorded', async () => {
    await s2Topology('s15');
    await program('s15', '0xFFFFE040');
    const r = await resolveMsi(t, 's15', { device: 'net0', vector: 0 });
    // Changed by §9.3: a walk fault names its CLASS (IN: the input itself, as §5 S15 states), so that a
    // nested descriptor fetch can say CD or TT.
    expect(r.fault).toEqual({
      type: 'F_TRANSLATION',
      code: '0x10',
      stage: 1,
      class: 'IN',
      streamId: '0x10',
      inputAddress: '0xffffe040',
      rnw: false,
      recorded: true,
      reason: expect.any(String),
    });
    expect(r.route.installed).toBe(false);

    await setSte('s15', { config: 's1', cd: { recordFaults: false } });
    const quiet = await resolveMsi(t, 's15', { device: 'net0', vector: 0 });
    expect(quiet.fault).toMatchObject({ type: 'F_TRANSLATION', recorded: false });
    expect(quiet.route.installed).toBe(false);
  });

  it('S16 — F_PERMISSION (0x13) on a read-only leaf', async () => {
    await s2Topology('s16', { perm: 'ro' });
    await program('s16', '0xFFFFF040');
    const r = await resolveMsi(t, 's16', { device: 'net0', vector: 0 });
    expect(r.fault).toMatchObject({ type: 'F_PERMISSION', code: '0x13', inputAddress: '0xfffff040', rnw: false });
    expect(r.route.installed).toBe(false);
  });

  it('S17 — F_ACCESS (0x12) on a leaf with AF=0 and CD.AFFD=0', async () => {
    await s2Topology('s17', { accessFlag: false });
    await program('s17', '0xFFFFF040');
    const r = await resolveMsi(t, 's17', { device: 'net0', vector: 0 });
    expect(r.fault).toMatchObject({ type: 'F_ACCESS', code: '0x12' });
    expect(r.route.installed).toBe(false);
  });

  it('S18 — F_ADDR_SIZE (0x11) when the output 0x200000000040 is beyond 2^44', async () => {
    await s2Topology('s18', { output: '0x200000000000' });
    await program('s18', '0xFFFFF040');
    const r = await resolveMsi(t, 's18', { device: 'net0', vector: 0 });
    expect(r.fault).toMatchObject({ type: 'F_ADDR_SIZE', code: '0x11', stage: 1 });
    expect(r.route.installed).toBe(false);
  });

  it('S19 — an IOVA outside the T0SZ=25 range selects the disabled TT1: F_TRANSLATION', async () => {
    await emulatedBaseline(t, 's19');
    await setSte('s19', { config: 's1', cd: { t0sz: 25, epd1: true } });
    await program('s19', '0x0000008000000040');
    const r = await resolveMsi(t, 's19', { device: 'net0', vector: 0 });
    expect(r.fault).toMatchObject({ type: 'F_TRANSLATION', code: '0x10', inputAddress: '0x8000000040' });
    expect(r.route.installed).toBe(false);
  });

  it('S20 — a gPA in RAM: the route is installed, no event, and every injection is lost (DOORBELL_NOT_IN_ITS)', async () => {
    await s2Topology('s20', { output: '0x40001000' });
    await program('s20', '0xFFFFF040');
    const r = await resolveMsi(t, 's20', { device: 'net0', vector: 0 });
    expect(r.route).toEqual(installed('0x40001040', '0x0', '0x10'));
    expect(r.fault).toBeNull();
    expect(r.doorbell).toMatchObject({ its: false });
    expect(codesOf(r)).toEqual(expect.arrayContaining(['DOORBELL_NOT_IN_ITS', 'INTERRUPTS_LOST']));
  });

  it('S21 — the control frame, not the translation frame: KVM-tolerated DOORBELL_NOT_TRANSLATER', async () => {
    await s2Topology('s21', { output: '0x08080000' });
    await program('s21', '0xFFFFF040');
    const r = await resolveMsi(t, 's21', { device: 'net0', vector: 0 });
    expect(r.route).toEqual(installed('0x8080040', '0x0', '0x10'));
    expect(r.doorbell).toEqual({ its: true, frame: 'control', offset: '0x40' });
    expect(r.diagnostics).toContainEqual(
      expect.objectContaining({ code: 'DOORBELL_NOT_TRANSLATER', severity: 'KVM-tolerated' }),
    );
    expect(codesOf(r)).not.toContain('INTERRUPTS_LOST');
  });

  it('S22 — a misaligned doorbell 0x08090042 is routed and flagged MSI_ADDR_MISALIGNED', async () => {
    await s2Topology('s22');
    await program('s22', '0xFFFFF042');
    const r = await resolveMsi(t, 's22', { device: 'net0', vector: 0 });
    expect(r.route).toEqual(installed('0x8090042', '0x0', '0x10'));
    expect(codesOf(r)).toContain('MSI_ADDR_MISALIGNED');
    expect(codesOf(r)).not.toContain('INTERRUPTS_LOST');
  });

  it('S23 — LOG2SIZE=4 leaves SID 0x0010 outside the stream table: C_BAD_STREAMID (0x02)', async () => {
    await s2Topology('s23');
    await command(t, 'put', '/v1/vms/s23/smmus/smmuv3.0/guest-state', { streamTableLog2Size: 4 });
    await program('s23', '0xFFFFF040');
    const r = await resolveMsi(t, 's23', { device: 'net0', vector: 0 });
    expect(r.fault).toMatchObject({ type: 'C_BAD_STREAMID', code: '0x2', streamId: '0x10', recorded: true });
    expect(r.route.installed).toBe(false);
  });

  it('S24 — accel, route update: a rewritten vector re-resolves to {0x08090040, 0x5, 0x0200}, citing the new write', async () => {
    await acceleratedS10(t, 's24');
    await program('s24', '0xFFFFE040', '0x5', 'hostdev0');
    const r = await resolveMsi(t, 's24', { device: 'hostdev0', vector: 0 });
    expect(r.input).toEqual({ address: '0xffffe040', data: '0x5' });
    expect(r.route).toEqual(installed('0x8090040', '0x5', '0x200'));
    const written = (await t.http.get('/v1/vms/s24/events?offset=8').expect(200)).body.results[0];
    expect(written.type).toBe('MsiVectorProgrammed');
    expect(r.trail[0]!.events).toEqual([{ position: written.position, type: 'MsiVectorProgrammed' }]);
  });
});
