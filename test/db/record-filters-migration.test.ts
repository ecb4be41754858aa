// migrations/0007_record-filters: records stored before the list filters existed get their
// filter columns from their plain JSON, and stay immutable afterwards.

import { cpSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { afterEach, expect, it } from 'vitest';
import { MIGRATIONS_FOLDER } from '../../src/db/sqlite/database';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** The migrations folder as it was before 0007_record-filters. */
function migrationsBefore(tag: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'doorbell-migrations-'));
  dirs.push(dir);
  cpSync(MIGRATIONS_FOLDER, dir, { recursive: true });
  const journalPath = join(dir, 'meta', '_journal.json');
  const journal = JSON.parse(readFileSync(journalPath, 'utf8')) as { entries: { idx: number; tag: string }[] };
  const cut = journal.entries.find((e) => e.tag === tag)!.idx;
  for (const entry of journal.entries.filter((e) => e.idx >= cut)) unlinkSync(join(dir, `${entry.tag}.sql`));
  journal.entries = journal.entries.filter((e) => e.idx < cut);
  writeFileSync(journalPath, JSON.stringify(journal));
  return dir;
}

it('fills the filter columns of older sweeps and plain-JSON resolutions, which stay immutable', () => {
  const sqlite = new Database(':memory:');
  const db = drizzle(sqlite);
  migrate(db, { migrationsFolder: migrationsBefore('0007_record-filters') });
  const resolution = {
    id: 'r1',
    vm: 'vm1',
    device: 'hostdev0',
    semantics: 'pre-fix',
    route: { installed: false, reason: 'F_TRANSLATION' },
    comparison: { misroutedBeforeFix: true },
  };
  sqlite
    .prepare("INSERT INTO msi_resolutions (id, vm_id, body, created_at) VALUES ('r1', 'vm1', ?, 'then')")
    .run(JSON.stringify(resolution));
  const head = { id: 's1', vm: 'vm1', semantics: 'upstream', counts: { misroutedBeforeFix: 2, routesMissing: 1 } };
  sqlite
    .prepare("INSERT INTO msi_sweeps (id, vm_id, body, format, created_at) VALUES ('s1', 'vm1', ?, 'head', 'then')")
    .run(JSON.stringify(head));

  migrate(db, { migrationsFolder: MIGRATIONS_FOLDER });

  expect(
    sqlite.prepare('SELECT device, semantics, installed, misrouted_before_fix FROM msi_resolutions').get(),
  ).toEqual({ device: 'hostdev0', semantics: 'pre-fix', installed: 0, misrouted_before_fix: 1 });
  expect(sqlite.prepare('SELECT semantics, misrouted_before_fix, routes_missing FROM msi_sweeps').get()).toEqual({
    semantics: 'upstream',
    misrouted_before_fix: 2,
    routes_missing: 1,
  });
  expect(() => sqlite.prepare("UPDATE msi_resolutions SET device = 'x'").run()).toThrow(/immutable/);
  expect(() => sqlite.prepare("UPDATE msi_sweeps SET semantics = 'x'").run()).toThrow(/immutable/);
});
