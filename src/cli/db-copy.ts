// doorbell db copy --from ./data/doorbell.db --to postgres://...: the SQLite database moved into
// an empty PostgreSQL database, checked (src/db/copy.ts). One line of what was copied or why not.

import { CopyError, copyDatabase } from '../db/copy.js';
import { redactUrl } from '../db/pg/url.js';
import { CliError, EXIT } from './exit-codes.js';

export async function copyDb(from: string, to: string): Promise<number> {
  try {
    const report = await copyDatabase(from, to);
    const counts = Object.entries(report.rows)
      .map(([table, n]) => `${n} ${table}`)
      .join(', ');
    process.stdout.write(
      `doorbell: copied ${from} to ${redactUrl(to)}: ${counts}; log at position ${report.lastPosition}; checked\n`,
    );
    return EXIT.ok;
  } catch (error) {
    if (error instanceof CopyError) throw new CliError(EXIT.refused, `db copy: ${error.message}`);
    throw error;
  }
}
