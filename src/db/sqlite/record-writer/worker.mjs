// The writer thread for resolution records (see index.ts): its own connection, synchronous=FULL,
// so the fsync and the WAL checkpoints never block the HTTP event loop. Its SQL comes from
// schema.ts through workerData (statements.ts).

import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { batchApplier, connectionSettings } from './apply-batch.mjs';

const db = new Database(workerData.path);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
db.pragma('busy_timeout = 5000');
const applyBatch = batchApplier(db, workerData.statements);

parentPort.on('message', (message) => {
  // What this connection really runs with (a test reads it: a SIGKILL keeps the page cache, so
  // only the pragma shows that commits are fsynced).
  if (message.type === 'settings') {
    parentPort.postMessage({ type: 'settings', ...connectionSettings(db) });
    return;
  }
  if (message.type === 'close') {
    db.close();
    parentPort.postMessage({ type: 'closed' });
    return;
  }
  parentPort.postMessage({ type: 'committed', id: message.id, errors: applyBatch(message.writes) });
});
