// Constants of QEMU's arm64 `virt` board and of the host kernel that the model relies on.
// Each value cites where it comes from (domain reference §4).

/** `base_memmap[VIRT_MEM]` (hw/arm/virt.c): RAM always starts at 1 GiB. */
export const RAM_BASE = 0x4000_0000n;
export const DEFAULT_RAM_SIZE = 0x4000_0000n;

/** `VIRT_GIC_ITS = { 0x08080000, 0x00020000 }`: control frame + translation frame. */
export const VITS_BASE = 0x0808_0000n;
/** `ITS_CONTROL_SIZE` / `ITS_TRANS_SIZE` (arm_gicv3_its_common.h). */
export const ITS_FRAME_SIZE = 0x1_0000n;
/** `KVM_VGIC_V3_ITS_SIZE (2 * SZ_64K)`: the span KVM registers on KVM_MMIO_BUS for the vITS. */
export const KVM_ITS_MMIO_SIZE = 2n * ITS_FRAME_SIZE;
/** GITS_TRANSLATER sits at offset 0x40 of the translation frame. */
export const GITS_TRANSLATER_OFFSET = 0x40n;
/** GITS_TRANSLATER from an ITS base: 0x10000 + 0x40. */
export const GITS_TRANSLATER_FROM_ITS_BASE = ITS_FRAME_SIZE + GITS_TRANSLATER_OFFSET;
/** The vITS doorbell that `msi-gpa` is set to when the board uses an ITS: 0x08090040. */
export const VITS_DOORBELL = VITS_BASE + GITS_TRANSLATER_FROM_ITS_BASE;

/** `VIRT_GIC_V2M = { 0x08020000, 0x00001000 }`, MSI_SETSPI_NS at +0x40. */
export const GICV2M_BASE = 0x0802_0000n;
export const GICV2M_SIZE = 0x1000n;
export const GICV2M_DOORBELL = GICV2M_BASE + 0x40n;

/** Host side: arm-smmu-v3 `MSI_IOVA_BASE` / `MSI_IOVA_LENGTH` (IOMMU_RESV_SW_MSI); QEMU's IORT RMR mirrors it. */
export const SW_MSI_BASE = 0x0800_0000n;
export const SW_MSI_LENGTH = 0x10_0000n;

/** The smmuv3 default output address size (IDR5.OAS=4 -> 44 bits); 48 is allowed with accel=on. */
export const DEFAULT_OAS = 44;
export const ACCEL_OAS = 48;

export interface MemoryRegion {
  name: string;
  base: bigint;
  size: bigint;
}

/**
 * The regions of system memory that the model knows (domain reference §4). `address_space_translate`
 * on the system-memory alias finds a MemoryRegion for these; anything else is `io_mem_unassigned`.
 * Other virt devices (flash, UART, RTC, fw_cfg, ...) are not modelled.
 */
export function systemMemoryMap(board: { ramSize: bigint; msiController: MsiController }): MemoryRegion[] {
  const regions: MemoryRegion[] = [
    { name: 'pcie-mmio', base: 0x1000_0000n, size: 0x2eff_0000n },
    { name: 'pcie-pio', base: 0x3eff_0000n, size: 0x1_0000n },
    { name: 'pcie-ecam', base: 0x3f00_0000n, size: 0x100_0000n },
    { name: 'mach-virt.ram', base: RAM_BASE, size: board.ramSize },
  ];
  if (board.msiController === 'its') regions.push({ name: 'gic-its', base: VITS_BASE, size: KVM_ITS_MMIO_SIZE });
  if (board.msiController === 'gicv2m') regions.push({ name: 'gicv2m', base: GICV2M_BASE, size: GICV2M_SIZE });
  return regions;
}

/** What receives MSIs on the board: the vITS, a GICv2m frame, or nothing (GICv3 with its=off). */
export const MSI_CONTROLLERS = ['its', 'gicv2m', 'none'] as const;
export type MsiController = (typeof MSI_CONTROLLERS)[number];

export function msiControllerOf(board: { gicVersion: 2 | 3; its: boolean }): MsiController {
  if (board.its) return 'its';
  return board.gicVersion === 2 ? 'gicv2m' : 'none';
}

/** `virt_machine_device_pre_plug_cb()` (v7): msi-gpa = ITS doorbell with an ITS, else the GICv2m doorbell. */
export function msiGpaOf(controller: MsiController): bigint {
  return controller === 'its' ? VITS_DOORBELL : GICV2M_DOORBELL;
}
