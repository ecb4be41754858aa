// The domain's error catalogue: every rule a command can break, with a stable code and the HTTP
// status it maps to. Messages are built where the error is raised so that they can name the
// field, the value and the rule (R8, R12, ...) of the domain reference.

export const DOMAIN_ERRORS = {
  VM_NOT_FOUND: { status: 404, title: 'VM not found' },
  BUS_NOT_FOUND: { status: 404, title: 'Bus not found' },
  SMMU_NOT_FOUND: { status: 404, title: 'SMMU not found' },
  DEVICE_NOT_FOUND: { status: 404, title: 'Device not found' },
  MAPPING_NOT_FOUND: { status: 404, title: 'Mapping not found' },
  VECTOR_NOT_FOUND: { status: 404, title: 'MSI vector not programmed' },
  VERSION_NOT_FOUND: { status: 404, title: 'No such version of the VM' },

  FIELD_REQUIRED: { status: 400, title: 'Field required' },
  FIELD_NOT_ALLOWED: { status: 400, title: 'Field not allowed here' },

  VM_EXISTS: { status: 409, title: 'VM already exists' },
  VM_DECOMMISSIONED: { status: 409, title: 'VM decommissioned' },
  DUPLICATE_ID: { status: 409, title: 'Id already in use' },
  BUS_NUMBER_TAKEN: { status: 409, title: 'Bus number already in use' },
  SLOT_TAKEN: { status: 409, title: 'Slot/function already in use' },
  SMMU_BUS_TAKEN: { status: 409, title: 'Root bus already has an SMMU' },
  MAPPING_OVERLAP: { status: 409, title: 'Mapping overlaps an existing one' },
  BUS_NOT_EMPTY: { status: 409, title: 'Parts still sit behind the bus' },

  GIC_V2_WITHOUT_ITS: { status: 422, title: 'GICv2 has no ITS' },
  RAM_OUT_OF_RANGE: { status: 422, title: 'RAM does not fit the address space' },
  ITS_BASE_MISALIGNED: { status: 422, title: 'ITS base not 64 KiB aligned' },
  PXB_NOT_ON_PCIE0: { status: 422, title: 'pxb-pcie must sit on pcie.0' },
  BUS_NOT_ROOT: { status: 422, title: 'Not a root bus' },
  SMMU_BUS_NOT_ROOT: { status: 422, title: 'SMMU not on a root complex' },
  SLOT_NOT_VALID: { status: 422, title: 'Slot not valid on this bus' },
  BUS_TAKES_BRIDGES_ONLY: { status: 422, title: 'Only bridges plug into a pxb-pcie' },
  VFIO_BEHIND_EMULATED_SMMU: { status: 422, title: 'R8: vfio-pci behind an emulated SMMUv3' },
  ACCEL_EMULATED_ENDPOINT: { status: 422, title: 'R12: emulated endpoint behind accel=on' },
  ACCEL_VFIO_WITHOUT_IOMMUFD: { status: 422, title: 'R13: vfio-pci without iommufd behind accel=on' },
  ACCEL_STAGE_NOT_1: { status: 422, title: 'R15: accel=on supports stage 1 only' },
  ACCEL_WITHOUT_KVM: { status: 422, title: 'R16: accel=on needs KVM with an in-kernel irqchip' },
  ACCEL_NOT_IN_QEMU_BUILD: { status: 422, title: "The VM's QEMU build has no accel mode" },
  QEMU_BUILD_LACKS_CAPABILITY: { status: 422, title: "The VM's QEMU build cannot create this" },
  OAS_NOT_SUPPORTED: { status: 422, title: 'Output address size not supported' },
  NO_SMMU_FOR_DEVICE: { status: 422, title: 'Device is not behind an SMMU' },
  STAGE_NOT_SUPPORTED: { status: 422, title: 'Stage not supported by the SMMU' },
  MAPPING_MISALIGNED: { status: 422, title: 'Mapping not aligned to the granule' },
  MAPPING_SIZE_ZERO: { status: 422, title: 'Mapping size is zero' },
  ADDRESS_OUT_OF_RANGE: { status: 422, title: 'Address past the 64-bit range' },
  MSI_DATA_OUT_OF_RANGE: { status: 422, title: 'MSI data is 32 bits' },
  STE_FIELD_NOT_USED: { status: 422, title: 'STE field not used by this config' },
  GUEST_STATE_OUT_OF_RANGE: { status: 422, title: 'Guest state value does not fit its register field' },
  IOMMU_CONFLICT: { status: 422, title: 'The virt machine has one kind of IOMMU' },
  VIRTIO_IOMMU_BUS_NOT_VALID: { status: 422, title: 'virtio-iommu-pci must sit on pcie.0' },
  SMMU_BUS_BYPASSES_IOMMU: { status: 422, title: 'SMMU on a root bus that bypasses the IOMMU' },
  DEVICE_NOT_UNPLUGGABLE: { status: 422, title: 'The virt machine cannot unplug this device' },
  BUS_NOT_REMOVABLE: { status: 422, title: 'pcie.0 is part of the virt machine' },
} as const;

export type DomainErrorCode = keyof typeof DOMAIN_ERRORS;

export class DomainError extends Error {
  readonly status: number;
  readonly title: string;

  constructor(
    readonly code: DomainErrorCode,
    message: string,
    /** JSON Pointer (into the request body) of the field that broke the rule, when there is one. */
    readonly pointer?: string,
  ) {
    super(message);
    this.name = 'DomainError';
    this.status = DOMAIN_ERRORS[code].status;
    this.title = DOMAIN_ERRORS[code].title;
  }
}
