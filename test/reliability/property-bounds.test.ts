// The bounds every fast-check property runs under (test/helpers/fast-check.ts): a failing property
// ends at its first counterexample instead of shrinking for minutes inside a synchronous
// fc.assert, and a property that outruns its time limit fails instead of passing.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

describe('fast-check bounds', () => {
  it('ends a failing property at its first counterexample: no shrinking', () => {
    let calls = 0;
    const details = fc.check(
      fc.property(fc.array(fc.nat(), { minLength: 5, maxLength: 50 }), () => {
        calls += 1;
        return false;
      }),
    );
    expect(details.failed).toBe(true);
    // Shrinking would call the predicate again on smaller arrays.
    expect(calls).toBe(1);
  });

  it('counts a property interrupted by its time limit as a failure', async () => {
    const details = await fc.check(
      fc.asyncProperty(fc.nat(), async () => {
        await new Promise((resolve) => setTimeout(resolve, 20));
        return true;
      }),
      // The global bounds, with a time limit short enough for a test.
      { interruptAfterTimeLimit: 50, numRuns: 1000 },
    );
    expect(details.interrupted).toBe(true);
    expect(details.failed).toBe(true);
  });

  it('stops every property before vitest gives up on the test (30 s)', () => {
    // Read from fast-check itself, not from the setup module (importing it would apply it here).
    const global = fc.readConfigureGlobal();
    expect(global).toMatchObject({ endOnFailure: true, markInterruptAsFailure: true });
    expect(global.interruptAfterTimeLimit).toBeLessThan(30_000);
  });
});
