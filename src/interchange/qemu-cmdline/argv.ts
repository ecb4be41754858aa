// Words -> options: the program, then `-name value` pairs (or a bare flag), each with the token
// it stands at, so that every part of the report and every error points into the source.

import type { SourceRef } from '../report.js';

/** Options that take no argument; any other option takes the next word. */
const FLAGS = new Set([
  'enable-kvm',
  'nographic',
  'no-reboot',
  'no-shutdown',
  'nodefaults',
  'no-user-config',
  'snapshot',
  'daemonize',
  'S',
  's',
  'full-screen',
  'no-hpet',
  'version',
  'help',
  'h',
  'enable-fips',
  'no-fd-bootchk',
  'only-migratable',
  'preconfig',
]);

export interface Option {
  name: string;
  value: string | undefined;
  /** Token index of the option itself. */
  at: SourceRef;
  /** Token index of its value. */
  valueAt: SourceRef;
}

export interface CommandLine {
  program: string | undefined;
  /** Token of the program, or of the first option when the line names none. */
  programAt: SourceRef;
  options: Option[];
  /** Words that are not options: leading VAR=value assignments, stray words, redirections. */
  strays: Option[];
}

export function commandLineOptions(words: string[]): CommandLine {
  const options: Option[] = [];
  const strays: Option[] = [];
  const stray = (i: number) =>
    strays.push({ name: words[i]!, value: undefined, at: { token: i }, valueAt: { token: i } });
  let i = 0;
  // Leading VAR=value assignments and the program.
  while (i < words.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[i]!)) {
    stray(i);
    i += 1;
  }
  let program: string | undefined;
  const programAt = { token: Math.min(i, Math.max(0, words.length - 1)) };
  if (i < words.length && !words[i]!.startsWith('-')) {
    program = words[i];
    i += 1;
  }
  while (i < words.length) {
    const word = words[i]!;
    if (!word.startsWith('-') || word === '-' || word === '--') {
      stray(i);
      i += 1;
      continue;
    }
    const name = word.replace(/^--?/, '');
    if (FLAGS.has(name) || i + 1 >= words.length) {
      options.push({ name, value: undefined, at: { token: i }, valueAt: { token: i } });
      i += 1;
    } else {
      options.push({ name, value: words[i + 1], at: { token: i }, valueAt: { token: i + 1 } });
      i += 2;
    }
  }
  return { program, programAt, options, strays };
}

/** The option as written, for the report. */
export const optionText = (o: Option) => (o.value === undefined ? `-${o.name}` : `-${o.name} ${o.value}`);
