// A full disk (contract v1.3, "Edges"): a write the database refuses for want of space is a 507
// STORAGE_FULL (problem+json, Retry-After), /readyz is 503 naming it, nothing acknowledged is
// lost, and the service recovers by itself once space returns. On SQLite this runs for real on a
// 2 MiB tmpfs (root only: mount); on both engines the driver's own error codes (SQLite's
// SQLITE_FULL, PostgreSQL's SQLSTATE 53100 disk_full) are injected at the storage port.

import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { StorageAlarm, STORAGE_FULL_RETRY_AFTER_S } from '../../src/api/storage-alarm';
import { failureText, isStorageFull } from '../../src/db/shared/storage-full.mjs';
import { eventCount, startTestApp, startTestAppOn, type TestApp } from '../helpers/test-app';
import { acceleratedS10, command } from '../helpers/topology';

/** better-sqlite3's error for SQLITE_FULL (result code 13), as the driver raises it. */
const sqliteFull = () => new Database.SqliteError('database or disk is full', 'SQLITE_FULL');
/** node-postgres's error for SQLSTATE 53100 (disk_full), as the server reports a full disk. */
const pgDiskFull = () =>
  Object.assign(new Error('could not extend file "base/16384/16390": No space left on device'), {
    code: '53100',
    severity: 'ERROR',
  });

async function expectStorageFull(response: { status: number; headers: Record<string, string>; body: unknown }) {
  expect(response.status, JSON.stringify(response.body)).toBe(507);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(response.headers['retry-after']).toBe(String(STORAGE_FULL_RETRY_AFTER_S));
  expect(response.body).toMatchObject({ status: 507, code: 'STORAGE_FULL' });
}

describe('recognising a full disk', () => {
  it("knows SQLite's SQLITE_FULL and PostgreSQL's SQLSTATE 53100, and nothing else", () => {
    expect(isStorageFull(sqliteFull())).toBe(true);
    expect(isStorageFull(pgDiskFull())).toBe(true);
    // 53200 is out_of_memory, 53300 too_many_connections: not a full disk.
    expect(isStorageFull(Object.assign(new Error('out of memory'), { code: '53200' }))).toBe(false);
    expect(isStorageFull(new Database.SqliteError('database is locked', 'SQLITE_BUSY'))).toBe(false);
    expect(isStorageFull(new Error('disk is full, says a client'))).toBe(false);
  });

  it('keeps the mark when the failure crosses the writer thread or a batch as text', () => {
    const text = failureText(sqliteFull());
    expect(text).toBe('STORAGE_FULL: database or disk is full');
    expect(isStorageFull(new Error(`command not stored: record not stored: ${text}`))).toBe(true);
    expect(failureText(pgDiskFull())).toMatch(/^STORAGE_FULL: could not extend file/);
    expect(failureText(new Error('STALE_POSITION: the log is at 3'))).toBe('STALE_POSITION: the log is at 3');
  });

  it('keeps /readyz 503 until a write succeeds, or Retry-After passes without another refusal', () => {
    let now = 1_000_000;
    const alarm = new StorageAlarm(() => now);
    expect(alarm.check().ok).toBe(true);
    alarm.raise('POST /v1/vms');
    expect(alarm.check()).toMatchObject({ ok: false, detail: expect.stringMatching(/^STORAGE_FULL: POST \/v1\/vms/) });
    now += STORAGE_FULL_RETRY_AFTER_S * 1000 - 1;
    expect(alarm.check().ok).toBe(false);
    now += 1;
    expect(alarm.check().ok).toBe(true);
    alarm.raise('POST /v1/vms');
    alarm.clear();
    expect(alarm.check().ok).toBe(true);
  });
});

describe.each([
  ['SQLite (SQLITE_FULL)', sqliteFull],
  ['PostgreSQL (SQLSTATE 53100)', pgDiskFull],
])('a full disk injected at the storage port: %s', (_engine, fullError) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
    await acceleratedS10(t, 'vm1');
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await t.close();
  });

  it('answers a command 507, /readyz 503 naming it, and recovers when space returns', async () => {
    const before = await eventCount(t);
    vi.spyOn(t.stores.events, 'append').mockRejectedValueOnce(fullError());
    await expectStorageFull(await t.http.post('/v1/vms').send({ id: 'vm2' }));
    const ready = await t.anonymous.get('/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({ code: 'NOT_READY', checks: { storage: { ok: false } } });
    expect(ready.body.detail).toMatch(/STORAGE_FULL: POST \/v1\/vms was refused for want of space/);
    expect(await eventCount(t)).toBe(before);
    // Space returns: the same write succeeds, and the service is ready again.
    await command(t, 'post', '/v1/vms', { id: 'vm2' });
    expect((await t.anonymous.get('/readyz').expect(200)).body.checks.storage.ok).toBe(true);
    expect(await eventCount(t)).toBe(before + 1);
  });

  it('answers a resolution 507 when its record cannot be written (the record writer)', async () => {
    vi.spyOn(t.stores.records, 'write').mockRejectedValueOnce(
      new Error(`record not stored: ${failureText(fullError())}`),
    );
    await expectStorageFull(await t.http.post('/v1/vms/vm1/msi-resolutions').send({ device: 'hostdev0', vector: 0 }));
    await t.http.post('/v1/vms/vm1/msi-resolutions').send({ device: 'hostdev0', vector: 0 }).expect(201);
    await t.anonymous.get('/readyz').expect(200);
  });
});

/** Mounts a tmpfs of `size`, or says why it cannot (not root, no mount). */
function mountTmpfs(dir: string, size: string): string | undefined {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
    return undefined;
  } catch (error) {
    return (error as { stderr?: Buffer }).stderr?.toString().trim() || String(error);
  }
}

const tmpfs = mkdtempSync(join(tmpdir(), 'doorbell-full-'));
const cannotMount =
  process.env.DOORBELL_TEST_ENGINE === 'postgres' ? 'the engine is PostgreSQL' : mountTmpfs(tmpfs, '2m');
if (cannotMount !== undefined) console.log(`SQLite full-disk test on tmpfs skipped: ${cannotMount}`);

describe.skipIf(cannotMount !== undefined)('SQLite on a full 2 MiB tmpfs', () => {
  const filler = join(tmpfs, 'filler');
  let t: TestApp;
  afterAll(async () => {
    await t?.close();
    execFileSync('umount', [tmpfs]);
    rmSync(tmpfs, { recursive: true, force: true });
  });

  /** Fills the file system to the last byte. */
  function fillDisk() {
    const fd = openSync(filler, 'w');
    const chunk = Buffer.alloc(4096);
    try {
      for (;;) writeSync(fd, chunk);
    } catch (error) {
      expect((error as NodeJS.ErrnoException).code).toBe('ENOSPC');
    } finally {
      closeSync(fd);
    }
  }

  it('refuses writes with 507 once the disk is full, loses nothing acknowledged, and recovers when space returns', async () => {
    t = await startTestAppOn(join(tmpfs, 'doorbell.db'));
    await acceleratedS10(t, 'vm1');
    fillDisk();
    // Writes until one is refused: a write may still fit in pages the WAL reuses.
    const acknowledged: string[] = [];
    let refused: Awaited<ReturnType<typeof t.http.post>> | undefined;
    for (let i = 0; i < 500 && refused === undefined; i++) {
      const response = await t.http.post(`/v1/vms/vm1/devices/hostdev0/mappings`).send({
        stage: 1,
        iova: `0x${(0x10000000 + i * 0x1000).toString(16)}`,
        output: '0x40000000',
        size: '0x1000',
      });
      if (response.status === 201) acknowledged.push(response.body.events[0].position);
      else refused = response;
    }
    expect(refused, 'a write refused on a full disk').toBeDefined();
    await expectStorageFull(refused!);
    // A resolution's record goes through the record writer's thread: refused as well.
    await expectStorageFull(await t.http.post('/v1/vms/vm1/msi-resolutions').send({ device: 'hostdev0', vector: 0 }));
    const ready = await t.anonymous.get('/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body.checks.storage.detail).toMatch(/^STORAGE_FULL: /);

    // Space returns: the next write succeeds without a restart, and /readyz is 200 again.
    unlinkSync(filler);
    await command(t, 'post', '/v1/vms', { id: 'after' });
    await t.http.post('/v1/vms/vm1/msi-resolutions').send({ device: 'hostdev0', vector: 0 }).expect(201);
    await t.anonymous.get('/readyz').expect(200);

    // Nothing acknowledged is lost, across a restart too.
    t = await t.restart();
    const events = (await t.http.get('/v1/vms/vm1/events?limit=1000').expect(200)).body.results as {
      position: number;
    }[];
    const stored = new Set(events.map((e) => e.position));
    for (const position of acknowledged) expect(stored.has(Number(position)), `event ${position}`).toBe(true);
    expect((await t.http.get('/v1/vms/after').expect(200)).body.id).toBe('after');
  });
});
