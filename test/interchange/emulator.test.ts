// What an import reads of the QEMU build from its source (issue 19, item 3): the binary it names,
// recorded in the report, and never a version read out of a path.

import { describe, expect, it } from 'vitest';
import { parseLibvirtXml } from '../../src/interchange/libvirt-xml/parse';
import { parseQemuCmdline } from '../../src/interchange/qemu-cmdline/parse';

const MACHINE = '-machine virt,gic-version=3 -nodefaults';

describe("the binary a command line's program names", () => {
  it('is recorded at token 0 with the note that it is not a build', () => {
    const { report } = parseQemuCmdline(`qemu-system-aarch64 ${MACHINE}`);
    expect(report.emulator).toMatchObject({ binary: 'qemu-system-aarch64', from: 'program', at: { token: 0 } });
    expect(report.emulator!.notes).toHaveLength(1);
    expect(report.emulator!.notes[0]).toMatch(/^names the binary, not its build/);
    expect(report.emulator!.notes[0]).toContain('doorbell probe-qemu qemu-system-aarch64 --vm VM');
  });

  it('a version in the path is named as a name, not read as the version', () => {
    // /opt/qemu-10.1/bin: "10.1" follows "qemu-", a dotted number; the note quotes it and reads nothing from it.
    const { report } = parseQemuCmdline(`/opt/qemu-10.1/bin/qemu-system-aarch64 ${MACHINE}`);
    expect(report.emulator?.binary).toBe('/opt/qemu-10.1/bin/qemu-system-aarch64');
    expect(report.emulator!.notes[1]).toMatch(/^"10\.1" in the path is a name somebody chose/);
  });

  it('after VAR=value words the program is the first other word; a line that starts with an option names none', () => {
    const env = parseQemuCmdline(`LC_ALL=C /usr/bin/qemu-system-aarch64 ${MACHINE}`);
    expect(env.report.emulator).toMatchObject({ binary: '/usr/bin/qemu-system-aarch64', at: { token: 1 } });
    expect(parseQemuCmdline(MACHINE).report.emulator).toBeNull();
  });
});

describe("libvirt's <emulator>", () => {
  const domain = (emulator: string) =>
    `<domain type='kvm'>\n  <memory unit='KiB'>1048576</memory>\n  <os><type arch='aarch64' machine='virt'>hvm</type></os>\n  <features><gic version='3'/></features>\n  <devices>\n    ${emulator}\n  </devices>\n</domain>`;

  it('is recorded with its line, and no longer listed as ignored', () => {
    const { report } = parseLibvirtXml(domain('<emulator>/usr/bin/qemu-system-aarch64</emulator>'));
    // <emulator> is on line 6 of the domain above, at column 5.
    expect(report.emulator).toMatchObject({
      binary: '/usr/bin/qemu-system-aarch64',
      from: 'emulator-element',
      at: { line: 6, column: 5 },
    });
    expect(report.ignored.map((i) => i.text)).not.toContain('<emulator>');
  });

  it("a distro's versioned path (/usr/libexec/qemu-kvm-9.2.0) is not read as 9.2.0", () => {
    const { report } = parseLibvirtXml(domain('<emulator>/usr/libexec/qemu-kvm-9.2.0</emulator>'));
    expect(report.emulator!.notes[1]).toMatch(/^"9\.2\.0" in the path/);
  });
});
