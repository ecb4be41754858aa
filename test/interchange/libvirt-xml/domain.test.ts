// Domain-level elements and the board defaults libvirt fills in: memory units and rounding, the
// GIC libvirt picks when the domain names none, ACPI.

import { describe, expect, it } from 'vitest';
import { libvirtRamBytes, unitScale } from '../../../src/interchange/libvirt-xml/domain';
import { parseLibvirtXml } from '../../../src/interchange/libvirt-xml/parse';
import { domain, refusal } from './helpers';

const withMemory = (memory: string) => `<domain type='kvm'>${memory}</domain>`;

describe('<memory> (virScaleInteger units, virDomainParseMemory, qemuDomainAlignMemorySizes)', () => {
  it("virScaleInteger: 'k'/'KiB' are 1024, 'KB' is 1000, 'b'/'bytes' are 1, case-insensitive, unknown suffixes refused", () => {
    expect(unitScale('KiB')).toBe(1024n);
    expect(unitScale('k')).toBe(1024n);
    expect(unitScale('kib')).toBe(1024n);
    expect(unitScale('KB')).toBe(1000n);
    expect(unitScale('MB')).toBe(1_000_000n);
    expect(unitScale('GiB')).toBe(1n << 30n);
    expect(unitScale('EiB')).toBe(1n << 60n);
    expect(unitScale('b')).toBe(1n);
    expect(unitScale('bytes')).toBe(1n);
    expect(unitScale('parsecs')).toBeUndefined();
    expect(unitScale('KiBB')).toBeUndefined();
  });

  it('aligns up to 1 MiB as libvirt does: aarch64-usb-controller has 219100 KiB and libvirt runs -m size=219136k', () => {
    expect(libvirtRamBytes(219100n, 1024n)).toEqual({ kib: 219100n, bytes: 219136n * 1024n });
    const d = parseLibvirtXml(withMemory("<memory unit='KiB'>219100</memory>"));
    expect(d.board.ramSize).toBe(219136n * 1024n);
    expect(d.report.parts.find((p) => p.text === '<memory>')!.notes[0]).toContain('219136 KiB');
  });

  it('keeps whole KiB rounding up, then aligns: 1000 bytes is 1 KiB, run as 1 MiB; 2 GB (SI) is 1908 MiB', () => {
    expect(parseLibvirtXml(withMemory("<memory unit='bytes'>1000</memory>")).board.ramSize).toBe(1n << 20n);
    // 2e9 bytes = 1953125 KiB = 1907.35 MiB -> 1908 MiB.
    expect(parseLibvirtXml(withMemory("<memory unit='GB'>2</memory>")).board.ramSize).toBe(1908n << 20n);
  });

  it('reads KiB when no unit is given (libvirt reads <memory> with a scale of 1024)', () => {
    expect(parseLibvirtXml(withMemory('<memory>4194304</memory>')).board.ramSize).toBe(4n << 30n);
  });

  it('refuses what libvirt refuses, as malformed XML at its line', () => {
    expect(refusal(withMemory("<memory unit='parsecs'>1</memory>")).message).toContain("unit='parsecs'");
    expect(refusal(withMemory('<memory>1.5</memory>')).code).toBe('IMPORT_SOURCE_MALFORMED');
  });
});

describe('the GIC (qemuDomainDefEnableDefaultFeatures)', () => {
  it("reads <gic version='2'> and <gic version='3'> as written", () => {
    expect(parseLibvirtXml(domain('', "<features><gic version='2'/></features>")).board.gicVersion).toBe(2);
    expect(parseLibvirtXml(domain('', "<features><gic version='3'/></features>")).board.gicVersion).toBe(3);
  });

  it("no <gic> in a TCG domain (type='qemu'): GICv2 whatever the host, as libvirt's iommufd-virt test writes back", () => {
    const d = parseLibvirtXml(domain('', '', 'qemu'), { gicVersion: 3 });
    expect(d.board.gicVersion).toBe(2);
    expect(d.report.parts[0]!.notes.join('\n')).toContain('TCG domain');
    expect(d.report.parts[0]!.notes.join('\n')).toContain('gicVersion 3 of the request not used');
  });

  it('no <gic> in a KVM domain: the host decides; the import assumes GICv3 with an ITS and says so', () => {
    const d = parseLibvirtXml(domain(''));
    expect(d.board.gicVersion).toBe(3);
    expect(d.board.its).toBeUndefined();
    expect(d.report.parts[0]!.notes.join('\n')).toContain('assumed GICv3 with an ITS (an arm64 KVM host)');
  });

  it("the request's gicVersion wins over the assumption (no <gic>, or <gic version='host'>)", () => {
    expect(parseLibvirtXml(domain(''), { gicVersion: 2 }).board.gicVersion).toBe(2);
    const host = parseLibvirtXml(domain('', "<features><gic version='host'/></features>"), { gicVersion: 2 });
    expect(host.board.gicVersion).toBe(2);
    expect(host.report.parts).toContainEqual(expect.objectContaining({ text: "<gic version='host'>" }));
  });

  it('a version the domain names is not overridden by the request, and the report says so', () => {
    const d = parseLibvirtXml(domain('', "<features><gic version='3'/></features>"), { gicVersion: 2 });
    expect(d.board.gicVersion).toBe(3);
    expect(d.report.parts[0]!.notes.join('\n')).toContain(
      "gicVersion 2 of the request not used: the domain names <gic version='3'>",
    );
  });

  it("<gic version='host'> in a TCG domain: QEMU refuses gic-version=host without KVM (422)", () => {
    const e = refusal(domain('', "<features><gic version='host'/></features>", 'qemu'));
    expect(e.code).toBe('IMPORT_NOT_SUPPORTED');
    expect(e.message).toContain('requires KVM');
  });

  it('a version libvirt does not know is malformed', () => {
    expect(refusal(domain('', "<features><gic version='5'/></features>")).code).toBe('IMPORT_SOURCE_MALFORMED');
  });
});

describe('ACPI (qemuBuildMachineCommandLine)', () => {
  it('<features><acpi/> is acpi=on; no <acpi/> is acpi=off (aarch64-virt-minimal: no <acpi/>, its args say acpi=off)', () => {
    expect(parseLibvirtXml(domain('', '<features><acpi/></features>')).board.acpi).toBe(true);
    const off = parseLibvirtXml(domain(''));
    expect(off.board.acpi).toBe(false);
    expect(off.report.parts[0]!.notes).toContain('no <features><acpi/>: libvirt starts the machine with acpi=off');
  });

  it('other features are read and ignored with a reason', () => {
    const d = parseLibvirtXml(domain('', '<features><pae/></features>'));
    expect(d.report.ignored).toContainEqual(expect.objectContaining({ text: '<features><pae>' }));
  });
});

describe('<os>', () => {
  it('refuses a machine that is not virt', () => {
    expect(refusal(domain('', "<os><type arch='aarch64' machine='sbsa-ref'>hvm</type></os>")).message).toContain(
      'sbsa-ref',
    );
  });
});
