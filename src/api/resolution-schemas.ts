// The shape of a resolution record and a sweep, for the OpenAPI document (and Swagger UI users).
// The service sends the stored JSON as it is, so these schemas describe it; they do not build it.

import { Type } from '@sinclair/typebox';

const HexString = (description: string) => Type.String({ pattern: '^0x[0-9a-f]{1,16}$', description });
const EventRef = Type.Object({ position: Type.Integer({ description: 'global position of the event' }), type: Type.String() });

const Route = Type.Object(
  {
    installed: Type.Boolean(),
    address: Type.Optional(HexString('doorbell gPA in the KVM route')),
    data: Type.Optional(HexString('MSI data (EventID), always the guest value')),
    devid: Type.Optional(HexString('KVM devid = stream id')),
    flags: Type.Optional(Type.Literal('KVM_MSI_VALID_DEVID')),
    cause: Type.Optional(Type.Union(['fault', 'aborted', 'unassigned', 'no-kvm-irqchip', 'gsi-direct', 'no-msi-controller'].map((c) => Type.Literal(c)))),
    reason: Type.Optional(Type.String()),
  },
  { description: 'the KVM MSI route: { installed: true, address, data, devid } or { installed: false, cause, reason }' },
);

const Fault = Type.Object(
  {
    type: Type.String({ examples: ['F_TRANSLATION'] }),
    code: HexString('SMMUv3 event number'),
    stage: Type.Union([Type.Integer({ minimum: 1, maximum: 2 }), Type.Null()], { description: 'the stage of a walk fault; null for a configuration fault (C_*)' }),
    class: Type.Optional(Type.Union([Type.Literal('IN'), Type.Literal('CD'), Type.Literal('TT'), Type.Null()], { description: 'CLASS of a walk fault (CD/TT: a nested descriptor fetch); null for a configuration fault; absent before model version 2' })),
    streamId: HexString('stream id'),
    inputAddress: HexString('the gIOVA (or IPA) that faulted'),
    rnw: Type.Boolean({ description: 'RnW=0: the MSI is a write' }),
    recorded: Type.Boolean({ description: 'written to the guest EVENTQ' }),
    reason: Type.String(),
  },
  { description: 'the SMMU event the emulated walk raised' },
);

export const ResolutionSchema = Type.Object(
  {
    id: Type.String(),
    vm: Type.String(),
    model: Type.Optional(Type.Object({ version: Type.Integer(), reference: Type.String() }, { description: 'the model that produced the record; absent in records made before model version 2' })),
    device: Type.String(),
    vector: Type.Optional(Type.Integer()),
    asOfVersion: Type.Integer({ description: 'the VM version resolved against' }),
    semantics: Type.Union([Type.Literal('pre-fix'), Type.Literal('address-space'), Type.Literal('upstream')]),
    input: Type.Object({ address: HexString('MSI address the guest wrote'), data: HexString('MSI data') }),
    streamId: HexString('bus << 8 | devfn'),
    devid: HexString('KVM devid'),
    addressSpace: Type.Union([Type.Literal('system'), Type.Literal('smmu-iommu'), Type.Literal('direct-gpa'), Type.Literal('sysmem-alias')]),
    route: Route,
    fault: Type.Union([Fault, Type.Null()]),
    doorbell: Type.Union([Type.Object({ its: Type.Boolean(), frame: Type.Union([Type.Literal('translation'), Type.Literal('control'), Type.Null()]), offset: Type.Union([HexString('offset in the frame'), Type.Null()]) }), Type.Null()]),
    hardwarePath: Type.Union([
      Type.Object({
        deviceWrites: HexString('what the device puts on the bus (host sw_msi window)'),
        steps: Type.Array(Type.Object({ action: Type.String(), input: HexString('address in'), output: Type.Union([HexString('address out'), Type.Null()]), events: Type.Array(EventRef) })),
        delivered: Type.Union([Type.Boolean(), Type.Null()], { description: 'the write reaches the host physical ITS; null: nothing blocks it but the host ITS base is unknown' }),
        reason: Type.Optional(Type.String()),
      }),
      Type.Null(),
    ]),
    diagnostics: Type.Array(Type.Object({ code: Type.String({ examples: ['DOORBELL_NOT_IN_ITS'] }), severity: Type.Union(['error', 'warning', 'KVM-tolerated', 'info'].map((s) => Type.Literal(s))), message: Type.String() })),
    comparison: Type.Object({
      'pre-fix': Route,
      'address-space': Route,
      upstream: Route,
      misroutedBeforeFix: Type.Boolean({ description: 'pre-fix installs a route to another address than upstream' }),
      missingBeforeFix: Type.Optional(Type.Boolean({ description: 'pre-fix installs no route where upstream installs one (absent in records of model version 1)' })),
    }),
    trail: Type.Array(
      Type.Object({
        step: Type.Integer(),
        action: Type.String(),
        rule: Type.Optional(Type.String({ description: 'decision-table rule (R1-R17)' })),
        source: Type.Optional(Type.String({ description: 'the QEMU/Linux code the step follows' })),
        input: Type.Object({}, { additionalProperties: true }),
        output: Type.Object({}, { additionalProperties: true }),
        events: Type.Array(EventRef, { description: 'the events that established the facts this step used' }),
      }),
    ),
  },
  { $id: 'Resolution', description: 'where one MSI lands, why, and what the other QEMU behaviours would do' },
);

export const SweepSchema = Type.Object(
  {
    id: Type.String(),
    vm: Type.String(),
    asOfVersion: Type.Integer(),
    semantics: Type.String(),
    counts: Type.Object({
      vectors: Type.Integer(),
      misroutedBeforeFix: Type.Integer({ description: 'vectors whose pre-fix route differs from QEMU 11.0' }),
      routesMissing: Type.Integer({ description: 'vectors without a KVM route' }),
      interruptsLost: Type.Integer({ description: 'vectors whose interrupts never reach the vITS (INTERRUPTS_LOST)' }),
      hwPathBlocked: Type.Integer({ description: 'accel vectors whose MSI write the physical SMMU blocks' }),
    }),
    results: Type.Array(Type.Ref('Resolution')),
  },
  { $id: 'Sweep', description: 'every programmed vector of a VM resolved at once' },
);
