// A VM's QEMU build through HTTP (contract v1.2, domain reference §10): declared in every form,
// classified, refused where QEMU would refuse accel=on, and picking the semantics of resolutions,
// as of each version.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventCount, startTestApp, type TestApp } from '../../helpers/test-app';
import { acceleratedS10, command } from '../../helpers/topology';
import { codesOf, installed, resolveMsi } from '../../helpers/resolve';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => t.close());

const NVIDIA_10_1 = 'Debian 1:10.1.0+nvidia1-unstable';

describe('declaring a build', () => {
  it('POST /v1/vms takes qemu in each form and appends QemuBuildDeclared after VmDefined', async () => {
    const forms: [string, object, object][] = [
      // §10 Q5: 11.0.0 is an upstream release.
      ['v-version', { version: '11.0.0' }, { version: '11.0.0', behaviour: 'upstream', rule: 'Q5' }],
      // Q4: the package names NVIDIA and its upstream version 10.1.0 (evidence.ts) is below 11.0.
      [
        'v-package',
        { package: NVIDIA_10_1 },
        { version: '10.1.0', package: NVIDIA_10_1, behaviour: 'address-space', rule: 'Q4' },
      ],
      // Q1: the probe, whatever else is declared.
      [
        'v-probe',
        { smmuProperties: [{ name: 'accel', type: 'bool' }, 'msi-gpa'] },
        { behaviour: 'upstream', rule: 'Q1', smmuProperties: ['accel', 'msi-gpa'] },
      ],
      // Q7: "QEMU emulator version 10.2.1 (Debian 1:10.2.1+ds-1ubuntu3.1)" (qemu-versions.md §4), no vendor.
      [
        'v-text',
        {
          versionText:
            'QEMU emulator version 10.2.1 (Debian 1:10.2.1+ds-1ubuntu3.1)\nCopyright (c) 2003-2025 Fabrice Bellard and the QEMU Project developers',
        },
        { version: '10.2.1', package: 'Debian 1:10.2.1+ds-1ubuntu3.1', behaviour: 'none', rule: 'Q7' },
      ],
      // Q6: micro 50 is a development build, and the QMP answer comes with its return wrapper.
      [
        'v-qmp',
        { queryVersion: { return: { qemu: { major: 10, minor: 2, micro: 50 }, package: '' } } },
        { version: '10.2.50', package: null, behaviour: 'unknown', rule: 'Q6' },
      ],
    ];
    for (const [id, qemu, expected] of forms) {
      const created = await t.http.post('/v1/vms').send({ id, qemu }).expect(201);
      expect(created.body.version).toBe(2);
      expect(created.body.events.map((e: { type: string }) => e.type)).toEqual(['VmDefined', 'QemuBuildDeclared']);
      expect(created.body.qemu, id).toMatchObject({ ...expected, setBy: created.body.events[1].position });
      expect((await t.http.get(`/v1/vms/${id}`).expect(200)).body.qemu).toEqual(created.body.qemu);
    }
    // Nothing declared: Q8, and no event that set it.
    const bare = await t.http.post('/v1/vms').send({ id: 'v-none' }).expect(201);
    expect(bare.body.qemu).toMatchObject({
      version: null,
      behaviour: 'unknown',
      rule: 'Q8',
      basis: 'none',
      setBy: null,
    });
  });

  it('a malformed field is a 400 naming it, and nothing is written', async () => {
    const before = await eventCount(t);
    const bad = await t.http
      .post('/v1/vms')
      .send({ id: 'v-bad', qemu: { version: '11.0.0-rc1' } })
      .expect(400);
    expect(bad.body.code).toBe('VALIDATION_FAILED');
    expect(bad.body.errors.map((e: { pointer: string }) => e.pointer)).toEqual(['/qemu/version']);
    await command(t, 'post', '/v1/vms', { id: 'v-put' });
    const put = await t.http
      .put('/v1/vms/v-put/qemu')
      .send({ queryVersion: { qemu: { major: 11, minor: 0, micro: 'zero' } } })
      .expect(400);
    expect(put.body.errors.map((e: { pointer: string }) => e.pointer)).toEqual(['/queryVersion/qemu/micro']);
    const classify = await t.http.post('/v1/qemu-builds/classify').send({ versionText: 'qemu 11' }).expect(400);
    expect(classify.body.errors.map((e: { pointer: string }) => e.pointer)).toEqual(['/versionText']);
    // A field that is no field of a qemu object at all.
    const unknown = await t.http.put('/v1/vms/v-put/qemu').send({ verison: '11.0.0' }).expect(400);
    expect(unknown.body.errors[0].pointer).toBe('/verison');
    expect(await eventCount(t)).toBe(before + 1);
  });

  it('PUT /v1/vms/{vm}/qemu declares a new build; the same evidence again appends nothing', async () => {
    await command(t, 'post', '/v1/vms', { id: 'v-upgrade', qemu: { package: NVIDIA_10_1 } });
    const upgraded = await t.http.put('/v1/vms/v-upgrade/qemu').send({ version: '11.0.0' }).expect(200);
    expect(upgraded.body.events.map((e: { type: string }) => e.type)).toEqual(['QemuBuildDeclared']);
    expect(upgraded.body.qemu).toMatchObject({ version: '11.0.0', package: null, behaviour: 'upstream', rule: 'Q5' });
    const again = await t.http.put('/v1/vms/v-upgrade/qemu').send({ version: '11.0' }).expect(200);
    expect(again.body.events).toEqual([]);
    expect(again.body.version).toBe(3);
    // asOf 2 is the VM as declared with NVIDIA's 10.1.0 package.
    expect((await t.http.get('/v1/vms/v-upgrade?asOf=2').expect(200)).body.qemu).toMatchObject({
      behaviour: 'address-space',
      rule: 'Q4',
    });
  });
});

describe('QEMU builds as data', () => {
  it('GET /v1/qemu-builds serves Q1-Q8 in order', async () => {
    const rules = (await t.http.get('/v1/qemu-builds').expect(200)).body;
    expect(rules.count).toBe(8);
    expect(rules.results.map((r: { rule: string }) => r.rule)).toEqual([
      'Q1',
      'Q2',
      'Q3',
      'Q4',
      'Q5',
      'Q6',
      'Q7',
      'Q8',
    ]);
    expect(rules.results[3]).toMatchObject({ behaviour: 'address-space', basis: 'vendor package (inferred pairing)' });
  });

  it('POST /v1/qemu-builds/classify answers 200 and stores nothing', async () => {
    const before = await eventCount(t);
    // The 11.0 rcs report 10.2.9x (qemu-versions.md §3): Q5.
    const rc = await t.http
      .post('/v1/qemu-builds/classify')
      .send({ versionText: 'QEMU emulator version 10.2.94' })
      .expect(200);
    expect(rc.body).toMatchObject({
      version: '10.2.94',
      package: null,
      smmuProperties: null,
      behaviour: 'upstream',
      rule: 'Q5',
      basis: 'upstream release or rc',
    });
    expect(await eventCount(t)).toBe(before);
  });
});

describe('accel=on on a build without accel mode (§10: QEMU refuses it)', () => {
  it('refuses an accel SMMU, enabling accel, and a declaration that would strand one: 422, nothing written', async () => {
    // 10.2.1 without a vendor package is Q7, behaviour none.
    await command(t, 'post', '/v1/vms', { id: 'old', qemu: { version: '10.2.1' } });
    await command(t, 'post', '/v1/vms/old/buses', { id: 'pcie.1', type: 'pxb-pcie', busNr: 1 });
    const before = await eventCount(t);
    const add = await t.http
      .post('/v1/vms/old/smmus')
      .send({ id: 'smmuv3.0', primaryBus: 'pcie.1', accel: true })
      .expect(422);
    expect(add.body).toMatchObject({ code: 'ACCEL_NOT_IN_QEMU_BUILD', errors: [{ pointer: '/accel' }] });
    expect(add.body.detail).toContain('10.2.1');

    await command(t, 'post', '/v1/vms/old/smmus', { id: 'smmuv3.0', primaryBus: 'pcie.1' });
    const enable = await t.http.put('/v1/vms/old/smmus/smmuv3.0/accel').send({ enabled: true }).expect(422);
    expect(enable.body).toMatchObject({ code: 'ACCEL_NOT_IN_QEMU_BUILD', errors: [{ pointer: '/enabled' }] });
    expect(await eventCount(t)).toBe(before + 1);

    // An 11.0.0 VM with an accel SMMU: declaring the probe of a 10.2 binary (no accel property, Q3) is refused.
    await acceleratedS10(t, 'accel-vm', { qemu: { version: '11.0.0' } });
    const count = await eventCount(t);
    const strand = await t.http
      .put('/v1/vms/accel-vm/qemu')
      .send({ smmuProperties: ['bus', 'stage', 'oas'] })
      .expect(422);
    expect(strand.body.code).toBe('ACCEL_NOT_IN_QEMU_BUILD');
    expect(strand.body.detail).toContain('smmuv3.0');
    expect(await eventCount(t)).toBe(count);
  });
});

describe('what the declared build can create (issue 18: 7.2 has no -device arm-smmuv3)', () => {
  it('QEMU 7.2.22 (Debian 12): POST .../smmus with primaryBus pcie.1 is a 422 QEMU_BUILD_LACKS_CAPABILITY, pcie.0 a 201', async () => {
    const text = 'QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)';
    await command(t, 'post', '/v1/vms', { id: 'deb12', qemu: { versionText: text } });
    await command(t, 'post', '/v1/vms/deb12/buses', { id: 'pcie.1', type: 'pxb-pcie', busNr: 1 });
    const before = await eventCount(t);
    const refused = await t.http.post('/v1/vms/deb12/smmus').send({ id: 'smmuv3.1', primaryBus: 'pcie.1' }).expect(422);
    expect(refused.body).toMatchObject({ code: 'QEMU_BUILD_LACKS_CAPABILITY', errors: [{ pointer: '/primaryBus' }] });
    expect(refused.body.detail).toContain('7.2.22');
    expect(refused.body.detail).toContain('device-smmuv3');
    expect(await eventCount(t)).toBe(before);
    await command(t, 'post', '/v1/vms/deb12/smmus', { id: 'smmuv3.0', primaryBus: 'pcie.0' });
  });

  it('POST /v1/qemu-builds/classify says what the build can create, each with its release and basis', async () => {
    const text = 'QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)';
    const answer = (await t.http.post('/v1/qemu-builds/classify').send({ versionText: text }).expect(200)).body;
    // 7.2.22: after 3.0.0 (machine SMMU), 5.0.0 and 7.0.0 (virtio-iommu); before 10.2.0; Q7 none (no accel).
    expect(
      answer.capabilities.map((c: { capability: string; can: boolean; since: string }) => [
        c.capability,
        c.can,
        c.since,
      ]),
    ).toEqual([
      ['machine-smmuv3', true, '3.0.0'],
      ['device-smmuv3', false, '10.2.0'],
      ['smmuv3-accel', false, '11.0.0'],
      ['virtio-iommu', true, '5.0.0'],
      ['virtio-iommu-acpi', true, '7.0.0'],
    ]);
    expect(answer.capabilities[1].basis).toBe('version 7.2.22: before 10.2.0');
  });
});

describe('the declared build picks the semantics', () => {
  it('says where the semantics came from: request, declared-qemu, or default with QEMU_BUILD_UNKNOWN', async () => {
    await acceleratedS10(t, 'pick-nv', { qemu: { package: NVIDIA_10_1 } });
    const declared = await resolveMsi(t, 'pick-nv', { device: 'hostdev0', vector: 0 });
    expect(declared).toMatchObject({ semantics: 'address-space', semanticsSource: 'declared-qemu' });
    expect(declared.qemu).toMatchObject({
      behaviour: 'address-space',
      rule: 'Q4',
      declaredBy: { position: expect.any(Number), type: 'QemuBuildDeclared' },
    });
    expect(codesOf(declared)).not.toContain('QEMU_BUILD_UNKNOWN');
    const asked = await resolveMsi(t, 'pick-nv', { device: 'hostdev0', vector: 0, semantics: 'pre-fix' });
    expect(asked).toMatchObject({ semantics: 'pre-fix', semanticsSource: 'request' });

    // A 10.2.50 development build (Q6) behind an accel SMMU: upstream, with a warning that says why.
    await acceleratedS10(t, 'pick-dev', { qemu: { version: '10.2.50' } });
    const dev = await resolveMsi(t, 'pick-dev', { device: 'hostdev0', vector: 0 });
    expect(dev).toMatchObject({ semantics: 'upstream', semanticsSource: 'default' });
    expect(dev.diagnostics[0]).toMatchObject({ code: 'QEMU_BUILD_UNKNOWN', severity: 'warning' });
    expect(dev.diagnostics[0]!.message).toContain('10.2.50');

    // The sweep says it too.
    const sweep = (await t.http.post('/v1/vms/pick-nv/msi-sweeps').send({}).expect(201)).body;
    expect(sweep).toMatchObject({ semantics: 'address-space', semanticsSource: 'declared-qemu' });
  });

  it("NVIDIA's 10.1.0 package, then 11.0.0: asOf resolves with the build of that version", async () => {
    await acceleratedS10(t, 'nv', { qemu: { package: NVIDIA_10_1 } });
    // Vector 1 writes a gIOVA the guest's stage 1 does not map (only 0xFFFFF000 and the RMR window are).
    await command(t, 'put', '/v1/vms/nv/devices/hostdev0/msi-vectors/1', { address: '0xFFFFE040', data: '0x1' });
    const before = (await t.http.get('/v1/vms/nv').expect(200)).body.version;
    await command(t, 'put', '/v1/vms/nv/qemu', { version: '11.0.0', package: 'Debian 1:11.0.0+nvidia1-1' });

    // They differ. address-space (v4, §9.1): the device has a stage-1 HWPT (its STE is s1), so
    // smmuv3_accel_find_msi_as returns the vSMMU's IOMMU AS and QEMU walks the guest's stage 1:
    // 0xFFFFE040 is unmapped -> F_TRANSLATION, no route, interrupts lost. upstream (11.0.0,
    // get_msi_direct_gpa) ignores the gIOVA and routes msi-gpa = 0x08090040 for devid 0x200.
    const then = await resolveMsi(t, 'nv', { device: 'hostdev0', vector: 1, asOf: before });
    expect(then).toMatchObject({ asOfVersion: before, semantics: 'address-space', semanticsSource: 'declared-qemu' });
    expect(then.route.installed).toBe(false);
    expect(then.fault).toMatchObject({ type: 'F_TRANSLATION', stage: 1 });
    expect(codesOf(then)).toContain('INTERRUPTS_LOST');
    const now = await resolveMsi(t, 'nv', { device: 'hostdev0', vector: 1 });
    expect(now).toMatchObject({ asOfVersion: before + 1, semantics: 'upstream', semanticsSource: 'declared-qemu' });
    expect(now.route).toEqual(installed('0x8090040', '0x1', '0x200'));

    // They agree. Vector 0 writes 0xFFFFF040, which the guest's stage 1 maps to 0x08090040: the v4
    // walk reaches the vITS doorbell that upstream takes directly.
    const agreeThen = await resolveMsi(t, 'nv', { device: 'hostdev0', vector: 0, asOf: before });
    const agreeNow = await resolveMsi(t, 'nv', { device: 'hostdev0', vector: 0 });
    expect([agreeThen.semantics, agreeNow.semantics]).toEqual(['address-space', 'upstream']);
    expect(agreeThen.route).toEqual(installed('0x8090040', '0x0', '0x200'));
    expect(agreeNow.route).toEqual(agreeThen.route);

    // The live route follows the same rule, and so does its ETag.
    const live = await t.http.get(`/v1/vms/nv/devices/hostdev0/msi-vectors/1/route?asOf=${before}`).expect(200);
    expect(live.headers.etag).toBe(`"${before}-declared"`);
    expect(live.body).toMatchObject({ vm: 'nv', semantics: 'address-space', route: { installed: false } });
  });
});
