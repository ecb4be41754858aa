// The writer thread for resolution records (see record-writer.ts). Plain JavaScript so that it
// loads in a worker under any runner (tsx, vitest, node) without a TypeScript loader.
// It commits batches of record writes with synchronous=FULL on its own connection, so the
// fsync and the WAL checkpoints never block the HTTP event loop. Table and column names are
// those of src/db/schema.ts (msi_resolutions, msi_sweeps, idempotency_keys).

import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const db = new Database(workerData.path);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
db.pragma('busy_timeout = 5000');

const insertResolution = db.prepare('insert into msi_resolutions (id, vm_id, sweep_id, body, created_at) values (@id, @vmId, @sweepId, @body, @createdAt)');
const insertSweep = db.prepare('insert into msi_sweeps (id, vm_id, body, created_at) values (@id, @vmId, @body, @createdAt)');
const insertIdempotency = db.prepare('insert into idempotency_keys (key, fingerprint, status, headers, body, created_at) values (@key, @fingerprint, @status, @headers, @body, @createdAt)');

function apply(write) {
  if (write.sweep) insertSweep.run(write.sweep);
  for (const resolution of write.resolutions) insertResolution.run(resolution);
  const keep = write.idempotency;
  if (keep) {
    const { status, headers, body } = keep.response;
    insertIdempotency.run({ key: keep.key, fingerprint: keep.fingerprint, status, headers: JSON.stringify(headers), body, createdAt: keep.createdAt });
  }
}

const applyAll = db.transaction((writes) => writes.forEach(apply));
const applyOne = db.transaction(apply);

parentPort.on('message', (message) => {
  if (message.type === 'close') {
    db.close();
    parentPort.postMessage({ type: 'closed' });
    return;
  }
  let errors;
  try {
    applyAll.immediate(message.writes);
    errors = message.writes.map(() => null);
  } catch {
    // The batch rolled back: retry each write alone, so that one bad write fails only itself.
    errors = message.writes.map((write) => {
      try {
        applyOne.immediate(write);
        return null;
      } catch (error) {
        return error instanceof Error ? error.message : String(error);
      }
    });
  }
  parentPort.postMessage({ type: 'committed', id: message.id, errors });
});
