// A command line as a POSIX shell reads it (quotes, backslashes, line continuations), by the
// maintained shlex port. A malformed one (an unclosed quote, a trailing backslash) is reported at
// the token where it starts.

import { split } from 'shlex';
import { malformed } from '../report.js';

/**
 * Where the quote that is never closed opens (or the trailing backslash stands). Only locates the
 * error for the message: the splitting itself is shlex's.
 */
function unclosedAt(source: string): number {
  let quote: string | undefined;
  let start = source.length;
  for (let i = 0; i < source.length; i += 1) {
    const c = source[i];
    if (quote === "'") {
      if (c === "'") quote = undefined;
    } else if (c === '\\') {
      if (i + 1 === source.length) return i;
      i += 1;
    } else if (quote === '"') {
      if (c === '"') quote = undefined;
    } else if (c === "'" || c === '"') {
      quote = c;
      start = i;
    }
  }
  return quote === undefined ? source.length : start;
}

export function shellWords(source: string): string[] {
  try {
    return split(source);
  } catch {
    const end = unclosedAt(source);
    let before: string[] = [];
    try {
      before = split(source.slice(0, end));
    } catch {
      // The locator and shlex disagree: report the error at the end.
    }
    const glued = end > 0 && !/\s/.test(source[end - 1]!);
    const token = Math.max(0, before.length - (glued ? 1 : 0));
    const line = source.slice(0, end).split('\n').length;
    const column = end - source.lastIndexOf('\n', end - 1);
    throw malformed(
      `a quote opened at line ${line}, column ${column} is never closed (or a backslash ends the text), so the shell cannot split the command line`,
      { token },
    );
  }
}
