// The virt board's rules for combining IOMMUs (hw/arm/virt.c virt_machine_device_pre_plug_cb),
// checked in QEMU's creation order. See ../shared/domain/virtio-iommu.md §1.5.

import type { DraftDevice } from '../draft.js';
import { InterchangeError } from '../report.js';
import type { ParseContext } from './context.js';
import type { DeviceProps } from './device-props.js';
import { VIRTIO_IOMMU_DRIVER } from '../pci-drivers.js';

const virtioIommuOf = (ctx: ParseContext): DraftDevice | undefined =>
  ctx.devices.find((d) => d.driver === VIRTIO_IOMMU_DRIVER);

/**
 * A virtio-iommu-pci joins no other IOMMU. pre_plug refuses it when vms->iommu is already set, by
 * -machine iommu=smmuv3 or an earlier virtio-iommu: "virt machine does not support multiple
 * IOMMUs" (commit 80d28ccdb99d, QEMU 7.0; QEMU 7.2 refuses both). After a -device arm-smmuv3
 * QEMU's check passes (that branch never sets vms->iommu), yet two IOMMUs would then split or
 * overwrite the buses' IOMMU ops: the model refuses it, as a part it does not model.
 */
export function checkVirtioIommuAlone(ctx: ParseContext, d: DeviceProps): void {
  if (ctx.legacySmmu !== undefined || virtioIommuOf(ctx) !== undefined)
    throw new InterchangeError(
      'IMPORT_IOMMU_MIXED',
      `-device ${d.written}: virt machine does not support multiple IOMMUs (hw/arm/virt.c pre_plug: ${ctx.legacySmmu !== undefined ? '-machine iommu=smmuv3' : 'another virtio-iommu'} is already there)`,
      d.option.at,
    );
  if (ctx.smmus.length > 0)
    throw new InterchangeError(
      'IMPORT_NOT_SUPPORTED',
      `-device ${d.written} after -device arm-smmuv3 (${ctx.smmus[0]!.id || 'unnamed'}): QEMU does not refuse it, but two IOMMUs would translate the same buses, which doorbell does not model`,
      d.option.at,
    );
}

/**
 * A -device arm-smmuv3 after a virtio-iommu: pre_plug's TYPE_ARM_SMMUV3 branch refuses it, "virt
 * machine already has virtio-iommu set. Doesn't support incompatible iommus" (QEMU 10.2, the
 * release that made arm-smmuv3 user-creatable). -machine iommu=smmuv3 with -device arm-smmuv3 is
 * refused at the end of the parse (parse.ts addLegacySmmu).
 */
export function checkSmmuAfterVirtioIommu(ctx: ParseContext, d: DeviceProps): void {
  const viommu = virtioIommuOf(ctx);
  if (viommu !== undefined)
    throw new InterchangeError(
      'IMPORT_IOMMU_MIXED',
      `-device arm-smmuv3: virt machine already has virtio-iommu set. Doesn't support incompatible iommus (hw/arm/virt.c pre_plug; the virtio-iommu is ${viommu.id || 'unnamed'})`,
      d.option.at,
    );
}
