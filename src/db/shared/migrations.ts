// The migrations this code knows, read from a drizzle-kit journal (migrations/sqlite or
// migrations/postgres): what /readyz compares the database with.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export function migrationTags(folder: string): string[] {
  const journal = JSON.parse(readFileSync(join(folder, 'meta', '_journal.json'), 'utf8')) as {
    entries: { tag: string }[];
  };
  return journal.entries.map((e) => e.tag);
}
