// The dispatcher: XML that does not parse, the root element, ids for parts without an alias, and
// what the writer says in comments.

import { describe, expect, it } from 'vitest';
import { replay } from '../../../src/domain/topology/replay';
import { parseLibvirtXml } from '../../../src/interchange/libvirt-xml/parse';
import { writeLibvirtXml } from '../../../src/interchange/libvirt-xml/write';
import { domain, pciAt, refusal } from './helpers';

describe('parseLibvirtXml', () => {
  it('reports malformed XML at its line and column', () => {
    expect(refusal('<domain>\n  <memory>1</memory>\n  <devices>\n</domain>').at).toMatchObject({ line: 3 });
    expect(refusal('<domain><devices><foo a=1/></devices></domain>').code).toBe('IMPORT_SOURCE_MALFORMED');
    expect(refusal('').code).toBe('IMPORT_SOURCE_MALFORMED');
    expect(refusal('<vm/>').message).toContain('not <domain>');
  });

  it('names parts without <alias ua-> as libvirt does, skipping ids taken by aliases', () => {
    const d = parseLibvirtXml(
      domain(
        [
          `<interface type='user'><model type='virtio'/><alias name='ua-net0'/>${pciAt(0, 2)}</interface>`,
          `<interface type='user'><model type='virtio'/>${pciAt(0, 3)}</interface>`,
        ].join('\n'),
      ),
    );
    expect(d.devices.map((x) => x.id)).toEqual(['net0', 'net1']);
    expect(d.report.parts.map((p) => p.became.id)).toContain('net1');
  });

  it('reads the domain type: kvm is the in-kernel irqchip', () => {
    expect(parseLibvirtXml(domain('')).board.kvm).toBe(true);
    expect(parseLibvirtXml(domain('', '', 'qemu')).board.kvm).toBe(false);
  });

  it('writes what it cannot say as XML comments that never hold "--"', () => {
    const s = replay([
      { type: 'DefineVm', vmId: 'vm', its: false },
      { type: 'AttachDevice', deviceId: 'x--y', driver: 'edu--2', bus: 'pcie.0', slot: 3 },
    ])!;
    const text = writeLibvirtXml(s).text;
    expect(text).toContain('<!-- doorbell: its=off has no libvirt setting -->');
    expect(text).toContain('<!-- doorbell: edu-2 x-y at pcie.0 3.0 has no libvirt element -->');
    expect(() => parseLibvirtXml(text)).not.toThrow();
  });
});
