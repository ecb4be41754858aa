// Compact records: a resolution body is stored once however many records repeat it, compressed
// with the d1 dictionary, and every record reads back as the bytes first answered, also after a
// restart and from the command line.

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DICTIONARY_D1 } from '../../../src/db/shared/dictionary-d1.mjs';
import { pack, RECORD_CODEC, unpack } from '../../../src/db/shared/codec.mjs';
import { startTestApp, type TestApp } from '../../helpers/test-app';
import { acceleratedS10, command } from '../../helpers/topology';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
  await acceleratedS10(t, 'vm1');
});
afterAll(async () => t.close());

const ROOT = join(import.meta.dirname, '..', '..', '..');

describe('compact records', () => {
  it('keeps dictionary d1 exactly as records written with it need it', () => {
    // deflate-raw:d1 bodies inflate only with these bytes: the dictionary may never change.
    expect(createHash('sha256').update(DICTIONARY_D1).digest('hex')).toBe(
      '9222ae5b545e03459dd5688ee866c0a005abb2d8981a918fceb833b2b14ee118',
    );
    expect(RECORD_CODEC).toBe('deflate-raw:d1');
    const text = '{"addressSpace":"direct-gpa","route":{"installed":true}}';
    expect(unpack(RECORD_CODEC, pack(text))).toBe(text);
    expect(() => unpack('deflate-raw:d9', pack(text))).toThrow(/unknown record codec/);
  });

  it('stores a repeated resolution body once, compressed, and each record reads back byte for byte', async () => {
    const first = await t.http.post('/v1/vms/vm1/msi-resolutions').send({ device: 'hostdev0', vector: 0 }).expect(201);
    const second = await t.http.post('/v1/vms/vm1/msi-resolutions').send({ device: 'hostdev0', vector: 0 }).expect(201);
    expect(first.body.id).not.toBe(second.body.id);
    for (const answer of [first, second])
      expect((await t.http.get(answer.headers.location!).expect(200)).text).toBe(answer.text);

    const db = new Database(t.dbPath, { readonly: true });
    try {
      const rows = db
        .prepare(
          'select r.body, r.body_hash, length(b.packed) as packed from msi_resolutions r join resolution_bodies b on b.hash = r.body_hash where r.id in (?, ?)',
        )
        .all(first.body.id, second.body.id) as { body: string; body_hash: string; packed: number }[];
      expect(rows).toHaveLength(2);
      expect(rows[0]!.body_hash).toBe(rows[1]!.body_hash);
      expect(rows.every((r) => r.body === '')).toBe(true);
      // 4.7 KB of JSON, stored in well under a quarter of that.
      expect(rows[0]!.packed).toBeLessThan(first.text.length / 4);
    } finally {
      db.close();
    }
  });

  it('keeps a sweep as its head and its resolution records, and reads it back byte for byte after a restart', async () => {
    await command(t, 'put', '/v1/vms/vm1/devices/hostdev0/msi-vectors/1', { address: '0x08090040', data: '0x1' });
    const sweep = await t.http.post('/v1/vms/vm1/msi-sweeps').send({}).expect(201);
    const db = new Database(t.dbPath, { readonly: true });
    try {
      const row = db.prepare('select format, body from msi_sweeps where id = ?').get(sweep.body.id) as {
        format: string;
        body: string;
      };
      expect(row.format).toBe('head');
      // The head: everything but the results, which are the sweep's resolution records.
      expect(JSON.parse(row.body)).not.toHaveProperty('results');
    } finally {
      db.close();
    }
    t = await t.restart();
    expect((await t.http.get(`/v1/msi-sweeps/${sweep.body.id}`).expect(200)).text).toBe(sweep.text);
  });

  it('still reads records stored whole, before bodies were shared', async () => {
    const legacy = '{"id":"00000000-0000-4000-8000-000000000001","vm":"vm1","semantics":"upstream"}';
    const db = new Database(t.dbPath);
    try {
      db.prepare(
        "insert into msi_resolutions (id, vm_id, sweep_id, body, created_at) values (?, 'vm1', null, ?, '2026-11-01T00:00:00Z')",
      ).run('00000000-0000-4000-8000-000000000001', legacy);
    } finally {
      db.close();
    }
    expect((await t.http.get('/v1/msi-resolutions/00000000-0000-4000-8000-000000000001').expect(200)).text).toBe(
      `${legacy}\n`,
    );
  });

  it('`doorbell record show ID` prints a stored record without the service', async () => {
    const answer = await t.http.post('/v1/vms/vm1/msi-resolutions').send({ device: 'hostdev0', vector: 1 }).expect(201);
    const printed = execFileSync(process.execPath, ['dist/cli.js', 'record', 'show', answer.body.id], {
      cwd: ROOT,
      env: { ...process.env, DOORBELL_DB: t.dbPath },
    }).toString();
    expect(printed).toBe(answer.text);
  });
  it('`doorbell record show` on a database path that does not exist says so and creates nothing', () => {
    const missing = join(ROOT, 'test-output', 'no-such.db');
    const run = spawnSync(process.execPath, ['dist/cli.js', 'record', 'show', 'x'], {
      cwd: ROOT,
      env: { ...process.env, DOORBELL_DB: missing },
    });
    expect(run.status).toBe(1);
    expect(run.stderr.toString()).toContain(`no database at ${missing}`);
    expect(existsSync(missing)).toBe(false);
  });
});
