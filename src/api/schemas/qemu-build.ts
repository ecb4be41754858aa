// A VM's QEMU build (contract v1.2, domain reference §10): the `qemu` object a client declares, and
// what the service makes of it. The object's fields are checked by parseQemuDeclaration (the one
// parser, which names every malformed field with its pointer); the schema here describes them for
// the OpenAPI document and refuses what is plainly not a qemu object.

import { type TSchema, Type } from '@sinclair/typebox';
import { CAPABILITY_RULES, QEMU_CAPABILITIES } from '../../domain/qemu-build/capabilities.js';
import { QEMU_BUILD_RULES } from '../../domain/qemu-build/rules.js';
import { SEMANTICS_SOURCES } from '../../domain/qemu-build/semantics.js';
import { Nullable, OneOf } from './common.js';

export const QEMU_BEHAVIOURS = ['upstream', 'address-space', 'none', 'unknown'] as const;
const RULE_IDS = QEMU_BUILD_RULES.map((r) => r.rule);

const BEHAVIOURS_TEXT =
  'upstream: get_msi_direct_gpa (series v6/v7), QEMU 11.0.0 and later, its rcs 10.2.90-10.2.94, NVIDIA 1:11.0.0+nvidiaN; ' +
  "address-space: get_msi_address_space (series v3-v5), NVIDIA's Debian 1:10.1.0+nvidia1-unstable and its earlier evaluation trees; " +
  'none: no accel mode at all (upstream 10.2.x and earlier, distribution builds); unknown: not enough declared (a 10.2.50 development build, or nothing)';

const CAPABILITIES_TEXT = QEMU_CAPABILITIES.map(
  (c) => `${c}: ${CAPABILITY_RULES[c].creates} (${CAPABILITY_RULES[c].since})`,
).join('; ');

const qemuFields = {
  version: Type.Optional(
    Type.String({ description: 'the QEMU version, "X.Y.Z" or "X.Y" (= X.Y.0)', examples: ['11.0.0'] }),
  ),
  package: Type.Optional(
    Type.String({
      description: 'the package version (PKGVERSION) of the build; "" for an upstream build',
      examples: ['Debian 1:10.1.0+nvidia1-unstable'],
    }),
  ),
  smmuProperties: Type.Optional(
    Type.Array(
      Type.Union([
        Type.String(),
        Type.Object(
          { name: Type.String() },
          { additionalProperties: true, description: 'an object of the QMP answer' },
        ),
      ]),
      {
        description:
          'arm-smmuv3 property names from QMP device-list-properties (typename "arm-smmuv3"), or the objects of its answer ({name, type, ...}); the reliable probe: accel and msi-gpa -> upstream, accel alone -> address-space, no accel -> none',
      },
    ),
  ),
  versionText: Type.Optional(
    Type.String({
      description: 'what `qemu-system-aarch64 --version` printed ("QEMU emulator version X.Y.Z (PKGVERSION)")',
      examples: ['QEMU emulator version 10.1.0 (Debian 1:10.1.0+nvidia1-unstable)'],
    }),
  ),
  queryVersion: Type.Optional(
    Type.Object(
      {},
      {
        additionalProperties: true,
        description:
          'a QMP query-version answer {qemu: {major, minor, micro}, package}, with or without its "return" wrapper (the only form taken from the running VM)',
      },
    ),
  ),
};

const QEMU_DESCRIPTION =
  'the QEMU build the VM runs: any of version, package, smmuProperties, versionText, queryVersion; classified by rules Q1-Q8 (domain reference §10)';

/** The `qemu` object inside another body (POST /v1/vms). */
export const QemuField = Type.Object(qemuFields, { additionalProperties: false, description: QEMU_DESCRIPTION });

export const QEMU_EXAMPLES = {
  upstream: { summary: 'an upstream 11.0.0 build', value: { version: '11.0.0' } },
  nvidia: {
    summary: "NVIDIA's Debian package of 10.1.0 with the accel series v3-v5 (address-space)",
    value: { package: 'Debian 1:10.1.0+nvidia1-unstable' },
  },
  probe: {
    summary: 'the reliable probe: the arm-smmuv3 properties from QMP device-list-properties',
    value: { smmuProperties: ['accel', 'msi-gpa', 'ril', 'ats', 'oas', 'pasid'] },
  },
  versionText: {
    summary: 'what qemu-system-aarch64 --version printed',
    value: { versionText: 'QEMU emulator version 10.1.0 (Debian 1:10.1.0+nvidia1-unstable)' },
  },
  queryVersion: {
    summary: 'a QMP query-version answer from the running VM',
    value: { queryVersion: { return: { qemu: { major: 11, minor: 0, micro: 0 }, package: '' } } },
  },
};

/** The `qemu` object as a whole body (PUT /v1/vms/{vm}/qemu, POST /v1/qemu-builds/classify). */
export const QemuBody = Type.Object(qemuFields, {
  additionalProperties: false,
  description: QEMU_DESCRIPTION,
  'x-examples': QEMU_EXAMPLES,
});

const VersionOut = Nullable(Type.String({ pattern: '^\\d+\\.\\d+\\.\\d+$', description: 'X.Y.Z' }));

const classificationFields = {
  version: VersionOut,
  package: Nullable(Type.String()),
  smmuProperties: Nullable(Type.Array(Type.String())),
  behaviour: OneOf(QEMU_BEHAVIOURS, BEHAVIOURS_TEXT),
  rule: OneOf(RULE_IDS, 'the first rule of Q1-Q8 that applies'),
  basis: Type.String({ description: 'what the classification rests on (§10, "basis to report")' }),
  sources: Type.Object(
    {
      version: Nullable(Type.String({ description: 'the form the version was taken from' })),
      package: Nullable(Type.String({ description: 'the form the package was taken from' })),
    },
    { description: 'queryVersion beats version/package, which beat versionText, which beats the package string' },
  ),
  conflicts: Type.Array(Type.Object({}, { additionalProperties: true }), {
    description: 'forms that disagreed with the one used (reported, not refused)',
  }),
  capabilities: Type.Array(
    Type.Object({
      capability: OneOf(QEMU_CAPABILITIES, CAPABILITIES_TEXT),
      can: Nullable(Type.Boolean({ description: 'true: the build creates it; false: QEMU refuses it; null: unknown' })),
      since: Type.String({ description: 'the first upstream release that has it' }),
      basis: Type.String({ description: 'what the answer rests on: the property probe, the version, the behaviour' }),
    }),
    {
      description:
        'what the build can create; a command that needs what it cannot is a 422 QEMU_BUILD_LACKS_CAPABILITY (accel: ACCEL_NOT_IN_QEMU_BUILD)',
    },
  ),
};

export const QemuClassificationSchema = Type.Object(classificationFields, {
  $id: 'QemuClassification',
  description: 'what domain reference §10 makes of a declared QEMU build',
});

/** A VM's `qemu`: the classification, and the event that declared it (null: nothing declared, Q8). */
export const VmQemuSchema = Type.Object(
  {
    ...classificationFields,
    setBy: Nullable(Type.Integer({ description: 'position of the QemuBuildDeclared event' })),
  },
  { description: 'the QEMU build the VM runs, as last declared (rule Q8, unknown, while none is)' },
);

export const QemuRuleSchema = Type.Object({
  rule: OneOf(RULE_IDS, 'Q1-Q8'),
  when: Type.String({ description: 'what is known' }),
  behaviour: OneOf(QEMU_BEHAVIOURS, 'the behaviour it gives'),
  basis: Type.String({ description: 'the basis reported' }),
  evidence: Type.String({ description: 'why the rule holds, with sources' }),
});

export const QemuRulesSchema = Type.Object(
  { count: Type.Integer(), results: Type.Array(QemuRuleSchema) },
  { description: 'the rules Q1-Q8 in evaluation order' },
);

export const SemanticsSource = OneOf(
  SEMANTICS_SOURCES,
  "request: the semantics was asked for; declared-qemu: the behaviour of the VM's declared build; default: upstream, because the build is unknown or has no accel mode (diagnostic QEMU_BUILD_UNKNOWN)",
);

export const ResolutionQemuSchema: TSchema = Type.Object(
  {
    version: VersionOut,
    package: Nullable(Type.String()),
    behaviour: OneOf(QEMU_BEHAVIOURS, 'the behaviour of the build'),
    rule: OneOf(RULE_IDS, 'the rule of §10 that classified it'),
    declaredBy: Nullable(Type.Object({ position: Type.Integer(), type: Type.String() })),
  },
  { description: 'the QEMU build the VM had declared at the version resolved' },
);
