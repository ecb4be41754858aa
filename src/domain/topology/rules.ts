// The topology rules of the domain reference's decision table that QEMU enforces at realize or
// plug time. They are checked by every command that could break them: adding an SMMU over devices
// that are already attached, attaching a device under an SMMU, or toggling accel mode later.

import { DomainError } from '../errors.js';
import { ACCEL_OAS, DEFAULT_OAS } from '../virt-board.js';
import { isVfio } from '../translation/topology-facts.js';
import type { Board, Device, SmmuStage } from './types.js';

export interface SmmuMode {
  id: string;
  accel: boolean;
  stage: SmmuStage;
  oas: number;
}

/** R15, R16 and the oas property: what an SMMU's own settings must satisfy. */
export function checkSmmuSettings(
  smmu: SmmuMode,
  board: Board,
  pointers: { accel: string; stage: string; oas: string },
): void {
  if (smmu.accel && smmu.stage !== '1') {
    throw new DomainError(
      'ACCEL_STAGE_NOT_1',
      `R15: ${smmu.id} has accel=on with stage=${smmu.stage}: "Only stage1 is supported for SMMUv3 with accel=on" (smmu_validate_property)`,
      pointers.stage,
    );
  }
  if (smmu.accel && !board.kvm) {
    throw new DomainError(
      'ACCEL_WITHOUT_KVM',
      `R16: ${smmu.id} has accel=on but the VM has no KVM in-kernel irqchip (kvm=false): "SMMUv3 accel=on requires KVM with kernel-irqchip=on support" (hw/arm/virt.c virt_machine_device_pre_plug_cb)`,
      pointers.accel,
    );
  }
  if (smmu.oas !== DEFAULT_OAS && !(smmu.oas === ACCEL_OAS && smmu.accel)) {
    throw new DomainError(
      'OAS_NOT_SUPPORTED',
      `oas=${smmu.oas} on ${smmu.id}: the output address size is 44 bits, and 48 is accepted only with accel=on (smmuv3 properties)`,
      pointers.oas,
    );
  }
}

/** R8, R12, R13: whether a device may sit behind an SMMU in the given mode. */
export function checkDeviceBehindSmmu(
  device: Pick<Device, 'id' | 'driver' | 'iommufd'>,
  smmu: SmmuMode,
  pointer?: string,
): void {
  if (!smmu.accel && isVfio(device.driver)) {
    throw new DomainError(
      'VFIO_BEHIND_EMULATED_SMMU',
      `R8: vfio-pci device ${device.id} behind the emulated SMMUv3 ${smmu.id} (accel=off): "requires iommu MAP notifier which is not currently supported" (smmuv3_notify_flag_changed)`,
      pointer,
    );
  }
  if (smmu.accel && !isVfio(device.driver)) {
    throw new DomainError(
      'ACCEL_EMULATED_ENDPOINT',
      `R12: emulated device ${device.id} (${device.driver}) behind ${smmu.id} with accel=on: "Emulated endpoint devices are not allowed when using arm-smmuv3,accel=on" (smmuv3_accel_supports_as)`,
      pointer,
    );
  }
  if (smmu.accel && device.iommufd === null) {
    throw new DomainError(
      'ACCEL_VFIO_WITHOUT_IOMMUFD',
      `R13: vfio-pci device ${device.id} has no iommufd behind ${smmu.id} with accel=on: "vfio-pci endpoint devices without an iommufd backend not allowed when using arm-smmuv3,accel=on"`,
      pointer,
    );
  }
}
