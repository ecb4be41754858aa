// Domain reference §10 (rules Q1–Q8) and the real version strings quoted in
// domain/qemu-versions.md. Each expectation says in a comment how it follows from the reference.

import { describe, expect, it } from 'vitest';
import { classifyQemuBuild } from '../../../src/domain/qemu-build/classify';
import { parseQemuDeclaration } from '../../../src/domain/qemu-build/declaration';
import { QemuBuildInputError } from '../../../src/domain/qemu-build/input-error';
import { QEMU_BUILD_RULES } from '../../../src/domain/qemu-build/rules';

/** What POST /v1/qemu-builds/classify does with a body: parse, then classify. */
const classify = (body: unknown) => classifyQemuBuild(parseQemuDeclaration(body));

/** The pointers of every problem a malformed body is refused with. */
function pointersOf(body: unknown, at?: string): string[] {
  try {
    parseQemuDeclaration(body, at);
  } catch (error) {
    expect(error).toBeInstanceOf(QemuBuildInputError);
    return (error as QemuBuildInputError).problems.map((p) => p.pointer);
  }
  throw new Error(`${JSON.stringify(body)} was accepted`);
}

describe('§10 rules, first one that applies', () => {
  it('Q1: accel and msi-gpa among the arm-smmuv3 properties -> upstream, whatever the version says', () => {
    // Q1 comes before the version rules: a 10.1.0 version (Q7 alone would say none) does not matter.
    const r = classify({ smmuProperties: ['bus', 'accel', 'msi-gpa', 'ril'], version: '10.1.0' });
    expect(r).toMatchObject({
      behaviour: 'upstream',
      rule: 'Q1',
      basis: 'property probe',
      version: '10.1.0',
      smmuProperties: ['bus', 'accel', 'msi-gpa', 'ril'],
    });
  });

  it('Q2: accel without msi-gpa -> address-space, even on an 11.0.0 version', () => {
    // A pre-v6 tree (v3–v5) that reports 11.0.0 would be odd, but the probe beats Q5.
    expect(classify({ smmuProperties: ['accel', 'ril', 'ats'], version: '11.0.0' })).toMatchObject({
      behaviour: 'address-space',
      rule: 'Q2',
      basis: 'property probe',
    });
  });

  it('Q3: properties given without accel -> none, even with an NVIDIA package', () => {
    // 10.2's emulated-only arm-smmuv3 has no accel property; Q3 precedes Q4.
    expect(classify({ smmuProperties: ['bus', 'stage'], package: 'Debian 1:10.1.0+nvidia1-unstable' })).toMatchObject({
      behaviour: 'none',
      rule: 'Q3',
      basis: 'property probe',
    });
  });

  it('Q4: an NVIDIA package below 11.0 -> address-space (vendor package, inferred pairing)', () => {
    expect(classify({ version: '10.1', package: 'nvidia-qemu 10.1 build' })).toMatchObject({
      behaviour: 'address-space',
      rule: 'Q4',
      basis: 'vendor package (inferred pairing)',
      version: '10.1.0',
    });
  });

  it('Q5: version 11.0 or later, or 10.2.90–10.2.99 -> upstream', () => {
    // "X.Y" is X.Y.0 (contract), so "11.0" is 11.0.0.
    expect(classify({ version: '11.0' })).toMatchObject({
      behaviour: 'upstream',
      rule: 'Q5',
      basis: 'upstream release or rc',
      version: '11.0.0',
    });
    expect(classify({ version: '12.3.4' })).toMatchObject({ behaviour: 'upstream', rule: 'Q5' });
    expect(classify({ version: '10.2.90' })).toMatchObject({ behaviour: 'upstream', rule: 'Q5' });
    expect(classify({ version: '10.2.99' })).toMatchObject({ behaviour: 'upstream', rule: 'Q5' });
  });

  it('Q6: version 10.2.50–10.2.89 -> unknown (a development build: ask for the property probe)', () => {
    expect(classify({ version: '10.2.50' })).toMatchObject({
      behaviour: 'unknown',
      rule: 'Q6',
      basis: 'development build',
    });
    expect(classify({ version: '10.2.89' })).toMatchObject({ behaviour: 'unknown', rule: 'Q6' });
  });

  it('Q7: version below 10.2.50 without a vendor package -> none', () => {
    expect(classify({ version: '10.2.49' })).toMatchObject({
      behaviour: 'none',
      rule: 'Q7',
      basis: 'upstream release',
    });
    expect(classify({ version: '8.2' })).toMatchObject({ behaviour: 'none', rule: 'Q7', version: '8.2.0' });
  });

  it('Q8: nothing declared -> unknown', () => {
    const nothing = {
      version: null,
      package: null,
      smmuProperties: null,
      behaviour: 'unknown',
      rule: 'Q8',
      basis: 'none',
      conflicts: [],
    };
    expect(classifyQemuBuild()).toMatchObject(nothing);
    expect(classify({})).toMatchObject(nothing);
  });

  it('Q8 also answers a declaration no rule places: a version QEMU never released between 10.3 and 11.0', () => {
    // 10.3.0 is neither >= 11.0.0 (Q5) nor 10.2.x (Q5, Q6) nor < 10.2.50 (Q7).
    expect(classify({ version: '10.3.0' })).toMatchObject({ behaviour: 'unknown', rule: 'Q8' });
  });

  it('serves the rules as data, in evaluation order, each with when, behaviour and evidence', () => {
    expect(QEMU_BUILD_RULES.map((r) => r.rule)).toEqual(['Q1', 'Q2', 'Q3', 'Q4', 'Q5', 'Q6', 'Q7', 'Q8']);
    expect(QEMU_BUILD_RULES.map((r) => r.behaviour)).toEqual([
      'upstream',
      'address-space',
      'none',
      'address-space',
      'upstream',
      'unknown',
      'none',
      'unknown',
    ]);
    for (const r of QEMU_BUILD_RULES) {
      expect(r.when.length, r.rule).toBeGreaterThan(10);
      expect(r.evidence, r.rule).toMatch(/qemu-versions\.md|§10/);
    }
  });
});

describe('real builds quoted in qemu-versions.md', () => {
  it('Fedora 44: "QEMU emulator version 10.1.0 (qemu-10.1.0-8.fc44)" -> none (Q7)', () => {
    // §4 "Distribution builds seen in the wild, all without accel"; 10.1.0 < 10.2.50 and the
    // package names no vendor, so Q7.
    const r = classify({
      versionText:
        'QEMU emulator version 10.1.0 (qemu-10.1.0-8.fc44)\nCopyright (c) 2003-2025 Fabrice Bellard and the QEMU Project developers\n',
    });
    expect(r).toMatchObject({
      version: '10.1.0',
      package: 'qemu-10.1.0-8.fc44',
      behaviour: 'none',
      rule: 'Q7',
      sources: { version: 'versionText', package: 'versionText' },
    });
  });

  it('Ubuntu: "QEMU emulator version 10.2.1 (Debian 1:10.2.1+ds-1ubuntu3.1)" -> none (Q7)', () => {
    // 10.2.x stable has the emulated-only arm-smmuv3 (§1); 10.2.1 < 10.2.50.
    const r = classify({ versionText: 'QEMU emulator version 10.2.1 (Debian 1:10.2.1+ds-1ubuntu3.1)' });
    expect(r).toMatchObject({
      version: '10.2.1',
      package: 'Debian 1:10.2.1+ds-1ubuntu3.1',
      behaviour: 'none',
      rule: 'Q7',
    });
  });

  it('Proxmox: QMP "package":"pve-qemu-kvm_9.2.0-2" -> none (Q7), from the QMP answer or the package alone', () => {
    const fromQmp = classify({
      queryVersion: { return: { qemu: { major: 9, minor: 2, micro: 0 }, package: 'pve-qemu-kvm_9.2.0-2' } },
    });
    expect(fromQmp).toMatchObject({
      version: '9.2.0',
      package: 'pve-qemu-kvm_9.2.0-2',
      behaviour: 'none',
      rule: 'Q7',
      sources: { version: 'queryVersion' },
    });
    // Alone, the package string carries its upstream version 9.2.0 (evidence.ts, rank 4).
    expect(classify({ package: 'pve-qemu-kvm_9.2.0-2' })).toMatchObject({
      version: '9.2.0',
      behaviour: 'none',
      rule: 'Q7',
      sources: { version: 'package' },
    });
  });

  it('NVIDIA 1:10.1.0+nvidia1-unstable (2025-10-07) -> address-space (Q4), as a package or as --version text', () => {
    // §10: "NVIDIA's Debian package 1:10.1.0+nvidia1-unstable ... walk the guest's stage 1";
    // the package names NVIDIA and its version 10.1.0 < 11.0.
    expect(classify({ package: 'Debian 1:10.1.0+nvidia1-unstable' })).toMatchObject({
      version: '10.1.0',
      behaviour: 'address-space',
      rule: 'Q4',
    });
    // §5: NVIDIA's Ubuntu-derived package "most likely prints (Debian 1:10.1.0+nvidia1-unstable)".
    const printed = classify({
      versionText:
        'QEMU emulator version 10.1.0 (Debian 1:10.1.0+nvidia1-unstable)\nCopyright (c) 2003-2025 Fabrice Bellard and the QEMU Project developers',
    });
    expect(printed).toMatchObject({
      version: '10.1.0',
      package: 'Debian 1:10.1.0+nvidia1-unstable',
      behaviour: 'address-space',
      rule: 'Q4',
    });
  });

  it('NVIDIA 1:11.0.0+nvidia1-1 … +nvidia7-1 (2026-05 onwards) -> upstream (Q5, not Q4)', () => {
    // Q4 needs version < 11.0; 11.0.0 is not, so Q5 ("NVIDIA's 1:11.0.0+nvidiaN packages" in §10).
    for (const pkg of ['1:11.0.0+nvidia1-1', '1:11.0.0+nvidia7-1']) {
      expect(classify({ package: pkg }), pkg).toMatchObject({ version: '11.0.0', behaviour: 'upstream', rule: 'Q5' });
    }
  });

  it('a 10.2.50 development build "(v10.2.0-989-g5cfb672a711)" -> unknown (Q6); its property probe settles it (Q1)', () => {
    const text = 'QEMU emulator version 10.2.50 (v10.2.0-989-g5cfb672a711)';
    expect(classify({ versionText: text })).toMatchObject({
      version: '10.2.50',
      package: 'v10.2.0-989-g5cfb672a711',
      behaviour: 'unknown',
      rule: 'Q6',
      basis: 'development build',
    });
    // §10 "The reliable probe ... settles a 10.2.50 development build".
    const probed = classify({
      versionText: text,
      smmuProperties: [
        { name: 'accel', type: 'bool' },
        { name: 'msi-gpa', type: 'uint64' },
      ],
    });
    expect(probed).toMatchObject({ behaviour: 'upstream', rule: 'Q1', smmuProperties: ['accel', 'msi-gpa'] });
  });

  it('a git-describe package alone is not read as a version: "v10.2.0-989-g…" is 10.2.50, not 10.2.0', () => {
    // §5: for git trees pkgversion is `git describe`, the last tag; taking 10.2.0 would say Q7 none.
    expect(classify({ package: 'v10.2.0-989-g5cfb672a711' })).toMatchObject({
      version: null,
      behaviour: 'unknown',
      rule: 'Q8',
    });
  });

  it('an 11.0 release candidate: rc4 reports 10.2.94 -> upstream (Q5)', () => {
    // §3: "Update version for v11.0.0-rc4 release" has VERSION 10.2.94; QMP micro >= 90 is an rc.
    expect(classify({ queryVersion: { qemu: { major: 10, minor: 2, micro: 94 }, package: '' } })).toMatchObject({
      version: '10.2.94',
      package: null,
      behaviour: 'upstream',
      rule: 'Q5',
    });
  });

  it('the 10.0.0-rc1 QMP greeting {"micro": 91, "minor": 2, "major": 9}, "package": "v10.0.0-rc1" -> none (Q7)', () => {
    // 9.2.91 is an rc of 10.0, far below 10.2.50; "v10.0.0-rc1" names no vendor.
    expect(
      classify({ queryVersion: { qemu: { micro: 91, minor: 2, major: 9 }, package: 'v10.0.0-rc1' } }),
    ).toMatchObject({ version: '9.2.91', behaviour: 'none', rule: 'Q7' });
  });

  it('QEMU 11.0.0 as QMP answers it: {"qemu":{"major":11,"minor":0,"micro":0}} -> upstream (Q5)', () => {
    expect(classify({ queryVersion: { qemu: { major: 11, minor: 0, micro: 0 }, package: '' } })).toMatchObject({
      version: '11.0.0',
      behaviour: 'upstream',
      rule: 'Q5',
    });
  });

  it('an 11.0 build probed with the OnOffAuto property types of the newest tree (reference Q7) -> upstream (Q1)', () => {
    const properties = [
      { name: 'accel', type: 'bool' },
      { name: 'msi-gpa', type: 'uint64', 'default-value': 0 },
      { name: 'ats', type: 'OnOffAuto', description: 'on/off/auto' },
    ];
    expect(classify({ version: '11.0.0', smmuProperties: properties })).toMatchObject({
      behaviour: 'upstream',
      rule: 'Q1',
      smmuProperties: ['accel', 'msi-gpa', 'ats'],
    });
  });
});

describe('forms that disagree: the one closest to the running VM wins, and the disagreement is reported', () => {
  it('QMP (the running VM) beats --version text (the binary on disk, upgraded since the VM started)', () => {
    const r = classify({
      versionText: 'QEMU emulator version 11.0.0 (Debian 1:11.0.0+nvidia1-1)',
      queryVersion: {
        return: { qemu: { major: 10, minor: 1, micro: 0 }, package: 'Debian 1:10.1.0+nvidia1-unstable' },
      },
    });
    // The running 10.1.0 NVIDIA build: Q4 address-space, not Q5 from the disk's 11.0.0.
    expect(r).toMatchObject({
      version: '10.1.0',
      package: 'Debian 1:10.1.0+nvidia1-unstable',
      behaviour: 'address-space',
      rule: 'Q4',
      sources: { version: 'queryVersion', package: 'queryVersion' },
    });
    expect(r.conflicts).toEqual([
      {
        field: 'version',
        used: { from: 'queryVersion', value: '10.1.0' },
        ignored: [{ from: 'versionText', value: '11.0.0' }],
      },
      {
        field: 'package',
        used: { from: 'queryVersion', value: 'Debian 1:10.1.0+nvidia1-unstable' },
        ignored: [{ from: 'versionText', value: 'Debian 1:11.0.0+nvidia1-1' }],
      },
    ]);
  });

  it('the declared version beats --version text', () => {
    const r = classify({ version: '11.0.0', versionText: 'QEMU emulator version 10.2.1' });
    expect(r).toMatchObject({ version: '11.0.0', rule: 'Q5', sources: { version: 'version' } });
    expect(r.conflicts).toEqual([
      {
        field: 'version',
        used: { from: 'version', value: '11.0.0' },
        ignored: [{ from: 'versionText', value: '10.2.1' }],
      },
    ]);
  });

  it('Debian 12: the package names the 7.2 series, so 7.2.22 from --version agrees with it (no conflict)', () => {
    // The text qemu-system-aarch64 --version prints on Debian 12 (bookworm): 1:7.2+dfsg-… is the
    // 7.2 series with its stable updates; 7.2.22 is one of them. Q7: 7.2.22 < 10.2.50, no vendor.
    const r = classify({ versionText: 'QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)' });
    expect(r).toMatchObject({
      version: '7.2.22',
      package: 'Debian 1:7.2+dfsg-7+deb12u18+b3',
      behaviour: 'none',
      rule: 'Q7',
      sources: { version: 'versionText', package: 'versionText' },
    });
    expect(r.conflicts).toEqual([]);
  });

  it('a package series agrees only with its own series; a package X.Y.Z only with X.Y.Z', () => {
    // Series 7.2 against the text's 8.0.0: another series, so a conflict naming "7.2" as the package said it.
    const otherSeries = classify({ versionText: 'QEMU emulator version 8.0.0 (Debian 1:7.2+dfsg-7)' });
    expect(otherSeries.conflicts).toEqual([
      {
        field: 'version',
        used: { from: 'versionText', value: '8.0.0' },
        ignored: [{ from: 'package', value: '7.2' }],
      },
    ]);
    // Ubuntu's 1:10.2.1+ds names 10.2.1 exactly: a text that says 10.2.2 disagrees with it.
    const otherMicro = classify({ versionText: 'QEMU emulator version 10.2.2 (Debian 1:10.2.1+ds-1ubuntu3.1)' });
    expect(otherMicro.conflicts).toEqual([
      {
        field: 'version',
        used: { from: 'versionText', value: '10.2.2' },
        ignored: [{ from: 'package', value: '10.2.1' }],
      },
    ]);
    // Alone, the series stands for X.Y.0.
    expect(classify({ package: 'Debian 1:7.2+dfsg-7+deb12u18+b3' })).toMatchObject({ version: '7.2.0', rule: 'Q7' });
  });

  it('forms that agree report no conflict ("11.0" and "11.0.0" are one version)', () => {
    const r = classify({
      version: '11.0',
      versionText: 'QEMU emulator version 11.0.0',
      queryVersion: { qemu: { major: 11, minor: 0, micro: 0 } },
    });
    expect(r.conflicts).toEqual([]);
    expect(r.version).toBe('11.0.0');
  });
});

describe('malformed declarations name the field by JSON Pointer', () => {
  it('a version that is not X.Y.Z or X.Y', () => {
    for (const version of ['11', '11.0.0.1', 'v11.0.0', '11.0.x', '011.0.0', '', 11]) {
      expect(pointersOf({ version }), String(version)).toEqual(['/version']);
    }
    // Inside POST /v1/vms the object sits at /qemu.
    expect(pointersOf({ version: '11' }, '/qemu')).toEqual(['/qemu/version']);
  });

  it('a QMP answer with a bad micro, bare or inside its return wrapper', () => {
    expect(pointersOf({ queryVersion: { qemu: { major: 11, minor: 0, micro: '0' } } })).toEqual([
      '/queryVersion/qemu/micro',
    ]);
    expect(pointersOf({ queryVersion: { return: { qemu: { major: 11, minor: 0, micro: -1 } } } })).toEqual([
      '/queryVersion/return/qemu/micro',
    ]);
    expect(pointersOf({ queryVersion: { package: '' } })).toEqual(['/queryVersion/qemu']);
    expect(pointersOf({ queryVersion: { return: { qemu: { major: 1.5, minor: 0, micro: 0 } }, error: {} } })).toEqual([
      '/queryVersion/error',
      '/queryVersion/return/qemu/major',
    ]);
    expect(pointersOf({ queryVersion: 'QEMU 11' })).toEqual(['/queryVersion']);
  });

  it('smmuProperties that are not names or {name, type} objects', () => {
    expect(pointersOf({ smmuProperties: 'accel' })).toEqual(['/smmuProperties']);
    expect(
      pointersOf({ smmuProperties: ['accel', { type: 'bool' }, 7, { name: 'msi-gpa', type: 64 }, 'two words'] }),
    ).toEqual(['/smmuProperties/1/name', '/smmuProperties/2', '/smmuProperties/3/type', '/smmuProperties/4']);
  });

  it('versionText without the "QEMU emulator version" line', () => {
    expect(pointersOf({ versionText: 'qemu-system-aarch64: command not found' })).toEqual(['/versionText']);
    expect(pointersOf({ versionText: ['QEMU emulator version 11.0.0'] })).toEqual(['/versionText']);
  });

  it('a package that is not one line of text', () => {
    expect(pointersOf({ package: 'Debian\n1:10.1.0' })).toEqual(['/package']);
    expect(pointersOf({ package: { name: 'qemu' } })).toEqual(['/package']);
  });

  it('an unknown field, and a body that is not an object', () => {
    // RFC 6901: "/" in a key is written "~1".
    expect(pointersOf({ vesion: '11.0.0', 'a/b': 1 })).toEqual(['/vesion', '/a~1b']);
    expect(pointersOf('11.0.0')).toEqual(['']);
    expect(pointersOf(null, '/qemu')).toEqual(['/qemu']);
  });

  it('reports every malformed field at once, the first as the error pointer', () => {
    try {
      parseQemuDeclaration({ version: 'eleven', queryVersion: { qemu: { major: 11, minor: 0 } } }, '/qemu');
      expect.unreachable();
    } catch (error) {
      const e = error as QemuBuildInputError;
      expect(e.problems.map((p) => p.pointer)).toEqual(['/qemu/version', '/qemu/queryVersion/qemu/micro']);
      expect(e.pointer).toBe('/qemu/version');
      expect(e.detail).toContain('"eleven"');
      expect(e.message).toContain('/qemu/queryVersion/qemu/micro');
    }
  });
});
