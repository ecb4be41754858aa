// Exit codes of `doorbell`, the same for every command, so that a script can tell "fix your
// command" from "the server said no" from "nothing listens there" from "interrupts are lost".

export const EXIT = {
  ok: 0,
  /**
   * The server refused at least one request (a 4xx or 5xx answer), or a record is missing, or
   * (probe-qemu) the QEMU binary gave no usable answer in time.
   */
  refused: 1,
  /** The command line is wrong: unknown command or option, missing argument, unreadable file, a binary that cannot be run. */
  usage: 2,
  /** No answer from the server: nothing listens at --server, DNS, connection reset. */
  unreachable: 3,
  /** `doorbell sweep`: at least one vector loses its interrupts or is misrouted before the fix. */
  findings: 4,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export class CliError extends Error {
  constructor(
    readonly exitCode: ExitCode,
    message: string,
  ) {
    super(message);
  }
}
