// The QEMU binary a source names, read without importing it (for `doorbell import --probe-qemu`,
// which probes that binary before sending the source): the same readings as the parsers'
// (emulator.ts), or undefined when the source names none or does not parse.

import { child, parseXml } from './libvirt-xml/xml.js';
import { commandLineOptions } from './qemu-cmdline/argv.js';
import { shellWords } from './qemu-cmdline/split.js';
import type { ImportFormat } from './report.js';

export function binaryNamedBy(format: ImportFormat, source: string): string | undefined {
  try {
    if (format === 'qemu-cmdline') return commandLineOptions(shellWords(source)).program;
    const domain = parseXml(source).documentElement;
    const devices = domain === null ? undefined : child(domain, 'devices');
    const text = devices === undefined ? undefined : child(devices, 'emulator')?.textContent?.trim();
    return text === '' ? undefined : text;
  } catch {
    // A malformed source: the service names what is wrong with it when it is sent.
    return undefined;
  }
}
