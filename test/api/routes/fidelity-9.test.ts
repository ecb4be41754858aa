// The corrections of domain reference §9 as a client sees them through HTTP: the new request
// fields, the new representation fields, and the resolution fields of contract v1.1. The model
// itself is tested item by item in test/domain/fidelity-9.test.ts; here each item is checked
// where a client can set it or read it. Expected values are derived in the comments.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../helpers/test-app';
import { acceleratedS10, command, emulatedBaseline } from '../../helpers/topology';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => t.close());

const resolve = async (vm: string, body: object) =>
  (await t.http.post(`/v1/vms/${vm}/msi-resolutions`).send(body).expect(201)).body;

/** S10 without the explicit identity mapping of the sw_msi window: the guest's RMR decides it (§9.4). */
const accelVm = (vm: string, options: { hostItsBase?: string | null; rmrHonoured?: boolean } = {}) =>
  acceleratedS10(t, vm, { hostItsBase: null, ...options, identityWindow: false });

describe('§9 through HTTP', () => {
  it('§9.2 a CD may give t1sz (default t0sz); T1SZ outside [16, 39] with EPD1=0 is C_BAD_CD, a config fault with stage null (§9.10)', async () => {
    await emulatedBaseline(t, 'tt1');
    const device = (await t.http.get('/v1/vms/tt1/devices/net0').expect(200)).body;
    // Contract defaults: t0sz 16, so t1sz 16.
    expect(device.ste.cd).toMatchObject({ t0sz: 16, t1sz: 16, epd1: true });
    await command(t, 'put', '/v1/vms/tt1/devices/net0/ste', { config: 's1', cd: { epd1: false, t1sz: 40 } });
    expect((await t.http.get('/v1/vms/tt1/devices/net0').expect(200)).body.ste.cd).toMatchObject({
      t1sz: 40,
      epd1: false,
    });
    const r = await resolve('tt1', { device: 'net0', address: '0xfffff040', data: '0x0' });
    expect(r.fault).toMatchObject({ type: 'C_BAD_CD', stage: null });
    expect(r.route.installed).toBe(false);
  });

  it('§9.3 nested: a CD address that stage 2 does not map faults at stage 2 with CLASS=CD', async () => {
    // S4's nested topology with STE.S1ContextPtr = IPA 0x50000000, which no stage-2 mapping covers.
    await emulatedBaseline(t, 'nested', { stage: 'nested' });
    await command(t, 'put', '/v1/vms/nested/devices/net0/ste', {
      config: 'nested',
      cd: { granule: '64K', t0sz: 16 },
      cdAddress: '0x50000000',
    });
    await command(t, 'post', '/v1/vms/nested/devices/net0/mappings', {
      stage: 1,
      iova: '0xFFFF0000',
      output: '0x48000000',
      size: '0x10000',
    });
    await command(t, 'post', '/v1/vms/nested/devices/net0/mappings', {
      stage: 2,
      iova: '0x48000000',
      output: '0x08090000',
      size: '0x1000',
    });
    expect((await t.http.get('/v1/vms/nested/devices/net0').expect(200)).body.ste.cdAddress).toBe('0x50000000');
    const r = await resolve('nested', { device: 'net0', address: '0xffff0040', data: '0x0' });
    expect(r.fault).toMatchObject({ type: 'F_TRANSLATION', stage: 2, class: 'CD', inputAddress: '0xffff0040' });
  });

  it('§9.4 rmrHonoured: true by default; false through the guest state blocks the hardware path of S10', async () => {
    await accelVm('rmr', { hostItsBase: '0x202100000' });
    expect((await t.http.get('/v1/vms/rmr').expect(200)).body.rmrHonoured).toBe(true);
    expect((await resolve('rmr', { device: 'hostdev0', vector: 0 })).hardwarePath.delivered).toBe(true);
    const smmu = (await command(t, 'put', '/v1/vms/rmr/smmus/smmuv3.0/guest-state', { rmrHonoured: false })).body;
    expect(smmu.guestState.rmrHonoured).toBe(false);
    const r = await resolve('rmr', { device: 'hostdev0', vector: 0 });
    // The KVM route is still the vITS doorbell; the device's write to 0x8000040 finds no identity.
    expect(r.route).toMatchObject({ installed: true, address: '0x8090040' });
    expect(r.hardwarePath.delivered).toBe(false);
    expect(r.diagnostics.map((d: { code: string }) => d.code)).toContain('HW_PATH_BLOCKED');
  });

  it('§9.4 rmrHonoured: false on the VM (a DT boot) is the default of its SMMUs', async () => {
    await accelVm('dt', { hostItsBase: '0x202100000', rmrHonoured: false });
    expect((await t.http.get('/v1/vms/dt/smmus/smmuv3.0').expect(200)).body.guestState.rmrHonoured).toBe(false);
    expect((await resolve('dt', { device: 'hostdev0', vector: 0 })).hardwarePath.delivered).toBe(false);
  });

  it('item 7: a 2-level stream table as Linux programs it resolves; an L1 descriptor with span 0 is C_BAD_STREAMID', async () => {
    await emulatedBaseline(t, 'l2');
    await command(t, 'post', '/v1/vms/l2/devices/net0/mappings', {
      stage: 1,
      iova: '0xFFFFF000',
      output: '0x08090000',
      size: '0x1000',
    });
    const smmu = (await command(t, 'put', '/v1/vms/l2/smmus/smmuv3.0/guest-state', { streamTableFormat: '2-level' }))
      .body;
    // Linux: SPLIT = 8, L1 span = SPLIT + 1.
    expect(smmu.guestState).toMatchObject({ streamTableFormat: '2-level', split: 8, l1Span: 9 });
    expect((await resolve('l2', { device: 'net0', address: '0xfffff040', data: '0x0' })).route).toMatchObject({
      installed: true,
      address: '0x8090040',
    });
    await command(t, 'put', '/v1/vms/l2/smmus/smmuv3.0/guest-state', { l1Span: 0 });
    expect((await resolve('l2', { device: 'net0', address: '0xfffff040', data: '0x0' })).fault).toMatchObject({
      type: 'C_BAD_STREAMID',
      stage: null,
    });
  });

  it('item 7: SPLIT and the L1 span are 5-bit fields: 32 is a 400 naming the field, and appends nothing', async () => {
    const before = (await t.http.get('/v1/vms/l2').expect(200)).body.version;
    const response = await t.http.put('/v1/vms/l2/smmus/smmuv3.0/guest-state').send({ split: 32 }).expect(400);
    expect(response.body).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(response.body.errors[0].pointer).toBe('/split');
    expect((await t.http.get('/v1/vms/l2').expect(200)).body.version).toBe(before);
  });

  it('§9.10 without hostItsBase the hardware path is unknown (delivered null), and a sweep does not count it blocked', async () => {
    await accelVm('nohost');
    const r = await resolve('nohost', { device: 'hostdev0', vector: 0 });
    expect(r.hardwarePath.delivered).toBeNull();
    const sweep = (await t.http.post('/v1/vms/nohost/msi-sweeps').send({}).expect(201)).body;
    expect(sweep.counts.hwPathBlocked).toBe(0);
  });

  it('§9.10 comparison has missingBeforeFix beside misroutedBeforeFix; item 9: every resolution names its model', async () => {
    // S10: pre-fix installs a route to the gIOVA 0xfffff040 (RAM): misrouted, not missing.
    const r = await resolve('rmr', { device: 'hostdev0', vector: 0 });
    expect(r.comparison).toMatchObject({ misroutedBeforeFix: true, missingBeforeFix: false });
    expect(r.model).toMatchObject({ version: 4, reference: expect.stringContaining('§9') });
  });
});
