// Vitest setup for every test file: a failing fast-check property must fail fast. fc.assert runs
// synchronously between its awaits, so vitest's timeout cannot stop it while it shrinks a
// counterexample for minutes: end at the first failure (the seed and the failing input are still
// printed, to replay it with `seed` and `path`), and stop any property after a time limit,
// counting the interruption as a failure (never as a pass).

import fc from 'fast-check';

/** Below vitest's testTimeout (30 s, vitest.config.ts), so that fast-check reports first. */
export const PROPERTY_TIME_LIMIT_MS = 20_000;

export const PROPERTY_BOUNDS = {
  endOnFailure: true,
  interruptAfterTimeLimit: PROPERTY_TIME_LIMIT_MS,
  markInterruptAsFailure: true,
} as const;

fc.configureGlobal({ ...fc.readConfigureGlobal(), ...PROPERTY_BOUNDS });
