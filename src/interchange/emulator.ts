// The QEMU binary a source names (issue 19, item 3): libvirt's <emulator> path, or a command
// line's program. It names a binary, not a build: a version in the path (/opt/qemu-10.1/bin/...,
// a distro's /usr/libexec/qemu-kvm) is a name somebody chose for a directory, a symlink or a
// package's file, and may not be what the binary answers (an in-place upgrade keeps the path; a
// vendor's 10.1 package may carry accel, upstream 10.1 does not). So the import records the binary
// and declares no build from it; `doorbell probe-qemu BINARY --vm VM` or `doorbell import
// --probe-qemu` asks the binary itself (--version and QMP) and declares what it answers.

import type { ReportEmulator, SourceRef } from './report.js';

/** A dotted version in a path: qemu-10.1, 11.0.0, v9.2. */
const VERSION_IN_PATH = /(?:^|[^0-9.])v?(\d+\.\d+(?:\.\d+)?)(?![0-9])/;

export function emulatorOf(binary: string, at: SourceRef, from: ReportEmulator['from']): ReportEmulator {
  const probe = `probe it to declare the build: doorbell probe-qemu ${binary} --vm VM, or doorbell import --probe-qemu`;
  const version = VERSION_IN_PATH.exec(binary)?.[1];
  const notes = [
    `names the binary, not its build: the import declares no build from it (${probe})`,
    ...(version === undefined
      ? []
      : [
          `"${version}" in the path is a name somebody chose (a directory, a symlink, a package's file), not what the binary answers, so it is not read as the version`,
        ]),
  ];
  return { binary, from, at, notes };
}
