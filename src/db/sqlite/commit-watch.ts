// Tells, with one read and no SQL, whether anything may have been committed to a database file
// since the last look: by this process's record writer (its own connection) or by another process.
// The event store keeps the stream versions and the log's last position it read until then
// (event-store.ts), so that a request reads them from memory instead of opening a read
// transaction: two fcntl locks on the -shm and a B-tree seek, the one SQL of GET .../route. Under
// the bench's load those system calls cost most: GET .../route served 10,850 -> 15,654 requests/s
// (medians of 7 interleaved runs, server and load generator pinned to one core each; issue 21).
//
// How: in WAL mode every connection on the file, in any process, shares the wal-index (the -shm
// file, mapped by each). Its first 48 bytes are the wal-index header, which a commit rewrites
// before any reader can see it: mxFrame grows with every commit, and a WAL restart changes the
// salts (https://www.sqlite.org/walformat.html, section 2.1; the format is shared by every SQLite
// version that opens the file, so it does not change). When those bytes are unchanged, nothing was
// committed. A torn read (during a writer's update) only looks like a change: the store then asks
// SQL. `PRAGMA data_version` would tell too, but it opens a read transaction (the same two locks)
// as the query it would save does.
//
// The descriptor on -shm must not be closed while a connection of this process uses the file:
// closing any descriptor of a file drops every POSIX lock the process holds on it, and SQLite's
// connections hold theirs on the -shm (another process would take the file for unused). So the
// stores of a process share one descriptor per file, closed once the last of them has closed its
// connections (a connection opened on the file without a store, as a test's, must not outlive it).

import { closeSync, openSync, readSync, statSync } from 'node:fs';
import type Database from 'better-sqlite3';

/** The wal-index header (WalIndexHdr), its first copy. */
const HEADER_BYTES = 48;

export interface CommitWatch {
  /**
   * True when nothing was committed to the file since the last call (that call included). False
   * on the first call and whenever something may have been: the caller then reads again, after
   * this call, what it keeps.
   */
  unchanged(): boolean;
  close(): void;
}

interface Shared {
  fd: number;
  users: number;
}

/** The open -shm descriptors of this process, by the file's device and inode. */
const shared = new Map<string, Shared>();

/**
 * The watch of the database file `path` that `sqlite` has open, or undefined when the file is not
 * in WAL mode (or is ':memory:'): then there is no wal-index to read, and the caller reads SQL.
 */
export function commitWatch(path: string, sqlite: Database.Database): CommitWatch | undefined {
  if (path === ':memory:' || sqlite.pragma('journal_mode', { simple: true }) !== 'wal') return undefined;
  const file = `${path}-shm`;
  let key: string;
  try {
    // By device and inode, not by name: a path may be spelled several ways. Looked up before any
    // descriptor is opened, as closing a second one would drop the locks too. The -shm file cannot
    // be replaced meanwhile: SQLite removes it only when no connection has the file open.
    const { dev, ino } = statSync(file);
    key = `${dev}:${ino}`;
  } catch {
    return undefined;
  }
  let entry = shared.get(key);
  if (entry === undefined) {
    entry = { fd: openSync(file, 'r'), users: 0 };
    shared.set(key, entry);
  }
  entry.users += 1;
  const watched = entry;
  let seen = Buffer.alloc(HEADER_BYTES);
  let read = Buffer.alloc(HEADER_BYTES);
  let first = true;
  let closed = false;
  return {
    unchanged() {
      if (closed) return false;
      readSync(watched.fd, read, 0, HEADER_BYTES, 0);
      if (!first && read.equals(seen)) return true;
      [seen, read] = [read, seen];
      first = false;
      return false;
    },
    close() {
      if (closed) return;
      closed = true;
      watched.users -= 1;
      if (watched.users === 0) {
        shared.delete(key);
        closeSync(watched.fd);
      }
    },
  };
}
