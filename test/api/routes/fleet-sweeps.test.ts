// A fleet of VMs on mixed QEMU builds, swept against a target build (contract v1.2, "Fleet
// sweep"). Every verdict and total below is derived, in the comments, from the domain reference:
// §10 for the behaviour of each build, §9.1 for what address-space does, S10/S13 for the routes.

import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { itOnSqlite, startTestApp, type TestApp } from '../../helpers/test-app';
import { acceleratedS10, command } from '../../helpers/topology';
import { expectWellFormedPicture } from '../../pictures/svg-inspect';

let t: TestApp;
const NVIDIA_10_1 = { package: 'Debian 1:10.1.0+nvidia1-unstable' };
const UPSTREAM_11 = { version: '11.0.0' };

/** A gIOVA the guest's stage 1 does not map (acceleratedS10 maps 0xFFFFF000 and the RMR window only). */
const unmappedVector = (vm: string, n = 1) =>
  command(t, 'put', `/v1/vms/${vm}/devices/hostdev0/msi-vectors/${n}`, { address: '0xFFFFE040', data: '0x1' });

beforeAll(async () => {
  t = await startTestApp();
  // a: 11.0.0 (Q5, upstream), vector 0 at 0xFFFFF040. upstream routes msi-gpa 0x08090040 and the
  // hardware path is delivered (S10): L = 0; the target is the same build: T = 0 -> ok.
  await acceleratedS10(t, 'a-up', { qemu: UPSTREAM_11 });
  // b: NVIDIA 10.1.0 (Q4, address-space), vectors 0 and 1. §9.1: the device has a stage-1 HWPT,
  // so v4 walks the guest's stage 1: vector 0 reaches 0x08090040, vector 1 (unmapped) faults
  // F_TRANSLATION, no route: L = 1. Upstream ignores the gIOVA: both route 0x08090040, T = 0
  // -> fixed-by-target.
  await acceleratedS10(t, 'b-nv', { qemu: NVIDIA_10_1 });
  await unmappedVector('b-nv');
  // c: NVIDIA 10.1.0, vector 0 only: the walk and upstream agree (0x08090040): L = T = 0 -> ok.
  await acceleratedS10(t, 'c-nv', { qemu: NVIDIA_10_1 });
  // d: NVIDIA 10.1.0 with the vSTE set to abort (S13): the physical SMMU aborts the device's
  // write whatever QEMU routes, so the hardware path is blocked under both: L = T = 1
  // -> loses-interrupts. address-space also misroutes: without a stage-1 HWPT v4 uses system
  // memory and routes the raw gIOVA 0xfffff040, not upstream's 0x8090040 (misrouted 1).
  await acceleratedS10(t, 'd-nv', { qemu: NVIDIA_10_1 });
  await command(t, 'put', '/v1/vms/d-nv/devices/hostdev0/ste', { config: 'abort' });
  // e: 10.2.1 without a vendor package (Q7, none): an emulated SMMU, one vector -> no-accel.
  await command(t, 'post', '/v1/vms', { id: 'e-old', ramSize: '0x100000000', qemu: { version: '10.2.1' } });
  await command(t, 'post', '/v1/vms/e-old/smmus', { id: 'smmuv3.0', primaryBus: 'pcie.0' });
  await command(t, 'post', '/v1/vms/e-old/devices', { id: 'net0', driver: 'virtio-net-pci', bus: 'pcie.0', slot: 2 });
  await command(t, 'put', '/v1/vms/e-old/devices/net0/msi-vectors/0', { address: '0x08090040', data: '0x0' });
  // f: nothing declared (Q8, unknown) -> unknown-build.
  await acceleratedS10(t, 'f-none');
  // g: 11.0.0, vector 0 unmapped at stage 1: upstream routes 0x08090040 anyway, L = 0; under an
  // address-space target the walk faults, T = 1 -> broken-by-target (second sweep); ok against 11.0.0.
  await acceleratedS10(t, 'g-up', { qemu: UPSTREAM_11 });
  await unmappedVector('g-up', 0);
});
afterAll(async () => t.close());

describe('POST /v1/fleet-sweeps', () => {
  it('judges every VM against QEMU 11.0.0 (the default target), with totals', async () => {
    const created = await t.http.post('/v1/fleet-sweeps').send({}).expect(201);
    const sweep = created.body;
    expect(created.headers.location).toBe(`/v1/fleet-sweeps/${sweep.id}`);
    expect(sweep.target).toMatchObject({ version: '11.0.0', behaviour: 'upstream', rule: 'Q5' });
    expect(sweep.picture).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:\\d+/v1/fleet-sweeps/${sweep.id}\\.svg$`));
    const verdicts = Object.fromEntries(sweep.results.map((r: { vm: string; verdict: string }) => [r.vm, r.verdict]));
    expect(verdicts).toEqual({
      'a-up': 'ok',
      'b-nv': 'fixed-by-target',
      'c-nv': 'ok',
      'd-nv': 'loses-interrupts',
      'e-old': 'no-accel',
      'f-none': 'unknown-build',
      'g-up': 'ok',
    });
    // Vectors: a 1, b 2, c 1, d 1, e 1, f 1, g 1 = 8. Behaviours: upstream a, g; address-space b,
    // c, d; none e; unknown f. Verdicts: ok a, c, g; fixed b; loses d; no-accel e; unknown f.
    expect(sweep.totals).toEqual({
      vms: 7,
      vectors: 8,
      byBehaviour: { upstream: 2, 'address-space': 3, none: 1, unknown: 1 },
      byVerdict: {
        ok: 3,
        'loses-interrupts': 1,
        'fixed-by-target': 1,
        'broken-by-target': 0,
        'unknown-build': 1,
        'no-accel': 1,
      },
      // Every vector was recorded (MsiVectorProgrammed), none assumed; every VM has one.
      vmsWithoutVectors: 0,
      vectorsFrom: { recorded: 8, assumed: 0 },
    });
    const reasons = Object.fromEntries(sweep.results.map((r: { vm: string; reason: string }) => [r.vm, r.reason]));
    // b: L = 1 under its own address-space, T = 0 under the target's upstream.
    expect(reasons['b-nv']).toBe(
      '2 vectors (2 recorded): 1 loses its interrupts under address-space (its own), none loses its interrupts under upstream (the target)',
    );
    // e: 10.2.1 without a package is Q7 (none); f: nothing declared is Q8, counted as upstream.
    expect(reasons['e-old']).toMatch(/^QEMU 10\.2\.1 \(Q7\) has behaviour none .*: no accel SMMUv3/);
    expect(reasons['f-none']).toMatch(
      /^no QEMU build declared, so its MSI behaviour is unknown and the counts are made as upstream routes them; declare it .*; 1 vector \(1 recorded\): none loses/,
    );
    const b = sweep.results.find((r: { vm: string }) => r.vm === 'b-nv');
    expect(b).toMatchObject({
      behaviour: 'address-space',
      semantics: 'address-space',
      qemu: { version: '10.1.0', package: 'Debian 1:10.1.0+nvidia1-unstable', rule: 'Q4' },
      counts: { vectors: 2, routesInstalled: 1, interruptsLost: 1, misrouted: 0 },
      countsUnderTarget: { vectors: 2, routesInstalled: 2, interruptsLost: 0, misrouted: 0 },
    });
    const d = sweep.results.find((r: { vm: string }) => r.vm === 'd-nv');
    expect(d.counts).toEqual({ vectors: 1, routesInstalled: 1, interruptsLost: 1, misrouted: 1 });
    expect(d.countsUnderTarget).toEqual({ vectors: 1, routesInstalled: 1, interruptsLost: 1, misrouted: 0 });
    // The record is compact: counts and verdicts, no resolution.
    expect(created.text).not.toContain('trail');
  });

  it("finds what a move to NVIDIA's 10.1.0 package would break", async () => {
    const sweep = (
      await t.http
        .post('/v1/fleet-sweeps')
        .send({ target: NVIDIA_10_1, vm: ['g-up', 'a-up', 'b-nv'] })
        .expect(201)
    ).body;
    expect(sweep.target).toMatchObject({ behaviour: 'address-space', rule: 'Q4' });
    // a: vector 0 mapped, the walk reaches the doorbell: ok. b: its own behaviour is the target's,
    // vector 1 lost under both: loses-interrupts. g: lost only under the target: broken-by-target.
    expect(sweep.results.map((r: { vm: string; verdict: string }) => [r.vm, r.verdict])).toEqual([
      ['a-up', 'ok'],
      ['b-nv', 'loses-interrupts'],
      ['g-up', 'broken-by-target'],
    ]);
    expect(sweep.totals.byVerdict).toMatchObject({ ok: 1, 'loses-interrupts': 1, 'broken-by-target': 1 });
  });

  it('refuses an unknown VM (404), a target without a known behaviour (422) and a malformed target (400)', async () => {
    const missing = await t.http
      .post('/v1/fleet-sweeps')
      .send({ vm: ['a-up', 'nope'] })
      .expect(404);
    expect(missing.body).toMatchObject({ code: 'VM_NOT_FOUND', errors: [{ pointer: '/vm/1' }] });
    const none = await t.http
      .post('/v1/fleet-sweeps')
      .send({ target: { version: '10.2.1' } })
      .expect(422);
    expect(none.body.code).toBe('TARGET_QEMU_BUILD_UNUSABLE');
    const malformed = await t.http
      .post('/v1/fleet-sweeps')
      .send({ target: { version: 'eleven' } })
      .expect(400);
    expect(malformed.body.errors.map((e: { pointer: string }) => e.pointer)).toEqual(['/target/version']);
  });
});

describe('fleet sweep records', () => {
  it('pages the results, and reads the record back byte for byte, after a restart too', async () => {
    const created = await t.http.post('/v1/fleet-sweeps').send({ limit: 3 }).expect(201);
    const { id } = created.body;
    expect(created.body.count).toBe(7);
    expect(created.body.results.map((r: { vm: string }) => r.vm)).toEqual(['a-up', 'b-nv', 'c-nv']);
    expect(created.body.previous).toBeNull();
    const next = new URL(created.body.next);
    expect(next.pathname + next.search).toBe(`/v1/fleet-sweeps/${id}?limit=3&offset=3`);

    expect((await t.http.get(created.headers.location!).expect(200)).text).toBe(created.text);
    const second = (await t.http.get(next.pathname + next.search).expect(200)).body;
    expect(second.results.map((r: { vm: string }) => r.vm)).toEqual(['d-nv', 'e-old', 'f-none']);
    const { count, next: _n, previous: _p, results: _r, ...head } = created.body;
    expect(second).toMatchObject({ ...head, count });
    const last = (await t.http.get(`/v1/fleet-sweeps/${id}?limit=3&offset=6`).expect(200)).body;
    expect(last.results.map((r: { vm: string }) => r.vm)).toEqual(['g-up']);
    expect(last.next).toBeNull();

    const list = await t.http.get('/v1/fleet-sweeps?limit=1000').expect(200);
    expect(list.text).toContain(created.text.trimEnd());
    t = await t.restart();
    expect((await t.http.get(created.headers.location!).expect(200)).text).toBe(created.text);
    expect((await t.http.get('/v1/fleet-sweeps/00000000-0000-4000-8000-000000000000').expect(404)).body.code).toBe(
      'FLEET_SWEEP_NOT_FOUND',
    );
  });

  itOnSqlite('are immutable in the database itself', 'it opens the SQLite file itself', async () => {
    const { id } = (await t.http.post('/v1/fleet-sweeps').send({ limit: 1 }).expect(201)).body;
    const db = new Database(t.dbPath);
    try {
      expect(() => db.prepare("UPDATE fleet_sweeps SET body = '{}' WHERE id = ?").run(id)).toThrow(/immutable/);
      expect(() => db.prepare('DELETE FROM fleet_sweeps WHERE id = ?').run(id)).toThrow(/immutable/);
    } finally {
      db.close();
    }
  });

  it('replays the first answer for a retry with the same Idempotency-Key', async () => {
    const first = await t.http
      .post('/v1/fleet-sweeps')
      .set('idempotency-key', 'fleet-1')
      .send({ limit: 2 })
      .expect(201);
    const again = await t.http
      .post('/v1/fleet-sweeps')
      .set('idempotency-key', 'fleet-1')
      .send({ limit: 2 })
      .expect(201);
    expect(again.text).toBe(first.text);
    expect(again.headers['idempotent-replayed']).toBe('true');
  });

  it('draws the sweep: VMs by build and verdict, as a picture', async () => {
    const created = (await t.http.post('/v1/fleet-sweeps').send({ limit: 1 }).expect(201)).body;
    const svg = await t.http.get(new URL(created.picture).pathname).buffer(true).expect(200);
    expect(svg.headers['content-type']).toMatch(/^image\/svg\+xml/);
    expect(svg.headers['content-security-policy']).toBe("default-src 'none'; style-src 'unsafe-inline'; sandbox");
    expect(svg.headers['x-content-type-options']).toBe('nosniff');
    const doc = expectWellFormedPicture(svg.body.toString());
    // Every VM is drawn, not only the first page.
    const text = doc.documentElement!.textContent ?? '';
    for (const vm of ['a-up', 'b-nv', 'd-nv', 'g-up']) expect(text).toContain(vm);
  });
});
