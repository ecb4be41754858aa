// Positions an append plans on before it knows its real ones. On PostgreSQL a batch is planned
// without holding the log head, so the position it will take is known only at commit: the node
// plans its events after PROVISIONAL_AFTER, and the commit places them after the real head
// (migrations/postgres/0004). Every position of the batch moves by the same shift, the real head
// minus PROVISIONAL_AFTER; positions the batch did not plan (events stored before) are real already.
//
// PROVISIONAL_AFTER is 2^52: no real log comes near it, and a provisional position stays a safe
// integer (below 2^53). In an answer's JSON a position is a number (`setBy`, `events[].position`,
// ...); every other number in an answer is a count, a version or a vector, and addresses are hex
// strings. So a number above PROVISIONAL_AFTER in an answer is a provisional position, and
// nothing else is.

export const PROVISIONAL_AFTER = 2 ** 52;

/** A position as the commit placed it: provisional ones moved by `shift`, real ones untouched. */
export function placed(position: number, shift: number): number {
  return position > PROVISIONAL_AFTER ? position + shift : position;
}

/** An answer's JSON with every provisional position moved by `shift` (the same text when 0). */
export function rebaseAnswerBody(body: string, shift: number): string {
  if (shift === 0) return body;
  return JSON.stringify(JSON.parse(body, (_key, value) => (typeof value === 'number' ? placed(value, shift) : value)));
}
