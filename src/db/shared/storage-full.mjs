// A write refused for want of space, recognised the same way on both engines (written once for
// both, plain JavaScript so that the SQLite record writer's thread can load it): SQLite's result
// code SQLITE_FULL (13, "database or disk is full": os_unix.c unixWrite() turns ENOSPC into it;
// better-sqlite3 puts it in SqliteError.code) and PostgreSQL's SQLSTATE 53100 disk_full (class 53,
// insufficient resources; errcodes.txt). A failure that crosses the writer thread or a batch as
// text carries the mark STORAGE_FULL, as a stale position carries STALE_POSITION.

export const STORAGE_FULL = 'STORAGE_FULL';

const FULL_CODES = new Set(['SQLITE_FULL', '53100']);

/**
 * Whether a failure is a full disk: the driver's code, or the mark in its text, on the error or
 * on one of its causes.
 * @param {unknown} error
 * @returns {boolean}
 */
export function isStorageFull(error) {
  let current = error;
  for (let depth = 0; depth < 8 && typeof current === 'object' && current !== null; depth++) {
    const { code, message, cause } = /** @type {{ code?: unknown; message?: unknown; cause?: unknown }} */ (current);
    if (typeof code === 'string' && FULL_CODES.has(code)) return true;
    if (typeof message === 'string' && message.includes(`${STORAGE_FULL}:`)) return true;
    current = cause;
  }
  return typeof error === 'string' && error.includes(`${STORAGE_FULL}:`);
}

/**
 * The text of a failed write as it crosses a thread or a batch: its message, marked STORAGE_FULL
 * when the disk is full, so that the HTTP layer still knows it for what it is.
 * @param {unknown} error
 * @returns {string}
 */
export function failureText(error) {
  const message = error instanceof Error ? error.message : String(error);
  return isStorageFull(error) && !message.includes(`${STORAGE_FULL}:`) ? `${STORAGE_FULL}: ${message}` : message;
}
