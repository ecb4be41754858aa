// A short QMP session with a QEMU binary over stdio (QEMU's docs/interop/qmp-spec: a greeting,
// then qmp_capabilities, then commands, one JSON object per line; events, which carry "event",
// may come in between and are skipped). Everything is bounded by one deadline: a binary that
// hangs is killed, never waited for.

import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/** `-machine none`: no board, no CPU, nothing to boot; QMP on stdio (QEMU's qemu-options.hx). */
export const QMP_ARGS = ['-machine', 'none', '-nodefaults', '-display', 'none', '-qmp', 'stdio'];

export interface QmpCommand {
  execute: string;
  arguments?: Record<string, unknown>;
}

/** A command's answer: {return} or {error: {class, desc}}. */
export type QmpAnswer =
  | { return: unknown; error?: undefined }
  | { error: { class: string; desc: string }; return?: undefined };

export class QmpSessionError extends Error {}

type Json = Record<string, unknown>;

/** Runs `binary` with QMP on stdio, sends qmp_capabilities then `commands` one by one, and quits. */
export async function qmpSession(
  binary: string,
  commands: readonly QmpCommand[],
  timeoutMs: number,
): Promise<{ greeting: Json; answers: QmpAnswer[] }> {
  const child = spawn(binary, QMP_ARGS, { stdio: ['pipe', 'pipe', 'pipe'] });
  // A binary that died leaves stdin closed: the write fails, and the exit says why.
  child.stdin.on('error', () => {});
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    if (stderr.length < 2000) stderr += chunk;
  });

  const queue: Json[] = [];
  let waiting: ((message: Json) => void) | null = null;
  let failed: ((error: Error) => void) | null = null;
  let failure: Error | null = null;
  const fail = (error: Error) => {
    failure ??= error;
    failed?.(failure);
  };
  const lines = createInterface({ input: child.stdout });
  lines.on('line', (line) => {
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch {
      return fail(
        new QmpSessionError(`${binary} wrote something that is not QMP: ${JSON.stringify(line.slice(0, 120))}`),
      );
    }
    if (typeof message !== 'object' || message === null || 'event' in message) return;
    if (waiting !== null) waiting(message as Json);
    else queue.push(message as Json);
  });
  const lastWords = () => (stderr.trim() === '' ? '' : `: ${stderr.trim().split('\n')[0]}`);
  child.on('error', (error) => fail(new QmpSessionError(`cannot run ${binary}: ${(error as Error).message}`)));
  child.on('exit', (code, signal) =>
    fail(
      new QmpSessionError(`${binary} exited (${signal ?? `code ${code}`}) before the QMP session ended${lastWords()}`),
    ),
  );
  let step = 'the QMP greeting';
  const timer = setTimeout(
    () =>
      fail(
        new QmpSessionError(`${binary} gave no answer within ${timeoutMs / 1000} s (waiting for ${step}); killed it`),
      ),
    timeoutMs,
  );

  const next = () =>
    new Promise<Json>((resolve, reject) => {
      if (failure !== null) return reject(failure);
      const queued = queue.shift();
      if (queued !== undefined) return resolve(queued);
      waiting = (message) => {
        waiting = null;
        failed = null;
        resolve(message);
      };
      failed = (error) => {
        waiting = null;
        failed = null;
        reject(error);
      };
    });
  const send = async (command: QmpCommand): Promise<QmpAnswer> => {
    step = `the answer to ${command.execute}`;
    child.stdin.write(`${JSON.stringify(command)}\n`);
    const answer = await next();
    if (!('return' in answer) && !('error' in answer))
      throw new QmpSessionError(`${binary} answered ${command.execute} with neither return nor error`);
    return answer as QmpAnswer;
  };

  try {
    const greeting = await next();
    if (!('QMP' in greeting)) throw new QmpSessionError(`${binary} did not greet with QMP`);
    const accepted = await send({ execute: 'qmp_capabilities' });
    if (accepted.error !== undefined) throw new QmpSessionError(`qmp_capabilities: ${accepted.error.desc}`);
    const answers: QmpAnswer[] = [];
    for (const command of commands) answers.push(await send(command));
    return { greeting, answers };
  } finally {
    clearTimeout(timer);
    child.removeAllListeners('exit');
    const running = child.pid !== undefined && child.exitCode === null && child.signalCode === null;
    if (running) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      if (failure !== null) child.kill('SIGKILL');
      else child.stdin.end(`${JSON.stringify({ execute: 'quit' })}\n`);
      // quit ends QEMU at once; a binary that ignores it is killed.
      const killer = setTimeout(() => child.kill('SIGKILL'), 1000);
      await exited;
      clearTimeout(killer);
    }
    lines.close();
  }
}
