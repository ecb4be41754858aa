// Stream versions and the log's last position on SQLite, with several writers on one file: this
// process's record writer (its own connection), a second store of the process, another process.
// The event store keeps what it read while nothing is committed to the file
// (src/db/sqlite/commit-watch.ts). What a caller sees: the next read after a commit, by any of
// them, answers what was committed.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { EventStorePort } from '../../src/db/port';
import { createSqliteStores, type SqliteStores } from '../../src/db/sqlite/stores';

const metadata = { occurredAt: '2026-12-07T00:00:00.000Z', actor: 'test', requestId: 'test' };

let dir: string;
let open: SqliteStores[] = [];
afterEach(async () => {
  for (const stores of open.reverse()) await stores.close();
  open = [];
  rmSync(dir, { recursive: true, force: true });
});

function storesOn(path: string): SqliteStores {
  const stores = createSqliteStores(path);
  open.push(stores);
  return stores;
}

function newFile(): string {
  dir = mkdtempSync(join(tmpdir(), 'doorbell-versions-'));
  return join(dir, 'doorbell.db');
}

/** Appends one event to `vmId` through the store (this process's writer). */
async function appendOne(events: EventStorePort, vmId: string): Promise<void> {
  const version = await events.version(vmId);
  await events.append(async (afterPosition) => ({
    afterPosition,
    events: events.rowsFor(
      vmId,
      version,
      afterPosition,
      [{ type: 'Noted', data: { n: version + 1 } } as never],
      metadata,
    ),
    idempotency: [],
  }));
}

/** Another process appends one event to `vmId`, at the log's next position, and exits. */
function appendInAnotherProcess(path: string, vmId: string): void {
  const script = `
    const Database = require('better-sqlite3');
    const db = new Database(process.argv[1]);
    db.pragma('busy_timeout = 5000');
    db.prepare(\`insert into events (position, event_id, stream_id, stream_version, type, schema_version, data, metadata, occurred_at)
      select (select coalesce(max(position), 0) + 1 from events), lower(hex(randomblob(16))), ?,
        (select coalesce(max(stream_version), 0) + 1 from events where stream_id = ?), 'Noted', 1, '{}', '{}', '2026-12-07'\`)
      .run(process.argv[2], process.argv[2]);
    db.close();
  `;
  execFileSync(process.execPath, ['-e', script, path, vmId], { cwd: join(import.meta.dirname, '..', '..') });
}

/** The POSIX locks this process holds on `file`, from /proc/locks (Linux). */
function locksOn(file: string): string[] {
  const { ino } = statSync(file);
  return readFileSync('/proc/locks', 'utf8')
    .split('\n')
    .map((line) => line.replace(/^\d+:\s*/, ''))
    .filter((line) => line.split(/\s+/)[3] === String(process.pid) && line.split(/\s+/)[4]?.endsWith(`:${ino}`));
}

describe('SQLite stream versions', () => {
  it('the next read after another process appended answers its events', async () => {
    const path = newFile();
    const { events } = storesOn(path);
    await appendOne(events, 'vm1');
    expect(await events.version('vm1')).toBe(1);
    expect(await events.version('vm2')).toBe(0);
    expect(await events.lastPosition()).toBe(1);

    appendInAnotherProcess(path, 'vm1');
    expect(await events.version('vm1')).toBe(2);
    expect(await events.lastPosition()).toBe(2);
    appendInAnotherProcess(path, 'vm2');
    expect(await events.versions(['vm1', 'vm2'])).toEqual(
      new Map([
        ['vm1', 2],
        ['vm2', 1],
      ]),
    );
    expect(await events.lastPosition()).toBe(3);
  });

  it('reads its own appends at once, and what a second store of the process appended', async () => {
    const path = newFile();
    const a = storesOn(path).events;
    const b = storesOn(path).events;
    await appendOne(a, 'vm1');
    await appendOne(a, 'vm1');
    expect(await a.version('vm1')).toBe(2);
    expect(await b.version('vm1')).toBe(2);
    await appendOne(b, 'vm1');
    expect(await a.version('vm1')).toBe(3);
    expect(await a.lastPosition()).toBe(3);
    // A commit without events (a record) changes no version.
    await storesOn(path).records.write({
      resolutions: [
        { id: 'r1', vmId: 'vm1', sweepId: null, bodyHash: 'h1', resolution: '{}', createdAt: '2026-12-07' },
      ],
    });
    expect(await a.version('vm1')).toBe(3);
    appendInAnotherProcess(path, 'vm1');
    expect(await a.version('vm1')).toBe(4);
    expect(await b.version('vm1')).toBe(4);
  });

  it.runIf(process.platform === 'linux')(
    "closing one store keeps the locks the process's other connections hold on the file",
    async () => {
      const path = newFile();
      const a = storesOn(path);
      await appendOne(a.events, 'vm1');
      const held = locksOn(`${path}-shm`);
      expect(held.length).toBeGreaterThan(0);
      const b = storesOn(path);
      expect(await b.events.version('vm1')).toBe(1);
      await b.close();
      open = open.filter((s) => s !== b);
      // Closing a descriptor of the -shm file would drop every lock of the process on it.
      expect(locksOn(`${path}-shm`)).toEqual(held);
      appendInAnotherProcess(path, 'vm1');
      expect(await a.events.version('vm1')).toBe(2);
    },
  );
});
