// A malformed `qemu` object. Every problem found is kept, each with the JSON Pointer of its field,
// so the API can answer one 400 that lists them all (contract: errors[].pointer such as
// /qemu/version or /queryVersion/qemu/micro).

export interface FieldProblem {
  /** JSON Pointer (RFC 6901) into the request body. */
  readonly pointer: string;
  readonly detail: string;
}

export class QemuBuildInputError extends Error {
  /** The first problem, for callers that report one. */
  readonly pointer: string;
  readonly detail: string;

  constructor(readonly problems: readonly [FieldProblem, ...FieldProblem[]]) {
    super(problems.map((p) => `${p.pointer || '(body)'}: ${p.detail}`).join('; '));
    this.name = 'QemuBuildInputError';
    this.pointer = problems[0].pointer;
    this.detail = problems[0].detail;
  }
}

/** Appends one reference token to a pointer, escaped as RFC 6901 requires (~ -> ~0, / -> ~1). */
export function pointerTo(base: string, token: string | number): string {
  return `${base}/${String(token).replace(/~/g, '~0').replace(/\//g, '~1')}`;
}
