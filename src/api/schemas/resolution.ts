// MSI resolutions and sweeps: what a client asks, and the shape of the records it gets back. The
// service sends the stored JSON as it is, so the record schemas describe it; they do not build it.

import { type Static, Type } from '@sinclair/typebox';
import { type RouteMissingCause, SEMANTICS } from '../../domain/resolve/types.js';
import { AsOf, Body, Hex, Id, Nullable, OneOf, Query } from './common.js';
import { ResolutionQemuSchema, SemanticsSource } from './qemu-build.js';

export const SEMANTICS_TEXT =
  "upstream: get_msi_direct_gpa (series v6/v7), in QEMU 11.0.0 and later, its release candidates (10.2.90-10.2.94) and NVIDIA's 1:11.0.0+nvidiaN packages; " +
  "address-space: get_msi_address_space (series v3-v5), in NVIDIA's Debian 1:10.1.0+nvidia1-unstable and its earlier evaluation trees; " +
  'pre-fix: KVM routes through get_address_space(), the accel patches without the MSI fix, a what-if that no release shipped (domain reference §10)';

export const Semantics = OneOf(SEMANTICS, SEMANTICS_TEXT);

const SemanticsAsked = OneOf(
  SEMANTICS,
  `${SEMANTICS_TEXT}. Absent: the behaviour of the VM's declared QEMU build when it is upstream or address-space, else upstream (semanticsSource says which)`,
);

export const ResolveBody = Body(
  {
    device: Id('device id', 'hostdev0'),
    vector: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 2047, description: 'a programmed MSI-X vector (or give address and data)' }),
    ),
    address: Type.Optional(Hex('MSI address as the guest would write it (with data, instead of vector)', '0xfffff040')),
    data: Type.Optional(Hex('MSI data (EventID), with address', '0x0')),
    semantics: Type.Optional(SemanticsAsked),
    asOf: Type.Optional(AsOf),
  },
  {
    examples: {
      s10: {
        summary: 'first session, step 7: where does vector 0 of hostdev0 land?',
        value: { device: 'hostdev0', vector: 0 },
      },
      address: {
        summary: 'an MSI the guest has not programmed: address and data',
        value: { device: 'hostdev0', address: '0xfffff040', data: '0x1' },
      },
    },
  },
);

export const SweepBody = Body(
  {
    semantics: Type.Optional(SemanticsAsked),
    asOf: Type.Optional(AsOf),
  },
  {
    examples: {
      prefix: {
        summary: 'every programmed vector, as KVM would route it without the MSI fix (pre-fix, never released)',
        value: { semantics: 'pre-fix' },
      },
      declared: { summary: "every programmed vector, under the VM's declared QEMU build", value: {} },
    },
  },
);

/** The query of a live route and its picture. */
export const RouteQuery = Query({ semantics: Type.Optional(SemanticsAsked), asOf: Type.Optional(AsOf) });

export const RecordParams = Type.Object({
  id: Type.String({
    pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$',
    description: 'record id (a UUID), from the Location of the POST',
    examples: ['00000000-0000-4000-8000-000000000000'],
  }),
});

const HexString = (description: string) => Type.String({ pattern: '^0x[0-9a-f]{1,16}$', description });
const EventRef = Type.Object({
  position: Type.Integer({ description: 'global position of the event' }),
  type: Type.String(),
});

/** The causes of a missing route, as the domain names them (domain reference §9.10, §10). */
const ROUTE_MISSING_CAUSES = [
  'fault',
  'aborted',
  'unassigned',
  'no-kvm-irqchip',
  'gsi-direct',
  'no-msi-controller',
] as const satisfies readonly RouteMissingCause[];

const InstalledRoute = Type.Object(
  {
    installed: Type.Literal(true),
    address: HexString('doorbell gPA in the KVM route'),
    data: HexString('MSI data (EventID), always the guest value'),
    devid: HexString('KVM devid = stream id'),
    flags: Type.Literal('KVM_MSI_VALID_DEVID'),
  },
  { description: 'KVM installs the MSI route' },
);

const MissingRoute = Type.Object(
  {
    installed: Type.Literal(false),
    cause: OneOf(ROUTE_MISSING_CAUSES, 'why KVM has no route'),
    reason: Type.String(),
  },
  { description: 'KVM installs no MSI route, for this cause' },
);

/**
 * The KVM MSI route, a union discriminated by `installed` (contract v1.3, "Edges"): a client
 * generated from the OpenAPI document reads `address` once it has checked `installed`, no cast.
 * oneOf, not anyOf: the two kinds exclude each other.
 */
export const Route = Type.Unsafe<Static<typeof InstalledRoute> | Static<typeof MissingRoute>>({
  oneOf: [InstalledRoute, MissingRoute],
  description:
    'the KVM MSI route: { installed: true, address, data, devid, flags } or { installed: false, cause, reason }',
});

const Fault = Type.Object(
  {
    type: Type.String({ examples: ['F_TRANSLATION'] }),
    code: HexString('SMMUv3 event number'),
    stage: Type.Union([Type.Integer({ minimum: 1, maximum: 2 }), Type.Null()], {
      description: 'the stage of a walk fault; null for a configuration fault (C_*)',
    }),
    class: Type.Optional(
      Type.Union([Type.Literal('IN'), Type.Literal('CD'), Type.Literal('TT'), Type.Null()], {
        description:
          'CLASS of a walk fault (CD/TT: a nested descriptor fetch); null for a configuration fault; absent before model version 2',
      }),
    ),
    streamId: HexString('stream id'),
    inputAddress: HexString('the gIOVA (or IPA) that faulted'),
    rnw: Type.Boolean({ description: 'RnW=0: the MSI is a write' }),
    recorded: Type.Boolean({ description: 'written to the guest EVENTQ' }),
    reason: Type.String(),
  },
  { description: 'the SMMU event the emulated walk raised' },
);

const resolutionFields = {
  vm: Type.String(),
  picture: Type.Optional(
    Type.String({
      description:
        'absolute URL of the picture (image/svg+xml); absent in records stored before pictures (GET the record for its Link header)',
    }),
  ),
  model: Type.Optional(
    Type.Object(
      { version: Type.Integer(), reference: Type.String() },
      { description: 'the model that produced the record; absent in records made before model version 2' },
    ),
  ),
  device: Type.String(),
  vector: Type.Optional(Type.Integer()),
  asOfVersion: Type.Integer({ description: 'the VM version resolved against' }),
  semantics: Semantics,
  semanticsSource: Type.Optional(SemanticsSource),
  qemu: Type.Optional(ResolutionQemuSchema),
  input: Type.Object({ address: HexString('MSI address the guest wrote'), data: HexString('MSI data') }),
  streamId: HexString('bus << 8 | devfn'),
  devid: HexString('KVM devid'),
  addressSpace: Type.Union([
    Type.Literal('system'),
    Type.Literal('smmu-iommu'),
    Type.Literal('direct-gpa'),
    Type.Literal('sysmem-alias'),
    Type.Literal('virtio-iommu'),
  ]),
  route: Route,
  fault: Type.Union([Fault, Type.Null()]),
  virtioIommu: Type.Optional(
    Type.String({ description: "the VM's virtio-iommu (present when the VM has one; model version 4)" }),
  ),
  virtioIommuFault: Type.Optional(
    Type.Union([
      Type.Object(
        {
          reason: Type.Literal('R_MAPPING'),
          flags: Type.Array(Type.Union([Type.Literal('F_ADDRESS'), Type.Literal('F_WRITE')])),
          endpoint: HexString('the endpoint id (requester id)'),
          address: HexString('the address that faulted'),
          message: Type.String(),
        },
        { description: 'the event virtio_iommu_report_fault queues' },
      ),
      Type.Null(),
    ]),
  ),
  doorbell: Type.Union([
    Type.Object({
      its: Type.Boolean(),
      frame: Type.Union([Type.Literal('translation'), Type.Literal('control'), Type.Null()]),
      offset: Type.Union([HexString('offset in the frame'), Type.Null()]),
    }),
    Type.Null(),
  ]),
  hardwarePath: Type.Union([
    Type.Object({
      deviceWrites: HexString('what the device puts on the bus (host sw_msi window)'),
      steps: Type.Array(
        Type.Object({
          action: Type.String(),
          input: HexString('address in'),
          output: Type.Union([HexString('address out'), Type.Null()]),
          events: Type.Array(EventRef),
        }),
      ),
      delivered: Type.Union([Type.Boolean(), Type.Null()], {
        description:
          'the write reaches the host physical ITS; null: nothing blocks it but the host ITS base is unknown',
      }),
      reason: Type.Optional(Type.String()),
    }),
    Type.Null(),
  ]),
  diagnostics: Type.Array(
    Type.Object({
      code: Type.String({ examples: ['DOORBELL_NOT_IN_ITS'] }),
      severity: Type.Union(['error', 'warning', 'KVM-tolerated', 'info'].map((s) => Type.Literal(s))),
      message: Type.String(),
    }),
  ),
  comparison: Type.Object({
    'pre-fix': Route,
    'address-space': Route,
    upstream: Route,
    misroutedBeforeFix: Type.Boolean({
      description:
        'pre-fix (the accel patches without the MSI fix, never released) installs a route to another address than upstream',
    }),
    missingBeforeFix: Type.Optional(
      Type.Boolean({
        description: 'pre-fix installs no route where upstream installs one (absent in records of model version 1)',
      }),
    ),
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
};

export const ResolutionSchema = Type.Object(
  { id: Type.String(), ...resolutionFields },
  { $id: 'Resolution', description: 'where one MSI lands, why, and what the other QEMU behaviours would do' },
);

export const RouteSchema = Type.Object(resolutionFields, {
  $id: 'Route',
  description:
    'the live route of a programmed vector: a resolution as a record would hold it, without id; nothing stored',
});

export const SweepSchema = Type.Object(
  {
    id: Type.String(),
    vm: Type.String(),
    asOfVersion: Type.Integer(),
    semantics: Semantics,
    semanticsSource: Type.Optional(SemanticsSource),
    counts: Type.Object({
      vectors: Type.Integer(),
      misroutedBeforeFix: Type.Integer({
        description: 'vectors whose pre-fix route goes to another address than the upstream one',
      }),
      missingBeforeFix: Type.Integer({
        description: 'vectors that pre-fix leaves without a route where upstream installs one (§9.10)',
      }),
      routesMissing: Type.Integer({ description: 'vectors without a KVM route' }),
      interruptsLost: Type.Integer({ description: 'vectors whose interrupts never reach the vITS (INTERRUPTS_LOST)' }),
      hwPathBlocked: Type.Integer({ description: 'accel vectors whose MSI write the physical SMMU blocks' }),
    }),
    count: Type.Integer({ description: 'results in the whole sweep (= counts.vectors)' }),
    next: Nullable(Type.String({ description: 'the next page of results: GET it' })),
    previous: Nullable(Type.String({ description: 'the previous page of results' })),
    results: Type.Array(Type.Ref('Resolution')),
  },
  { $id: 'Sweep', description: 'every programmed vector of a VM resolved at once' },
);
