// The diff picture under the pictures' rules: role="img", a title and a desc that say what
// changed, and every text escaped (a QEMU package string is the client's text).

import { describe, expect, it } from 'vitest';
import { type DiffTreeNode, type DiffView, diffPicture } from '../../src/pictures/diff-picture';

const DIFF: DiffView = {
  vm: 'vm1',
  from: 3,
  to: 5,
  changes: [
    {
      op: 'change',
      kind: 'qemu',
      id: 'vm1',
      before: { version: '10.1.0' },
      after: { version: '11.0.0', package: '<script>alert(1)</script>&' },
      events: [40],
    },
    {
      op: 'change',
      kind: 'smmu',
      id: 'smmuv3.0',
      before: { accel: false },
      after: { accel: true },
      events: [41],
    },
  ],
  routes: [],
};
const TREE: DiffTreeNode[] = [
  { kind: 'bus', id: 'pcie.0', parent: null, label: 'root complex, bus 0', op: undefined, depth: 0 },
  { kind: 'smmu', id: 'smmuv3.0', parent: 'pcie.0', label: 'SMMUv3 stage 1, accel=on', op: 'change', depth: 1 },
];

describe('diff picture', () => {
  it('says what changed in its title and desc, and escapes every text', () => {
    const svg = diffPicture(DIFF, TREE);
    expect(svg).toContain('role="img"');
    expect(svg).toContain('<title id="picture-title">VM vm1: what changed from version 3 to 5</title>');
    expect(svg).toMatch(
      /<desc id="picture-desc">0 added, 0 removed, 2 changed; 0 vector route\(s\) changed\. changed qemu vm1/,
    );
    expect(svg).not.toContain('<script');
    expect(svg).toContain('&lt;script&gt;alert(1)&lt;/script&gt;&amp;');
    // The SMMU changed in place: its row in the tree says so, with the event that did it.
    expect(svg).toMatch(/data-op="change" data-kind="smmu" data-id="smmuv3\.0"/);
    expect(svg).toContain('changed: smmuv3.0 (SMMUv3 stage 1, accel=on)  accel: false -&gt; true');
    expect(svg).toContain('event #41');
  });
});
