// Guest profiles (contract v1.3, issue 19): what a VM declares, and what a profile is.

import { Type } from '@sinclair/typebox';
import { GUEST_PAGE_SIZES, GUEST_PROFILE_IDS, MSIX_MAX_VECTORS } from '../../domain/guest/profiles.js';
import { HexOut, ID_PATTERN, Nullable, OneOf } from './common.js';

const guestFields = {
  profile: OneOf(
    GUEST_PROFILE_IDS,
    'linux-dma: a stock arm64 Linux (translated DMA domains); linux-passthrough: iommu.passthrough=1 or CONFIG_IOMMU_DEFAULT_PASSTHROUGH',
  ),
  pageSize: Type.Optional(OneOf(GUEST_PAGE_SIZES, "the guest's PAGE_SIZE, its IOVA granule (default 4096)")),
  vectors: Type.Optional(
    Type.Record(Type.String({ pattern: ID_PATTERN }), Type.Integer({ minimum: 1, maximum: MSIX_MAX_VECTORS }), {
      description:
        'MSI-X vectors the guest driver allocates, by device id, where the topology cannot tell (a vfio-pci device: its MSI-X table size on the host)',
    }),
  ),
};

const GUEST_DESCRIPTION =
  'the guest the VM runs, as a profile: what it programs (STE, CD, stage 1, MSI-X) where the VM has no recorded guest state (GET /v1/guest-profiles)';

/** `guest` inside another body (POST /v1/vms, POST /v1/vm-imports). */
export const GuestField = Type.Object(guestFields, { additionalProperties: false, description: GUEST_DESCRIPTION });

/** The body of PUT /v1/vms/{vm}/guest. */
export const GuestBody = Type.Object(guestFields, {
  additionalProperties: false,
  description: GUEST_DESCRIPTION,
  'x-examples': {
    dma: { summary: 'a stock arm64 Linux with 4 KiB pages', value: { profile: 'linux-dma' } },
    accel: {
      summary: 'linux-dma, and how many vectors two vfio-pci devices use',
      value: { profile: 'linux-dma', pageSize: 4096, vectors: { dev0: 3, dev1: 2 } },
    },
  },
});

const CitationSchema = Type.Object({
  file: Type.String({ description: 'the Linux source file' }),
  function: Type.String({ description: 'the function (or Kconfig symbol)' }),
  kernels: Type.String({ description: 'the kernel releases the rule holds for' }),
});

export const GuestProfilesSchema = Type.Object({
  count: Type.Integer(),
  results: Type.Array(
    Type.Object({
      id: OneOf(GUEST_PROFILE_IDS, 'the profile'),
      version: Type.Integer({ description: 'the version of its rules' }),
      summary: Type.String(),
      kernels: Type.String(),
      domain: OneOf(['dma', 'identity'], 'the default domain each device gets'),
      rules: Type.Array(Type.Object({ id: Type.String(), rule: Type.String(), cite: Type.Array(CitationSchema) })),
    }),
  ),
});

/** The VM's declared guest profile, and what it implies for each device. */
export const VmGuestSchema = Nullable(
  Type.Object(
    {
      profile: OneOf(GUEST_PROFILE_IDS, 'the profile'),
      profileVersion: Type.Integer({ description: "the version of the profile's rules" }),
      pageSize: OneOf(GUEST_PAGE_SIZES, "the guest's page size"),
      vectors: Type.Record(Type.String(), Type.Integer(), { description: 'the declared vector counts' }),
      setBy: Type.Integer({ description: 'position of the GuestProfileDeclared event' }),
      devices: Type.Array(
        Type.Object({
          device: Type.String(),
          applies: Type.Boolean({ description: 'false: the profile says nothing of it (GICv2m, no MSI controller)' }),
          iommu: OneOf(['smmuv3', 'virtio-iommu', 'none'], 'what translates its DMA'),
          ste: Nullable(Type.String({ description: 'the STE config the guest writes (null without an SMMU)' })),
          vectors: Type.Integer({ description: 'MSI-X vectors the guest programs' }),
          msiAddress: Nullable(HexOut('the address each of them carries')),
          notes: Type.Array(Type.String(), { description: 'each fact with the rule it comes from' }),
        }),
        { description: 'what the profile implies; recorded state wins where there is some' },
      ),
    },
    { description: 'the guest profile declared (PUT /v1/vms/{vm}/guest); null while none is' },
  ),
);
