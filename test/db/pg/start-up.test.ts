// Starting a node on PostgreSQL as an operator sees it: /readyz names the engine and the schema,
// a database whose schema is newer than the code is refused with one line, and a URL's password
// never appears in what the process prints, even when the connection fails.

import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redactSecrets, redactUrl } from '../../../src/db/pg/url';
import { createStores } from '../../../src/db/index';
import { createTestDatabase, pgAbsentSuite, pgAvailable, rawClient, type TestDatabase } from '../../helpers/pg';
import { startTestAppOn, type TestApp } from '../../helpers/test-app';

const ROOT = join(import.meta.dirname, '..', '..', '..');

/** Runs dist/server.js until it exits (it is expected to refuse to start); its output and exit code. */
function runServer(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['dist/server.js'], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  return new Promise((resolve) =>
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    }),
  );
}

describe('a PostgreSQL URL in what is printed', () => {
  it('has its password replaced, whether or not the URL parses', () => {
    expect(redactUrl('postgres://app:s3cret@db.example:5432/doorbell')).toBe(
      'postgres://app:***@db.example:5432/doorbell',
    );
    expect(redactUrl('postgres://app@db.example/doorbell')).toBe('postgres://app@db.example/doorbell');
    expect(redactSecrets('connect to postgres://app:p%40ss@h/d failed (p@ss)', 'postgres://app:p%40ss@h/d')).toBe(
      'connect to postgres://app:***@h/d failed (***)',
    );
  });

  it('never shows the password when the server cannot be reached: one line, exit code 1', async () => {
    const { code, output } = await runServer({
      DOORBELL_DB: 'postgres://doorbell:hunter2-secret@127.0.0.1:1/doorbell',
    });
    expect(code).toBe(1);
    expect(output).not.toContain('hunter2-secret');
    expect(output.trim().split('\n')).toHaveLength(1);
    expect(output).toMatch(/^doorbell: PostgreSQL postgres:\/\/doorbell:\*\*\*@127\.0\.0\.1:1\/doorbell: /);
  });
});

if (await pgAvailable()) {
  describe('a node on PostgreSQL', () => {
    let database: TestDatabase;
    let t: TestApp;

    beforeAll(async () => {
      database = await createTestDatabase();
      t = await startTestAppOn(database.url);
    });

    afterAll(async () => {
      await t?.close();
      await database?.drop();
    });

    it('is ready on the postgres engine with every migration applied', async () => {
      const ready = await t.anonymous.get('/readyz').expect(200);
      expect(ready.body).toMatchObject({
        engine: 'postgres',
        schemaVersion: '0004_append-at-commit',
        checks: { database: { ok: true }, migrations: { ok: true, detail: '5 of 5 migrations applied' } },
      });
      expect(JSON.stringify(ready.body)).not.toMatch(/password/i);
    });

    it('refuses, with one line, a database whose schema is newer than the code', async () => {
      const client = await rawClient(database.url);
      try {
        await client.query(
          `INSERT INTO drizzle.__drizzle_migrations (hash, created_at) VALUES ('from-a-newer-doorbell', 99999999999999)`,
        );
      } finally {
        await client.end();
      }
      await expect(createStores(database.url)).rejects.toThrow(/has schema version 6 .* knows only 5/);
      const { code, output } = await runServer({ DOORBELL_DB: database.url });
      expect(code).toBe(1);
      expect(output.trim().split('\n')).toHaveLength(1);
      expect(output).toMatch(/^doorbell: the database .* upgrade doorbell on this node before starting it/);
    });
  });
} else pgAbsentSuite('a node on PostgreSQL');
