// Parses a `qemu` object of the contract ("A VM's QEMU build", v1.2) into typed evidence. Each
// form is kept apart, exactly as declared: how the forms combine (and which wins when they
// disagree) is the job of evidence.ts, so that this module only answers "is it well formed?".

import { formatVersion, MAX_VERSION_COMPONENT, parseVersion, type QemuVersion } from './version.js';
import { pointerTo, QemuBuildInputError, type FieldProblem } from './input-error.js';

/** What `qemu-system-aarch64 --version` printed, reduced to what it tells. */
export interface VersionTextEvidence {
  readonly version: QemuVersion;
  /** The " (PKGVERSION)" suffix, or null when the build set none (an upstream build). */
  readonly package: string | null;
}

/** A QMP query-version answer: the only form taken from the running VM (§10). */
export interface QueryVersionEvidence {
  readonly version: QemuVersion;
  /** QEMU_PKGVERSION; upstream answers "", which means no package (null here). Undefined when the answer left it out. */
  readonly package?: string | null;
}

/** A well-formed declaration. A form left out is undefined. */
export interface DeclaredQemuBuild {
  readonly version?: QemuVersion;
  /** null: declared as "" (no package). */
  readonly package?: string | null;
  /** arm-smmuv3 property names from QMP device-list-properties, deduplicated, in the order given. */
  readonly smmuProperties?: readonly string[];
  readonly versionText?: VersionTextEvidence;
  readonly queryVersion?: QueryVersionEvidence;
}

export const QEMU_BUILD_FIELDS = ['version', 'package', 'smmuProperties', 'versionText', 'queryVersion'] as const;

// Bounds that keep a declaration a declaration (no megabytes of text stored in an event).
const MAX_PACKAGE_LENGTH = 256;
const MAX_VERSION_TEXT_LENGTH = 4096;
const MAX_PROPERTIES = 1000;
const MAX_PROPERTY_NAME_LENGTH = 128;
// One line, printable: a package or property name ends up in JSON, logs and pictures.
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

// scripts/qemu-version.sh: "QEMU emulator version " QEMU_FULL_VERSION, where the full version is
// "<VERSION>" or "<VERSION> (<pkgversion>)". QEMU before 2.x printed the copyright on the same
// line after ", Copyright", so that tail is allowed.
const VERSION_LINE = /^\s*QEMU emulator version (\S+?)(?: \((.*?)\))?\s*(?:,\s*Copyright.*)?$/;

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Parses a declared QEMU build. `at` is the pointer of the object in the request body: '' when
 * the body is the qemu object (PUT /v1/vms/{vm}/qemu, POST /v1/qemu-builds/classify), '/qemu'
 * inside POST /v1/vms. Throws QemuBuildInputError listing every malformed field.
 */
export function parseQemuDeclaration(input: unknown, at = ''): DeclaredQemuBuild {
  const problems: FieldProblem[] = [];
  const problem = (pointer: string, detail: string) => problems.push({ pointer, detail });

  if (!isObject(input)) {
    throw new QemuBuildInputError([
      { pointer: at, detail: `a qemu build is an object with any of ${QEMU_BUILD_FIELDS.join(', ')}` },
    ]);
  }
  for (const key of Object.keys(input)) {
    if (!(QEMU_BUILD_FIELDS as readonly string[]).includes(key))
      problem(pointerTo(at, key), `is not a field of a qemu build (expected any of ${QEMU_BUILD_FIELDS.join(', ')})`);
  }

  const declared: { -readonly [K in keyof DeclaredQemuBuild]: DeclaredQemuBuild[K] } = {};
  if (input.version !== undefined) declared.version = versionField(input.version, pointerTo(at, 'version'), problem);
  if (input.package !== undefined) declared.package = packageField(input.package, pointerTo(at, 'package'), problem);
  if (input.smmuProperties !== undefined)
    declared.smmuProperties = propertiesField(input.smmuProperties, pointerTo(at, 'smmuProperties'), problem);
  if (input.versionText !== undefined)
    declared.versionText = versionTextField(input.versionText, pointerTo(at, 'versionText'), problem);
  if (input.queryVersion !== undefined)
    declared.queryVersion = queryVersionField(input.queryVersion, pointerTo(at, 'queryVersion'), problem);

  const [first, ...rest] = problems;
  if (first !== undefined) throw new QemuBuildInputError([first, ...rest]);
  return declared;
}

type Report = (pointer: string, detail: string) => void;

function versionField(value: unknown, pointer: string, problem: Report): QemuVersion | undefined {
  const parsed = typeof value === 'string' ? parseVersion(value) : undefined;
  if (parsed === undefined)
    problem(pointer, `must be a version string "X.Y.Z" or "X.Y" (such as "11.0.0"), got ${describe(value)}`);
  return parsed;
}

function packageField(value: unknown, pointer: string, problem: Report): string | null | undefined {
  if (typeof value !== 'string')
    return void problem(
      pointer,
      `must be a string (such as "Debian 1:10.1.0+nvidia1-unstable"), got ${describe(value)}`,
    );
  if (value.length > MAX_PACKAGE_LENGTH)
    return void problem(pointer, `is longer than ${MAX_PACKAGE_LENGTH} characters`);
  if (CONTROL_CHARACTERS.test(value)) return void problem(pointer, 'must be one line without control characters');
  return value.trim() === '' ? null : value.trim();
}

function propertiesField(value: unknown, pointer: string, problem: Report): string[] | undefined {
  if (!Array.isArray(value))
    return void problem(
      pointer,
      `must be a list of arm-smmuv3 property names, or the objects of a QMP device-list-properties answer ({name, type, ...}), got ${describe(value)}`,
    );
  if (value.length > MAX_PROPERTIES) return void problem(pointer, `has more than ${MAX_PROPERTIES} entries`);
  const names: string[] = [];
  value.forEach((entry, index) => {
    const name = isObject(entry)
      ? propertyObject(entry, pointerTo(pointer, index), problem)
      : propertyName(entry, pointerTo(pointer, index), problem);
    if (name !== undefined && !names.includes(name)) names.push(name);
  });
  return names;
}

// QMP device-list-properties answers [{name, type, description?, default-value?}]; only the name
// matters for §10, the type only has to be a string when present (Q7 of the domain reference:
// types vary between QEMU versions, so their values are not checked).
function propertyObject(entry: Json, pointer: string, problem: Report): string | undefined {
  if (entry.type !== undefined && typeof entry.type !== 'string')
    problem(pointerTo(pointer, 'type'), `must be a string, got ${describe(entry.type)}`);
  return propertyName(entry.name, pointerTo(pointer, 'name'), problem);
}

function propertyName(value: unknown, pointer: string, problem: Report): string | undefined {
  if (typeof value !== 'string' || value.trim() === '')
    return void problem(pointer, `must be a property name such as "accel", got ${describe(value)}`);
  if (value.length > MAX_PROPERTY_NAME_LENGTH || /\s/.test(value) || CONTROL_CHARACTERS.test(value))
    return void problem(pointer, `is not a property name (no spaces, at most ${MAX_PROPERTY_NAME_LENGTH} characters)`);
  return value;
}

function versionTextField(value: unknown, pointer: string, problem: Report): VersionTextEvidence | undefined {
  if (typeof value !== 'string')
    return void problem(pointer, `must be the text qemu-system-aarch64 --version printed, got ${describe(value)}`);
  if (value.length > MAX_VERSION_TEXT_LENGTH)
    return void problem(pointer, `is longer than ${MAX_VERSION_TEXT_LENGTH} characters`);
  for (const line of value.split(/\r?\n/)) {
    const match = VERSION_LINE.exec(line);
    if (match === null) continue;
    const version = parseVersion(match[1]!);
    if (version === undefined)
      return void problem(pointer, `names the version ${JSON.stringify(match[1])}, which is not X.Y.Z`);
    const pkg = match[2]?.trim() ?? '';
    if (CONTROL_CHARACTERS.test(pkg)) return void problem(pointer, 'has control characters in its package version');
    return { version, package: pkg === '' ? null : pkg };
  }
  return void problem(
    pointer,
    'has no line "QEMU emulator version X.Y.Z" (the first line qemu-system-aarch64 --version prints)',
  );
}

function queryVersionField(value: unknown, pointer: string, problem: Report): QueryVersionEvidence | undefined {
  if (!isObject(value))
    return void problem(
      pointer,
      `must be a QMP query-version answer {qemu: {major, minor, micro}, package}, with or without its "return" wrapper, got ${describe(value)}`,
    );
  // A whole QMP response: {"return": {...}} (QMP may echo an "id" beside it).
  if ('return' in value) {
    for (const key of Object.keys(value))
      if (key !== 'return' && key !== 'id')
        problem(pointerTo(pointer, key), 'is not part of a QMP response (expected "return", and optionally "id")');
    return queryVersionField(value.return, pointerTo(pointer, 'return'), problem);
  }
  const qemuPointer = pointerTo(pointer, 'qemu');
  const triple = value.qemu;
  let version: QemuVersion | undefined;
  if (!isObject(triple)) {
    problem(qemuPointer, `must be an object {major, minor, micro}, got ${describe(triple)}`);
  } else {
    const part = (name: 'major' | 'minor' | 'micro') => {
      const n = triple[name];
      if (typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= MAX_VERSION_COMPONENT) return n;
      problem(
        pointerTo(qemuPointer, name),
        `must be an integer from 0 to ${MAX_VERSION_COMPONENT}, got ${describe(n)}`,
      );
      return undefined;
    };
    const [major, minor, micro] = [part('major'), part('minor'), part('micro')];
    if (major !== undefined && minor !== undefined && micro !== undefined) version = { major, minor, micro };
  }
  const pkg =
    value.package === undefined ? undefined : packageField(value.package, pointerTo(pointer, 'package'), problem);
  if (version === undefined) return undefined;
  return value.package === undefined ? { version } : { version, package: pkg ?? null };
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  const text = JSON.stringify(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

/** A declaration in the form an event keeps it: the contract's JSON, canonical (see canonicalDeclaration). */
export interface QemuDeclarationJson {
  version?: string;
  /** "" declares "no package" (an upstream build). */
  package?: string;
  smmuProperties?: string[];
  versionText?: string;
  queryVersion?: { qemu: { major: number; minor: number; micro: number }; package?: string };
}

/**
 * The declaration as a `qemu` object again, canonical: versions as "X.Y.Z", property objects
 * reduced to their names, the --version text to its first line, the QMP answer without its
 * wrapper. parseQemuDeclaration reads it back to the same declaration, so an event can keep the
 * evidence (not a conclusion drawn from it) in a few hundred bytes.
 */
export function canonicalDeclaration(declared: DeclaredQemuBuild): QemuDeclarationJson {
  const json: QemuDeclarationJson = {};
  if (declared.version !== undefined) json.version = formatVersion(declared.version);
  if (declared.package !== undefined) json.package = declared.package ?? '';
  if (declared.smmuProperties !== undefined) json.smmuProperties = [...declared.smmuProperties];
  if (declared.versionText !== undefined) {
    const { version, package: pkg } = declared.versionText;
    json.versionText = `QEMU emulator version ${formatVersion(version)}${pkg === null ? '' : ` (${pkg})`}`;
  }
  if (declared.queryVersion !== undefined) {
    const { version, package: pkg } = declared.queryVersion;
    json.queryVersion = { qemu: { major: version.major, minor: version.minor, micro: version.micro } };
    if (pkg !== undefined) json.queryVersion.package = pkg ?? '';
  }
  return json;
}
