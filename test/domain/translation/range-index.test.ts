// The mapping index against a plain list: same answers for every lookup, whatever the order of
// inserts and removes, and old versions unchanged by later updates.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RangeIndex } from '../../../src/domain/translation/range-index';

interface Range {
  start: bigint;
  size: bigint;
}

const containing = (ranges: Range[], address: bigint) =>
  ranges.find((r) => address >= r.start && address < r.start + r.size);
const overlapping = (ranges: Range[], start: bigint, size: bigint) =>
  ranges.some((r) => start < r.start + r.size && r.start < start + size);

const Op = fc.oneof(
  fc.record({
    op: fc.constant('insert' as const),
    start: fc.bigInt({ min: 0n, max: 200n }),
    size: fc.bigInt({ min: 1n, max: 20n }),
  }),
  fc.record({ op: fc.constant('remove' as const), start: fc.bigInt({ min: 0n, max: 200n }), size: fc.constant(0n) }),
);

describe('RangeIndex', () => {
  it('answers containing/overlapping/at like a plain list, and keeps old versions intact', () => {
    fc.assert(
      fc.property(
        fc.array(Op, { maxLength: 120 }),
        fc.array(fc.bigInt({ min: 0n, max: 230n }), { minLength: 20, maxLength: 20 }),
        (ops, probes) => {
          let index = RangeIndex.empty<string>();
          let model: Range[] = [];
          const versions: [RangeIndex<string>, Range[]][] = [];
          for (const { op, start, size } of ops) {
            if (op === 'insert' && !overlapping(model, start, size)) {
              index = index.insert(start, size, `${start}`);
              model = [...model, { start, size }];
            } else if (op === 'remove' && model.some((r) => r.start === start)) {
              index = index.remove(start);
              model = model.filter((r) => r.start !== start);
            }
            versions.push([index, model]);
          }
          for (const [version, expected] of versions) {
            expect(version.count).toBe(expected.length);
            expect([...version.ranges()].map((r) => r.start)).toEqual(
              expected.map((r) => r.start).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)),
            );
            for (const probe of probes) {
              expect(version.containing(probe)?.start).toBe(containing(expected, probe)?.start);
              expect(version.overlapping(probe, 5n) !== undefined).toBe(overlapping(expected, probe, 5n));
              expect(version.at(probe)?.start).toBe(expected.find((r) => r.start === probe)?.start);
            }
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('handles ranges at the top of the 64-bit space', () => {
    const top = (1n << 64n) - 0x1000n;
    const index = RangeIndex.empty<string>().insert(top, 0x1000n, 'top').insert(0n, 0x1000n, 'bottom');
    expect(index.containing((1n << 64n) - 1n)?.value).toBe('top');
    expect(index.containing(top - 1n)).toBeUndefined();
    expect(index.containing(0xfffn)?.value).toBe('bottom');
  });
});
