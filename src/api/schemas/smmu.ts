// SMMUs: an arm-smmuv3, its accel mode and the guest driver's state of it.

import { Type } from '@sinclair/typebox';
import { SMMU_STAGES, STREAM_TABLE_FORMATS } from '../../domain/topology/types.js';
import { Body, Id, Listed, OneOf } from './common.js';

export const AddSmmuBody = Body(
  {
    id: Id('SMMU id (QEMU id), e.g. smmuv3.0', 'smmuv3.0'),
    primaryBus: Id('pcie.0 or a pxb-pcie id', 'pcie.1'),
    accel: Type.Optional(Type.Boolean({ description: 'accel=on: nested, hardware-accelerated mode (default false)' })),
    stage: Type.Optional(OneOf(SMMU_STAGES, 'stage property (default "1")')),
    oas: Type.Optional(Type.Integer({ description: 'output address size in bits: 44 (default), or 48 with accel' })),
  },
  {
    examples: {
      accel: {
        summary: 'first session, step 4: accel SMMUv3 on pcie.1',
        value: { id: 'smmuv3.0', primaryBus: 'pcie.1', accel: true },
      },
    },
  },
);

export const AccelBody = Body(
  { enabled: Type.Boolean({ description: 'accel=on' }) },
  { examples: { on: { summary: 'accel=on', value: { enabled: true } } } },
);

const GuestStateFields = {
  enabled: Type.Optional(Type.Boolean({ description: 'CR0.SMMUEN' })),
  gbpaAbort: Type.Optional(Type.Boolean({ description: 'GBPA.ABORT (used while SMMUEN=0)' })),
  eventqEnabled: Type.Optional(Type.Boolean({ description: 'CR0.EVENTQEN' })),
  streamTableLog2Size: Type.Optional(
    Type.Integer({ minimum: 0, maximum: 31, description: 'STRTAB_BASE_CFG.LOG2SIZE' }),
  ),
  streamTableFormat: Type.Optional(OneOf(STREAM_TABLE_FORMATS, 'STRTAB_BASE_CFG.FMT (default linear)')),
  split: Type.Optional(
    Type.Integer({ minimum: 0, maximum: 31, description: 'STRTAB_BASE_CFG.SPLIT, 2-level only (Linux: 8)' }),
  ),
  l1Span: Type.Optional(
    Type.Integer({
      minimum: 0,
      maximum: 31,
      description: 'L1STD.Span of the L1 descriptors, 2-level only (Linux: SPLIT + 1; 0 = invalid)',
    }),
  ),
  rmrHonoured: Type.Optional(Type.Boolean({ description: 'the guest honours the IORT RMR of this SMMU (§9.4)' })),
};

export const GuestStateBody = Type.Object(GuestStateFields, {
  additionalProperties: false,
  minProperties: 1,
  description: 'the fields that changed; the others keep their value',
  'x-examples': {
    booted: { summary: 'a booted Linux driver: SMMUEN=1, EVENTQEN=1', value: { enabled: true, eventqEnabled: true } },
  },
});

export const SmmuSchema = Type.Object(
  {
    id: Type.String(),
    ...Listed,
    primaryBus: Type.String(),
    accel: Type.Boolean(),
    stage: OneOf(SMMU_STAGES, 'stage property'),
    oas: Type.Integer(),
    guestState: Type.Object({
      enabled: Type.Boolean(),
      gbpaAbort: Type.Boolean(),
      eventqEnabled: Type.Boolean(),
      streamTableLog2Size: Type.Integer(),
      streamTableFormat: OneOf(STREAM_TABLE_FORMATS, 'STRTAB_BASE_CFG.FMT'),
      split: Type.Integer(),
      l1Span: Type.Integer(),
      rmrHonoured: Type.Boolean(),
    }),
  },
  { $id: 'Smmu', description: 'an arm-smmuv3 and the state its guest driver programmed' },
);
