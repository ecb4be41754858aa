// How the CLI prints: a table for people, JSON for scripts (--json), never both on stdout.

import Table from 'cli-table3';

export function printTable(head: string[], rows: (string | number)[][]): void {
  // No rule between rows: a sweep of 64 vectors should fit on a screen.
  const table = new Table({
    head,
    style: { head: [], border: [] },
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
  });
  table.push(...rows.map((row) => row.map(String)));
  process.stdout.write(`${table.toString()}\n`);
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
