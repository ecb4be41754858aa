// What an import says about its source: what each part became, what was ignored and why, and
// which rule gave each bus number. Shared by both formats; pure data, no I/O.

import type { ErrorCode } from '../errors/catalogue.js';

export const IMPORT_FORMATS = ['qemu-cmdline', 'libvirt-xml'] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

/** Where a part of the source is: a command line's token (0 = the program), or an XML element's line and column. */
export type SourceRef = { token: number } | { line: number; column: number };

export type PartKind = 'vm' | 'bus' | 'smmu' | 'device' | 'iommufd';

export interface ReportPart {
  at: SourceRef;
  /** The part as written (an option with its value, or an element's name). */
  text: string;
  became: { kind: PartKind; id: string };
  /** Properties read but not part of the model, ids generated, defaults applied. */
  notes: string[];
}

export interface IgnoredPart {
  at: SourceRef;
  text: string;
  reason: string;
}

export type BusNumberRule = 'bus_nr' | 'firmware' | 'busNumbers';

export interface BusNumberNote {
  bus: string;
  busNumber: number;
  rule: BusNumberRule;
  detail: string;
}

export interface ImportReport {
  format: ImportFormat;
  parts: ReportPart[];
  ignored: IgnoredPart[];
  busNumbers: BusNumberNote[];
}

/**
 * The source cannot be imported: malformed (400 IMPORT_SOURCE_MALFORMED) or asking for something
 * QEMU or the firmware would refuse before any topology rule applies. `at` says where.
 */
export class InterchangeError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly at: SourceRef | null,
    /** A JSON Pointer into the request other than /source (such as /busNumbers/pcie.port1). */
    readonly pointer?: string,
  ) {
    super(message);
    this.name = 'InterchangeError';
  }
}

export function describeAt(at: SourceRef | null): string {
  if (at === null) return 'the source';
  return 'token' in at ? `token ${at.token}` : `line ${at.line}, column ${at.column}`;
}

export function malformed(message: string, at: SourceRef | null): InterchangeError {
  return new InterchangeError('IMPORT_SOURCE_MALFORMED', `${describeAt(at)}: ${message}`, at);
}
