// What the VM's declared QEMU build must be able to create for each part of the topology
// (issue 18, item 4), and the refusal when it cannot. Checked by the commands that add such a part
// and by a declaration that would leave one in place. A capability the build may have (unknown,
// null) is never refused.

import { DomainError, type DomainErrorCode } from '../errors.js';
import { CAPABILITY_RULES, capabilitiesOf, type QemuCapability } from '../qemu-build/capabilities.js';
import type { QemuBuildClassification } from '../qemu-build/classify.js';
import { describeBuild } from '../qemu-build/semantics.js';
import { isVirtioIommu } from '../translation/topology-facts.js';
import { PCIE_ROOT_BUS } from './defaults.js';

/**
 * An SMMU is the machine one (-machine virt,iommu=smmuv3) only when it is alone, on pcie.0 and not
 * accel: the machine SMMU is one, sits on pcie.0 (hw/arm/virt.c create_smmu) and has no accel
 * property; every other SMMU is a -device arm-smmuv3, which QEMU refuses beside the machine one
 * ("virt machine already has iommu=smmuv3 set", virt_machine_device_pre_plug_cb).
 */
export function smmuNeeds(smmu: { primaryBus: string; accel: boolean }, smmuCount: number): QemuCapability[] {
  const needs: QemuCapability[] = smmu.accel ? ['smmuv3-accel'] : [];
  if (smmu.accel || smmu.primaryBus !== PCIE_ROOT_BUS || smmuCount > 1) needs.push('device-smmuv3');
  else needs.push('machine-smmuv3');
  return needs;
}

/**
 * A virtio-iommu-pci (decide has already turned the alias virtio-iommu into it): the VM boots
 * EDK2 with ACPI (§9), so it needs VIOT.
 */
export function deviceNeeds(driver: string): QemuCapability[] {
  return isVirtioIommu(driver) ? ['virtio-iommu-acpi'] : [];
}

/** accel keeps the code it had before capabilities (ACCEL_NOT_IN_QEMU_BUILD); the others share one. */
const CODE: Record<QemuCapability, DomainErrorCode> = {
  'machine-smmuv3': 'QEMU_BUILD_LACKS_CAPABILITY',
  'device-smmuv3': 'QEMU_BUILD_LACKS_CAPABILITY',
  'smmuv3-accel': 'ACCEL_NOT_IN_QEMU_BUILD',
  'virtio-iommu': 'QEMU_BUILD_LACKS_CAPABILITY',
  'virtio-iommu-acpi': 'QEMU_BUILD_LACKS_CAPABILITY',
};

export interface Need {
  /** The part that needs it, as a message names it: "smmuv3.1 on pcie.1", "viommu0 (virtio-iommu-pci)". */
  readonly part: string;
  readonly needs: readonly QemuCapability[];
  /** The field of the command that asked for it; '' when a declaration would leave the part in place. */
  readonly pointer: string;
}

/** Throws when the build cannot create what the part needs (false, not null). */
export function requireCapabilities(vmId: string, build: QemuBuildClassification, need: Need): void {
  const answers = capabilitiesOf(build);
  for (const capability of need.needs) {
    const answer = answers[capability];
    if (answer.can !== false) continue;
    const rule = CAPABILITY_RULES[capability];
    const cannot = `cannot create ${rule.creates} (${capability}, QEMU ${rule.since} and later; ${answer.basis})`;
    const refusal = rule.refusal === null ? '' : `; QEMU refuses it with ${rule.refusal}`;
    const onlyMachine =
      capability === 'device-smmuv3' && answers['machine-smmuv3'].can === true
        ? '; its only SMMU is the machine one (-machine virt,iommu=smmuv3) on pcie.0'
        : '';
    throw new DomainError(
      CODE[capability],
      need.pointer === ''
        ? `VM ${vmId} has ${need.part}; declaring ${describeBuild(build)} would leave it in place, but that build ${cannot}${refusal}${onlyMachine} (remove or change it first, or declare the build the VM runs)`
        : `${need.pointer.slice(1)}: VM ${vmId} runs ${describeBuild(build)}, which ${cannot}, so ${need.part} cannot be created${refusal}${onlyMachine}`,
      need.pointer,
    );
  }
}
