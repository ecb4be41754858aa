// Fleet sweeps (contract v1.2): what a client asks, and the compact record it gets back.

import { Type } from '@sinclair/typebox';
import { FLEET_VERDICTS } from '../../domain/fleet/verdict.js';
import { SEMANTICS } from '../../domain/resolve/types.js';
import { Body, ID_PATTERN, MAX_LIMIT, Nullable, OneOf } from './common.js';
import { QEMU_BEHAVIOURS, QemuField } from './qemu-build.js';

const VERDICTS_TEXT =
  "no-accel: behaviour none; unknown-build: behaviour unknown; otherwise with L = interrupts lost under the VM's own behaviour and T = under the target's: ok (L = 0, T = 0), fixed-by-target (L > 0, T = 0), broken-by-target (L = 0, T > 0), loses-interrupts (L > 0, T > 0)";

export const FleetSweepBody = Body(
  {
    target: Type.Optional(QemuField),
    vm: Type.Optional(
      Type.Array(Type.String({ pattern: ID_PATTERN }), {
        minItems: 1,
        maxItems: 10_000,
        description: 'the VMs to sweep (default: every VM)',
      }),
    ),
    limit: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: MAX_LIMIT,
        description: 'results in the first page (default 50); next links to the rest',
      }),
    ),
  },
  {
    description:
      "resolves every programmed vector of every VM (or those named) under its own QEMU behaviour and under the target build's",
    examples: {
      upgrade: { summary: 'the whole fleet against QEMU 11.0.0 (the default target)', value: {} },
      named: {
        summary: "two VMs against NVIDIA's 11.0.0 package, ten results a page",
        value: { target: { package: 'Debian 1:11.0.0+nvidia1-1', version: '11.0.0' }, vm: ['vm1', 'vm-nv'], limit: 10 },
      },
    },
  },
);

const Counts = Type.Object(
  {
    vectors: Type.Integer({ description: 'programmed vectors' }),
    routesInstalled: Type.Integer({ description: 'vectors with a KVM route' }),
    interruptsLost: Type.Integer({
      description: 'no route, a route that misses the doorbell (INTERRUPTS_LOST), or a blocked hardware path',
    }),
    misrouted: Type.Integer({ description: 'a route installed to another address than the upstream route' }),
  },
  { description: "counts over the VM's programmed vectors" },
);

const Build = Type.Object({
  version: Nullable(Type.String()),
  package: Nullable(Type.String()),
  smmuProperties: Nullable(Type.Array(Type.String())),
  behaviour: OneOf(QEMU_BEHAVIOURS, 'the behaviour of the build'),
  rule: Type.String({ description: 'Q1-Q8' }),
  basis: Type.String(),
});

export const FleetResultSchema = Type.Object({
  vm: Type.String(),
  version: Type.Integer({ description: 'the VM version swept' }),
  qemu: Type.Object({
    version: Nullable(Type.String()),
    package: Nullable(Type.String()),
    behaviour: OneOf(QEMU_BEHAVIOURS, 'the behaviour of its declared build'),
    rule: Type.String(),
  }),
  behaviour: OneOf(QEMU_BEHAVIOURS, "the VM's own behaviour"),
  semantics: OneOf(
    SEMANTICS,
    'the semantics counts were made with: the behaviour, or upstream when it is none or unknown',
  ),
  counts: Counts,
  countsUnderTarget: Counts,
  verdict: OneOf(FLEET_VERDICTS, VERDICTS_TEXT),
  reason: Type.Optional(
    Type.String({
      description:
        'what the verdict rests on: the build when its behaviour is none or unknown, then the vectors judged (how many lose their interrupts under each behaviour) or why there were none ("no programmed vectors and no guest profile to imply them: nothing was judged"). Absent in sweeps recorded before it was added',
    }),
  ),
  vectorsFrom: Type.Optional(
    Type.Object(
      {
        recorded: Type.Integer({ description: 'vectors programmed by a recorded MsiVectorProgrammed' }),
        assumed: Type.Integer({ description: 'vectors implied by the guest profile, for devices with none recorded' }),
        profile: Nullable(Type.String({ description: 'the declared guest profile' })),
      },
      { description: 'where the vectors counted came from (absent in sweeps recorded before it was added)' },
    ),
  ),
  iommu: Type.Optional(
    Type.Object(
      {
        kind: OneOf(['none', 'smmuv3', 'virtio-iommu'], "the VM's IOMMU: SMMUv3s, a virtio-iommu, or none"),
        ids: Type.Array(Type.String(), { description: 'the SMMUs, or the virtio-iommu device' }),
      },
      { description: 'absent in fleet sweeps recorded before virtio-iommu was modelled' },
    ),
  ),
});

const countsBy = (keys: readonly string[], description: string) =>
  Type.Object(Object.fromEntries(keys.map((k) => [k, Type.Integer()])), { description });

export const FleetSweepSchema = Type.Object(
  {
    id: Type.String(),
    picture: Type.String({ description: 'absolute URL of the chart (image/svg+xml): VMs by QEMU build and verdict' }),
    target: Build,
    createdAt: Type.String({ format: 'date-time' }),
    totals: Type.Object({
      vms: Type.Integer(),
      vectors: Type.Integer(),
      byBehaviour: countsBy(QEMU_BEHAVIOURS, 'VMs per behaviour'),
      byVerdict: countsBy(FLEET_VERDICTS, 'VMs per verdict'),
      vmsWithoutVectors: Type.Optional(
        Type.Integer({ description: 'VMs with no vector to judge (counted under their verdict too, never judged)' }),
      ),
      vectorsFrom: Type.Optional(
        Type.Object(
          { recorded: Type.Integer(), assumed: Type.Integer() },
          { description: 'the vectors counted, recorded or assumed from a guest profile' },
        ),
      ),
    }),
    count: Type.Integer({ description: 'VMs in the whole sweep' }),
    next: Nullable(Type.String({ description: 'the next page of results' })),
    previous: Nullable(Type.String({ description: 'the previous page of results' })),
    results: Type.Array(FleetResultSchema, { description: 'one page of per-VM results, VMs by id' }),
  },
  { $id: 'FleetSweep', description: 'a fleet sweep: counts and verdicts per VM, no resolutions' },
);
