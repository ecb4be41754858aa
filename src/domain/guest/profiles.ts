// Guest profiles: what a booted Linux guest programs into the vSMMU (STE, CD, stage 1) and into
// each device's MSI-X table, by the fixed rules of the Linux source, so that a VM nobody typed
// guest state for still gets answers. Research: docs/domain/guest-profiles.md. Pure: no I/O.

import { DomainError } from '../errors.js';

export const GUEST_PROFILE_IDS = ['linux-dma', 'linux-passthrough'] as const;
export type GuestProfileId = (typeof GUEST_PROFILE_IDS)[number];

/** The guest's PAGE_SIZE, which is the IOVA granule of its DMA domains (iommu_dma_init_domain). */
export const GUEST_PAGE_SIZES = [4096, 16384, 65536] as const;
export type GuestPageSize = (typeof GUEST_PAGE_SIZES)[number];

/** Largest MSI-X table (PCI_MSIX_FLAGS_QSIZE + 1). */
export const MSIX_MAX_VECTORS = 2048;

/** What a VM declares: the profile, the guest's page size, and vector counts the topology cannot tell. */
export interface GuestDeclaration {
  profile: GuestProfileId;
  pageSize: GuestPageSize;
  /** Per device id: how many MSI-X vectors the guest driver allocates (a vfio-pci's table size on the host). */
  vectors: Record<string, number>;
}

/** Where a rule comes from in the Linux source. */
export interface Citation {
  file: string;
  function: string;
  kernels: string;
}

export type GuestRuleId =
  | 'default-domain'
  | 'ste'
  | 'cd'
  | 'rmr-identity'
  | 'msi-page'
  | 'msi-address'
  | 'msi-data'
  | 'vectors-virtio-net'
  | 'vectors-virtio-blk'
  | 'vectors-vfio'
  | 'virtio-iommu-msi'
  | 'gicv2m';

export interface GuestRule {
  id: GuestRuleId;
  /** What the guest does, in words. */
  rule: string;
  cite: Citation[];
}

export interface GuestProfile {
  id: GuestProfileId;
  version: number;
  summary: string;
  /** The kernel releases the profile holds for. */
  kernels: string;
  /** The default domain the guest's SMMUv3 driver gives each device. */
  domain: 'dma' | 'identity';
  rules: GuestRule[];
}

const IOMMU_C = 'drivers/iommu/iommu.c';
const SMMU_C = 'drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c';
const DMA_IOMMU_C = 'drivers/iommu/dma-iommu.c';
const ITS_C = 'drivers/irqchip/irq-gic-v3-its.c';

// Rules both profiles share: the ITS driver, the vector counts, virtio-iommu and GICv2m.
const MSI_DATA: GuestRule = {
  id: 'msi-data',
  rule: 'MSI-X data = the ITS EventID; the ITS driver allocates one per vector from a per-device bitmap, lowest first, so vector n gets data n',
  cite: [
    {
      file: ITS_C,
      function: 'its_irq_compose_msi_msg, its_get_event_id, its_alloc_device_irq',
      kernels: 'v4.4 - v6.18',
    },
  ],
};
const VECTORS_VIRTIO_NET: GuestRule = {
  id: 'vectors-virtio-net',
  rule: 'virtio-net-pci: Linux asks for 1 config vector + 1 per rx/tx virtqueue (the control vq has no callback), 2N + 1 for N queue pairs; the model holds no queues, so N = 1: 3 vectors (QEMU exposes 2N + 2 = 4 entries; entry 3 stays masked)',
  cite: [
    { file: 'drivers/virtio/virtio_pci_common.c', function: 'vp_find_vqs_msix', kernels: 'v2.6.32 - v6.18' },
    { file: 'drivers/net/virtio_net.c', function: 'virtnet_find_vqs', kernels: 'v2.6.32 - v6.18' },
  ],
};
const VECTORS_VIRTIO_BLK: GuestRule = {
  id: 'vectors-virtio-blk',
  rule: 'virtio-blk-pci: Linux asks for 1 config vector + 1 per request queue, min(num-queues, nr_cpu_ids); QEMU sets num-queues to the vCPUs (5.2 and later), which the model does not hold, so one queue is assumed: 2 vectors (declare vectors to say otherwise)',
  cite: [
    { file: 'drivers/virtio/virtio_pci_common.c', function: 'vp_find_vqs_msix', kernels: 'v2.6.32 - v6.18' },
    { file: 'drivers/block/virtio_blk.c', function: 'init_vq', kernels: 'v5.15 - v6.18' },
  ],
};
const VECTORS_VFIO: GuestRule = {
  id: 'vectors-vfio',
  rule: "vfio-pci: the guest driver allocates what it needs up to the host device's MSI-X table size, which the topology does not hold: the declared vectors count, else none",
  cite: [{ file: 'drivers/pci/msi/api.c', function: 'pci_alloc_irq_vectors_affinity', kernels: 'v4.10 - v6.18' }],
};
const VIRTIO_IOMMU_MSI: GuestRule = {
  id: 'virtio-iommu-msi',
  rule: 'behind a virtio-iommu the device reports its MSI region as VIRTIO_IOMMU_RESV_MEM_T_MSI, which the driver makes IOMMU_RESV_MSI (no remapping, no SW_MSI window): the guest programs the doorbell gPA itself',
  cite: [
    { file: 'drivers/iommu/virtio-iommu.c', function: 'viommu_get_resv_regions', kernels: 'v5.3 - v6.18' },
    { file: DMA_IOMMU_C, function: 'iova_reserve_iommu_regions', kernels: 'v4.12 - v6.18' },
  ],
};
const GICV2M: GuestRule = {
  id: 'gicv2m',
  rule: 'with GICv2m (no ITS) the data is an SPI INTID and KVM maps it straight to a GSI: the profile does not apply (gsi-direct), and without any MSI controller there is nothing to program',
  cite: [{ file: 'drivers/irqchip/irq-gic-v2m.c', function: 'gicv2m_compose_msi_msg', kernels: 'v3.19 - v6.18' }],
};

export const GUEST_PROFILES: Record<GuestProfileId, GuestProfile> = {
  'linux-dma': {
    id: 'linux-dma',
    version: 1,
    summary:
      'a stock arm64 Linux guest: every device behind the vSMMUv3 gets a translated DMA domain (stage 1), and iommu-dma maps the ITS doorbell page at the top of the 32-bit IOVA space',
    kernels:
      'v5.15 - v6.18 (arm64 Kconfig default IOMMU_DEFAULT_DMA_STRICT; the MSI arithmetic is unchanged from v4.20)',
    domain: 'dma',
    rules: [
      {
        id: 'default-domain',
        rule: 'the default domain is translated (IOMMU_DOMAIN_DMA): arm64 builds default to IOMMU_DEFAULT_DMA_STRICT',
        cite: [
          { file: IOMMU_C, function: 'iommu_subsys_init', kernels: 'v5.15 - v6.18' },
          { file: 'drivers/iommu/Kconfig', function: 'IOMMU_DEFAULT_DMA_STRICT', kernels: 'v5.15 - v6.18' },
        ],
      },
      {
        id: 'ste',
        rule: 'STE.Config = 0b101 (stage-1 translate) with a CD table, S1DSS = SSID0',
        cite: [
          { file: SMMU_C, function: 'arm_smmu_make_cdtable_ste', kernels: 'v6.8 - v6.18' },
          { file: SMMU_C, function: 'arm_smmu_write_strtab_ent', kernels: 'v4.14 - v6.7' },
        ],
      },
      {
        id: 'cd',
        rule: 'CD: TG0 = the page size (4K, 16K or 64K), T0SZ = 64 - min(48, VA_BITS) = 16, EPD1 = 1, IPS from the SMMU (44 bits by default)',
        cite: [
          { file: SMMU_C, function: 'arm_smmu_make_s1_cd, arm_smmu_domain_finalise', kernels: 'v6.8 - v6.18' },
          { file: 'drivers/iommu/io-pgtable-arm.c', function: 'arm_64_lpae_alloc_pgtable_s1', kernels: 'v4.0 - v6.18' },
        ],
      },
      {
        id: 'rmr-identity',
        rule: "behind an accel vSMMU (ACPI boot, the guest honours the IORT RMR): QEMU's RMR [0x08000000, 0x08100000) is an IOMMU_RESV_DIRECT region, mapped 1:1 in the DMA domain",
        cite: [
          { file: 'drivers/acpi/arm64/iort.c', function: 'iort_get_rmrs', kernels: 'v6.0 - v6.18' },
          { file: IOMMU_C, function: 'iommu_create_device_direct_mappings', kernels: 'v5.0 - v6.18' },
        ],
      },
      {
        id: 'msi-page',
        rule: 'the doorbell page (ITS base + 0x10000, aligned down to the page) is mapped once per domain, W|NOEXEC|MMIO, at the first IOVA the allocator gives: top-down below 4 GiB for PCI, so 0x100000000 - page size (0xFFFFF000 with 4 KiB pages, 0xFFFF0000 with 64 KiB); the SW_MSI window 0x08000000 is for MSI-cookie (VFIO) domains only',
        cite: [
          { file: DMA_IOMMU_C, function: 'iommu_dma_get_msi_page, iommu_dma_alloc_iova', kernels: 'v4.20 - v6.18' },
          {
            file: 'drivers/iommu/iova.c',
            function: 'alloc_iova, __alloc_and_insert_iova_range',
            kernels: 'v4.0 - v6.18',
          },
        ],
      },
      {
        id: 'msi-address',
        rule: 'MSI-X address = the IOVA of the doorbell page + the doorbell offset in the page (GITS_TRANSLATER 0x08090040 -> 0xFFFFF040 with 4 KiB pages); a device no IOMMU translates has no domain, so it gets the doorbell gPA 0x08090040',
        cite: [
          { file: DMA_IOMMU_C, function: 'iommu_dma_compose_msi_msg', kernels: 'v5.0 - v6.14' },
          { file: 'include/linux/msi.h', function: 'msi_msg_set_addr (iommu_dma_sw_msi)', kernels: 'v6.15 - v6.18' },
          { file: ITS_C, function: 'its_irq_compose_msi_msg, its_irq_get_msi_base', kernels: 'v4.4 - v6.18' },
        ],
      },
      MSI_DATA,
      VECTORS_VIRTIO_NET,
      VECTORS_VIRTIO_BLK,
      VECTORS_VFIO,
      VIRTIO_IOMMU_MSI,
      GICV2M,
    ],
  },
  'linux-passthrough': {
    id: 'linux-passthrough',
    version: 1,
    summary:
      'an arm64 Linux guest booted with iommu.passthrough=1 or built with CONFIG_IOMMU_DEFAULT_PASSTHROUGH: identity domains, bypass STEs, MSIs programmed with the doorbell gPA',
    kernels: 'v5.15 - v6.18',
    domain: 'identity',
    rules: [
      {
        id: 'default-domain',
        rule: 'the default domain is identity (IOMMU_DOMAIN_IDENTITY): iommu.passthrough=1 or CONFIG_IOMMU_DEFAULT_PASSTHROUGH',
        cite: [{ file: IOMMU_C, function: 'iommu_set_def_domain_type, iommu_subsys_init', kernels: 'v5.15 - v6.18' }],
      },
      {
        id: 'ste',
        rule: 'STE.Config = 0b100 (bypass): no CD, no stage 1',
        cite: [
          {
            file: SMMU_C,
            function: 'arm_smmu_make_bypass_ste (arm_smmu_attach_dev_identity)',
            kernels: 'v6.8 - v6.18',
          },
          { file: SMMU_C, function: 'arm_smmu_write_strtab_ent', kernels: 'v4.14 - v6.7' },
        ],
      },
      {
        id: 'msi-address',
        rule: 'an identity domain does not remap MSIs: MSI-X address = the doorbell gPA, ITS base + 0x10040 = 0x08090040',
        cite: [
          { file: IOMMU_C, function: 'iommu_dma_prepare_msi (identity passes through)', kernels: 'v6.15 - v6.18' },
          { file: DMA_IOMMU_C, function: 'iommu_dma_prepare_msi (no iova_cookie)', kernels: 'v5.0 - v6.14' },
          { file: ITS_C, function: 'its_irq_compose_msi_msg, its_irq_get_msi_base', kernels: 'v4.4 - v6.18' },
        ],
      },
      MSI_DATA,
      VECTORS_VIRTIO_NET,
      VECTORS_VIRTIO_BLK,
      VECTORS_VFIO,
      VIRTIO_IOMMU_MSI,
      GICV2M,
    ],
  },
};

export function ruleOf(profile: GuestProfile, id: GuestRuleId): GuestRule | undefined {
  return profile.rules.find((rule) => rule.id === id);
}

/** A rule's citations in one line, for a trail's source. */
export function citationText(rule: GuestRule): string {
  return rule.cite.map((c) => `${c.file} ${c.function} (${c.kernels})`).join('; ');
}

/**
 * The declaration as the request gave it (the route schema checked its shape), made canonical:
 * pageSize 4096 when left out, vectors sorted by device id.
 */
export function parseGuestDeclaration(input: unknown, pointer = ''): GuestDeclaration {
  const value = (input ?? {}) as { profile?: unknown; pageSize?: unknown; vectors?: unknown };
  if (!GUEST_PROFILE_IDS.includes(value.profile as GuestProfileId))
    throw new DomainError(
      'FIELD_REQUIRED',
      `${pointer.slice(1) || 'guest'}.profile: one of ${GUEST_PROFILE_IDS.join(', ')} is required`,
      `${pointer}/profile`,
    );
  const pageSize = (value.pageSize ?? 4096) as GuestPageSize;
  if (!GUEST_PAGE_SIZES.includes(pageSize))
    throw new DomainError(
      'FIELD_REQUIRED',
      `pageSize: the guest's page size is one of ${GUEST_PAGE_SIZES.join(', ')}`,
      `${pointer}/pageSize`,
    );
  const given = (value.vectors ?? {}) as Record<string, unknown>;
  const vectors: Record<string, number> = {};
  for (const id of Object.keys(given).sort()) {
    const count = given[id];
    if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > MSIX_MAX_VECTORS)
      throw new DomainError(
        'FIELD_REQUIRED',
        `vectors.${id}: a count of MSI-X vectors from 1 to ${MSIX_MAX_VECTORS} (the largest MSI-X table)`,
        `${pointer}/vectors/${id}`,
      );
    vectors[id] = count;
  }
  return { profile: value.profile as GuestProfileId, pageSize, vectors };
}
