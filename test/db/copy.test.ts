// doorbell db copy: a SQLite database moved into an empty PostgreSQL database reads the same
// through the API (events with their positions, ids and metadata; records byte for byte; tokens),
// and a target that is not empty is refused.

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CopyError, copyDatabase } from '../../src/db/copy';
import { createTestDatabase, pgAbsentSuite, pgAvailable, type TestDatabase } from '../helpers/pg';
import { startTestApp, startTestAppOn, type TestApp } from '../helpers/test-app';
import { acceleratedS10, command } from '../helpers/topology';

const ROOT = join(import.meta.dirname, '..', '..');

describe('db copy refuses', () => {
  it('a source that is not an existing SQLite file, and a target that is not a PostgreSQL URL', async () => {
    await expect(copyDatabase('/nonexistent/doorbell.db', 'postgres://x@127.0.0.1/y')).rejects.toThrow(CopyError);
    await expect(copyDatabase(join(ROOT, 'package.json'), './other.db')).rejects.toThrow(/--to must be a postgres/);
  });
});

if (await pgAvailable()) {
  describe('db copy from SQLite to PostgreSQL', () => {
    let source: TestApp;
    let target: TestDatabase;
    const answers: Record<string, string> = {};

    beforeAll(async () => {
      source = await startTestApp();
      await acceleratedS10(source, 'vm1');
      await command(source, 'put', '/v1/vms/vm1/devices/hostdev0/msi-vectors/1', {
        address: '0xfffff040',
        data: '0x2',
      });
      const resolution = await source.http
        .post('/v1/vms/vm1/msi-resolutions')
        .set('Idempotency-Key', 'copied-key')
        .send({ device: 'hostdev0', vector: 0 })
        .expect(201);
      answers.resolution = resolution.headers.location as string;
      answers.resolutionText = resolution.text;
      const sweep = await command(source, 'post', '/v1/vms/vm1/msi-sweeps', {});
      answers.sweep = sweep.headers.location as string;
      answers.sweepText = sweep.text;
      const fleet = await command(source, 'post', '/v1/fleet-sweeps', {});
      answers.fleet = fleet.headers.location as string;
      answers.fleetText = fleet.text;
      answers.events = (await source.http.get('/v1/events?limit=1000').expect(200)).text;
      answers.tokens = (await source.http.get('/v1/tokens').expect(200)).text;
      await source.stores.close();
      target = await createTestDatabase();
    });

    afterAll(async () => {
      await source?.close().catch(() => undefined);
      await target?.drop();
    });

    it('copies everything, checks it, and the service on PostgreSQL answers as it did on SQLite', async () => {
      const cli = spawnSync(
        process.execPath,
        ['dist/cli.js', 'db', 'copy', '--from', source.dbPath, '--to', target.url],
        {
          cwd: ROOT,
          encoding: 'utf8',
        },
      );
      expect(cli.stderr).toBe('');
      expect(cli.status).toBe(0);
      expect(cli.stdout).toMatch(/^doorbell: copied .* checked\n$/);
      const t = await startTestAppOn(target.url, { adminToken: source.adminToken });
      try {
        // Events as they were; their url is absolute on the host asked, and this app listens on another port.
        const onAnyPort = (text: string) => text.replace(/http:\/\/127\.0\.0\.1:\d+/g, 'BASE');
        expect(onAnyPort((await t.http.get('/v1/events?limit=1000').expect(200)).text)).toBe(
          onAnyPort(answers.events!),
        );
        expect((await t.http.get(answers.resolution!).expect(200)).text).toBe(answers.resolutionText);
        expect((await t.http.get(answers.sweep!).expect(200)).text).toBe(answers.sweepText);
        expect((await t.http.get(answers.fleet!).expect(200)).text).toBe(answers.fleetText);
        // Tokens as they were (last use aside: reading the list is a use).
        const withoutUse = (text: string) => onAnyPort(text.replace(/"lastUsedAt":"[^"]*"/g, ''));
        expect(withoutUse((await t.http.get('/v1/tokens').expect(200)).text)).toBe(withoutUse(answers.tokens!));
        // The stored answer under the Idempotency-Key came along: a retry replays it.
        const replay = await t.http
          .post('/v1/vms/vm1/msi-resolutions')
          .set('Idempotency-Key', 'copied-key')
          .send({ device: 'hostdev0', vector: 0 })
          .expect(201);
        expect(replay.text).toBe(answers.resolutionText);
        // The log goes on from where it was.
        const next = await command(t, 'put', '/v1/vms/vm1/devices/hostdev0/msi-vectors/2', {
          address: '0xfffff040',
          data: '0x3',
        });
        const last = (JSON.parse(answers.events!) as { count: number }).count;
        expect(next.body.events[0].position).toBe(last + 1);
      } finally {
        await t.close();
      }
    });

    it('refuses a target that is not empty', async () => {
      await expect(copyDatabase(source.dbPath, target.url)).rejects.toThrow(/is not empty .*rows in events/);
    });
  });
} else pgAbsentSuite('db copy from SQLite to PostgreSQL');
