// An answer planned on provisional positions (PostgreSQL plans before it knows where its events
// go) reads, once placed, with the real positions, and with everything else as it was.
import { describe, expect, it } from 'vitest';
import { PROVISIONAL_AFTER, placed, rebaseAnswerBody } from '../../src/db/shared/provisional-positions';

describe('provisional positions', () => {
  const shift = 41 - PROVISIONAL_AFTER;

  it('moves every provisional position of an answer to where the commit placed it', () => {
    const body = JSON.stringify({
      setBy: PROVISIONAL_AFTER + 2,
      version: 7,
      events: [
        { position: PROVISIONAL_AFTER + 1, streamVersion: 6, type: 'DeviceAttached' },
        { position: PROVISIONAL_AFTER + 2, streamVersion: 7, type: 'MsiVectorProgrammed' },
      ],
      smmu: { setBy: 12 },
    });
    expect(JSON.parse(rebaseAnswerBody(body, shift))).toEqual({
      setBy: 43,
      version: 7,
      events: [
        { position: 42, streamVersion: 6, type: 'DeviceAttached' },
        { position: 43, streamVersion: 7, type: 'MsiVectorProgrammed' },
      ],
      smmu: { setBy: 12 },
    });
  });

  it('leaves strings alone, even an address whose digits spell a provisional position', () => {
    const address = `0x${PROVISIONAL_AFTER + 1}`;
    const body = JSON.stringify({ address, display: `hostdev0 vector 0: ${address}`, setBy: PROVISIONAL_AFTER + 1 });
    const rebased = JSON.parse(rebaseAnswerBody(body, shift));
    expect(rebased).toEqual({ address, display: `hostdev0 vector 0: ${address}`, setBy: 42 });
  });

  it('returns the very same text when the plan was placed where it was planned', () => {
    const body = '{"b":1, "a":[2,3]}';
    expect(rebaseAnswerBody(body, 0)).toBe(body);
    expect(placed(5, shift)).toBe(5);
    expect(placed(PROVISIONAL_AFTER + 5, shift)).toBe(46);
  });
});
