// What an import says about its source: what each part became, what was ignored and why, and
// which rule gave each bus number. Shared by both formats; pure data, no I/O.

import type { DomainErrorCode } from '../domain/errors.js';

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

/** The QEMU binary the source names (libvirt's <emulator>, a command line's program): see emulator.ts. */
export interface ReportEmulator {
  binary: string;
  from: 'program' | 'emulator-element';
  at: SourceRef;
  notes: string[];
}

export interface ImportReport {
  format: ImportFormat;
  /** The binary the source names, or null when it names none (a command line that starts with an option). */
  emulator?: ReportEmulator | null;
  parts: ReportPart[];
  ignored: IgnoredPart[];
  busNumbers: BusNumberNote[];
}

/**
 * The import's own codes, with their HTTP status and title (merged into the API's catalogue, as
 * the domain's are): a source that is not text QEMU or libvirt would read, or that asks for what
 * the model does not hold or QEMU would refuse before any topology rule applies.
 */
export const INTERCHANGE_ERRORS = {
  IMPORT_SOURCE_MALFORMED: { status: 400, title: 'Import source malformed' },
  IMPORT_NOT_SUPPORTED: { status: 422, title: 'Part of the import source is not modelled' },
  IMPORT_IOMMU_MIXED: { status: 422, title: 'Machine SMMU mixed with -device arm-smmuv3' },
  IMPORT_BUS_NUMBERS_EXHAUSTED: { status: 422, title: "Bus numbers past the root bus's range" },
  SMMU_PROPERTY_NEEDS_ACCEL: { status: 422, title: 'SMMU property needs accel=on' },
} as const;

/**
 * A code an import refusal carries: its own, a topology rule's (reported at the part that broke
 * it), or VALIDATION_FAILED for a field of the request that does not fit the source.
 */
export type InterchangeErrorCode = keyof typeof INTERCHANGE_ERRORS | DomainErrorCode | 'VALIDATION_FAILED';

/**
 * The source cannot be imported: malformed (400 IMPORT_SOURCE_MALFORMED) or asking for something
 * QEMU or the firmware would refuse before any topology rule applies. `at` says where.
 */
export class InterchangeError extends Error {
  constructor(
    readonly code: InterchangeErrorCode,
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

/** Valid for QEMU or libvirt, but outside what doorbell models (another machine, another architecture): a 422. */
export function notModelled(message: string, at: SourceRef | null): InterchangeError {
  return new InterchangeError('IMPORT_NOT_SUPPORTED', `${describeAt(at)}: ${message}`, at);
}
