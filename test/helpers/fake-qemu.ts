// A fake qemu-system-aarch64: a small node script that answers --version and a QMP session on
// stdio as the test says (for probe-qemu and import --probe-qemu, on machines without QEMU).

import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface FakeAnswers {
  versionText: string;
  /** query-version's return. */
  version: { qemu: { major: number; minor: number; micro: number }; package: string };
  /** device-list-properties arm-smmuv3: its return, or an error. */
  properties: unknown[] | { class: string; desc: string };
  /** Answer nothing after the greeting. */
  hang?: boolean;
}

/** A node script that answers --version and a QMP session on stdio as `answers` say. */
export function writeFakeQemu(dir: string, name: string, answers: FakeAnswers): string {
  const path = join(dir, name);
  const script = `#!${process.execPath}
const answers = ${JSON.stringify(answers)};
require('node:fs').writeFileSync(${JSON.stringify(`${path}.pid`)}, String(process.pid));
if (process.argv.includes('--version')) { process.stdout.write(answers.versionText + '\\n'); process.exit(0); }
const out = (m) => process.stdout.write(JSON.stringify(m) + '\\n');
out({ QMP: { version: answers.version, capabilities: ['oob'] } });
if (answers.hang) setInterval(() => {}, 1000);
else require('node:readline').createInterface({ input: process.stdin }).on('line', (line) => {
  const { execute } = JSON.parse(line);
  // An event between answers, as QEMU may send: the client skips it.
  out({ timestamp: { seconds: 0, microseconds: 0 }, event: 'RESUME' });
  if (execute === 'qmp_capabilities') out({ return: {} });
  else if (execute === 'query-version') out({ return: answers.version });
  else if (execute === 'device-list-properties')
    out(Array.isArray(answers.properties) ? { return: answers.properties } : { error: answers.properties });
  else if (execute === 'quit') { out({ return: {} }); process.exit(0); }
  else out({ error: { class: 'CommandNotFound', desc: 'no ' + execute } });
});
`;
  writeFileSync(path, script);
  chmodSync(path, 0o755);
  return path;
}
