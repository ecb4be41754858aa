// A VM as GET /v1/vms/{vm} returns it (src/api/representations.ts vmResource, hex as strings),
// read leniently: only the fields the topology picture draws, other fields are ignored.

export interface BusView {
  readonly id: string;
  /** 'pcie-root' (pcie.0), 'pxb-pcie' or 'pcie-root-port'. */
  readonly type: string;
  readonly busNumber: number;
  /** The bus this one sits on; null for pcie.0. */
  readonly bus: string | null;
  readonly rootBus: string;
  /** The host bridge's bypass_iommu (absent in representations before virtio-iommu: false). */
  readonly bypassIommu?: boolean;
}

export interface SmmuView {
  readonly id: string;
  readonly primaryBus: string;
  readonly accel: boolean;
  readonly stage?: string;
  readonly oas?: number;
}

export interface DeviceView {
  readonly id: string;
  readonly driver: string;
  readonly bus: string;
  readonly slot: number;
  readonly function: number;
  readonly host?: string | null;
  readonly rootBus: string;
  readonly busNumber: number;
  readonly streamId: string;
  readonly smmu: string | null;
  /** The virtio-iommu that translates it (absent before virtio-iommu was modelled). */
  readonly virtioIommu?: string | null;
}

/** The VM's virtio-iommu as the representation shows it. */
export interface VirtioIommuView {
  readonly device: string;
  readonly reservedRegions: readonly { readonly start: string; readonly end: string; readonly type: string }[];
  readonly covers: readonly string[];
  readonly bypassedBuses: readonly string[];
}

export interface VmView {
  readonly id: string;
  readonly version: number;
  readonly gicVersion?: number;
  readonly its: boolean;
  readonly kvm?: boolean;
  readonly hostItsBase?: string | null;
  /** 'its', 'gicv2m' or 'none'. */
  readonly msiController?: string;
  readonly msiGpa?: string | null;
  readonly buses: readonly BusView[];
  readonly smmus: readonly SmmuView[];
  readonly devices: readonly DeviceView[];
  readonly virtioIommu?: VirtioIommuView | null;
  /** v1.2: the declared QEMU build, when the representation carries it. */
  readonly qemu?: {
    readonly version?: string | null;
    readonly package?: string | null;
    readonly behaviour?: string;
  } | null;
}
