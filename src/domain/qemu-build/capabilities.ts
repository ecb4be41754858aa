// What a declared QEMU build can create (issue 18, item 4): the IOMMU forms of the virt board, each
// with the release that brought it, derived from the same evidence as the classification (§10).
// A property probe beats a version rule; a development build of the release that brought a
// capability is unknown (its commit decides); and unknown is never "cannot": nothing is refused
// on a build nobody described.

import type { QemuBuildClassification } from './classify.js';
import { compareVersions, formatVersion, parseVersion, version, type QemuVersion } from './version.js';

export const QEMU_CAPABILITIES = [
  'machine-smmuv3',
  'device-smmuv3',
  'smmuv3-accel',
  'virtio-iommu',
  'virtio-iommu-acpi',
] as const;
export type QemuCapability = (typeof QEMU_CAPABILITIES)[number];

export interface CapabilityRule {
  readonly capability: QemuCapability;
  /** What the capability lets a command line create. */
  readonly creates: string;
  /** The first upstream release that has it. */
  readonly since: string;
  /** What QEMU answers a build without it, when that text is known (file and function). */
  readonly refusal: string | null;
  /** Why the release is the right one: commits, merges, tags. */
  readonly evidence: string;
}

export const CAPABILITY_RULES: Readonly<Record<QemuCapability, CapabilityRule>> = {
  'machine-smmuv3': {
    capability: 'machine-smmuv3',
    creates: '-machine virt,iommu=smmuv3: one machine-wide SMMUv3 on pcie.0',
    since: '3.0.0',
    refusal: null,
    evidence:
      'qemu/qemu 584105eab2f4 "hw/arm/virt: Add SMMUv3 to the virt board" (Message-id 1524665762-31355-13, 2018-04-25, the day after v2.12.0 was tagged), so 3.0.0 is the first release; the arm-smmuv3 device type came in the same series',
  },
  'device-smmuv3': {
    capability: 'device-smmuv3',
    creates: '-device arm-smmuv3,primary-bus=<root complex>: an SMMUv3 per pcie.0 or pxb-pcie, several per VM',
    since: '10.2.0',
    refusal:
      "\"Parameter 'driver' expects a pluggable device type\" (qdev-monitor.c qdev_get_device_class: arm-smmuv3 is not user_creatable; what Debian's 7.2.22 prints for -device arm-smmuv3)",
    evidence:
      'qemu/qemu 65e3b1de55ed "docs/system/arm/virt: Document user-creatable SMMUv3" ([PULL 02/38], 2025-10-31), merged by 53b41bb78950 (tag pull-target-arm-20251031) in the 10.2 cycle: docs/system/arm/virt.rst documents it first in v10.2.0; the device itself came in pull-target-arm-20250916 ("hw/arm/virt: Allow user-creatable SMMUv3 dev instantiation"), which adds the smmu_per_bus property (hw/arm/smmu-common.c smmu_dev_properties) that libvirt probes for it',
  },
  'smmuv3-accel': {
    capability: 'smmuv3-accel',
    creates: '-device arm-smmuv3,accel=on: the host SMMUv3 nested under the guest (vfio-pci with iommufd)',
    since: '11.0.0',
    refusal:
      '"Property \'arm-smmuv3.accel\' not found" (qom/object.c object_property_find_err: no accel property before 6cc3a621)',
    evidence:
      "domain reference §10: accel first shipped in 11.0.0 (pull-target-arm-20260129, merge d21a442a); NVIDIA's packages carry it before 11.0 (Q4); the build has it exactly when its behaviour is upstream or address-space",
  },
  'virtio-iommu': {
    capability: 'virtio-iommu',
    creates: '-device virtio-iommu-pci on virt, described to a guest booted without firmware by the device tree',
    since: '5.0.0',
    refusal: null,
    evidence:
      'qemu/qemu 70e89132c9 "hw/arm/virt: Add the virtio-iommu device tree mappings" ([PULL v2 20/30], 2020-02-26) (virtio-iommu.md §1.6)',
  },
  'virtio-iommu-acpi': {
    capability: 'virtio-iommu-acpi',
    creates: '-device virtio-iommu-pci on virt with firmware and ACPI (the VIOT table): what a VM booted by EDK2 needs',
    since: '7.0.0',
    refusal:
      '"<machine> machine fails to create iommu-map device tree bindings ... Check the guest is booted without FW or with -no-acpi" (hw/virtio/virtio-iommu-pci.c virtio_iommu_pci_realize, 5.0 to 6.2)',
    evidence:
      'qemu/qemu cf1a5cc935c0 "hw/arm/virt-acpi-build: Add VIOT table for virtio-iommu" and 092cba0350f0 "hw/arm/virt: Remove device tree restriction for virtio-iommu", pulled after the 6.2.0 release (pull-target-arm-20211215), so 7.0.0 (virtio-iommu.md §1.6)',
  },
};

export interface CapabilityAnswer {
  readonly capability: QemuCapability;
  /** true: the build creates it; false: QEMU refuses it there; null: unknown (never refused). */
  readonly can: boolean | null;
  /** What the answer rests on. */
  readonly basis: string;
}

export type QemuBuildCapabilities = Readonly<Record<QemuCapability, CapabilityAnswer>>;

/**
 * A release that brought a capability, with the versions its development tree and release
 * candidates report (qemu-versions.md §3: X.Y.50 while X.(Y+1) is developed, X.Y.90 and above for
 * its rcs). A feature is merged before the freeze, so every rc has it; a development build has it
 * only when its commit descends from the merge.
 */
interface Release {
  readonly release: QemuVersion;
  /** The major.minor the development tree and the rcs report. */
  readonly before: { readonly major: number; readonly minor: number };
}

const RELEASES: Record<Exclude<QemuCapability, 'smmuv3-accel'>, Release> = {
  'machine-smmuv3': { release: version(3, 0, 0), before: { major: 2, minor: 12 } },
  'device-smmuv3': { release: version(10, 2, 0), before: { major: 10, minor: 1 } },
  'virtio-iommu': { release: version(5, 0, 0), before: { major: 4, minor: 2 } },
  'virtio-iommu-acpi': { release: version(7, 0, 0), before: { major: 6, minor: 2 } },
};

function byRelease(v: QemuVersion, { release, before }: Release): { can: boolean | null; basis: string } {
  const name = formatVersion(v);
  const of = formatVersion(release);
  if (compareVersions(v, release) >= 0) return { can: true, basis: `version ${name}: ${of} or later` };
  if (v.major === before.major && v.minor === before.minor && v.micro >= 50) {
    if (v.micro >= 90) return { can: true, basis: `version ${name}: a release candidate of ${of}` };
    return { can: null, basis: `version ${name}: a development build of ${of}; ask for the property probe` };
  }
  return { can: false, basis: `version ${name}: before ${of}` };
}

/** What the build can create, each answer with its basis. */
export function capabilitiesOf(build: QemuBuildClassification): QemuBuildCapabilities {
  const v = build.version === null ? undefined : parseVersion(build.version);
  const properties = build.smmuProperties;
  const answer = (capability: QemuCapability, can: boolean | null, basis: string): CapabilityAnswer => ({
    capability,
    can,
    basis,
  });
  const fromVersion = (capability: Exclude<QemuCapability, 'smmuv3-accel'>): CapabilityAnswer => {
    if (v === undefined) return answer(capability, null, 'no version declared');
    const { can, basis } = byRelease(v, RELEASES[capability]);
    return answer(capability, can, basis);
  };

  // accel follows the behaviour of §10: Q1-Q8 already weigh probe, vendor package and version.
  const accel =
    build.behaviour === 'upstream' || build.behaviour === 'address-space'
      ? answer('smmuv3-accel', true, `behaviour ${build.behaviour} (${build.rule}: ${build.basis})`)
      : build.behaviour === 'none'
        ? answer('smmuv3-accel', false, `behaviour none (${build.rule}: ${build.basis})`)
        : answer('smmuv3-accel', null, `behaviour unknown (${build.rule}: ${build.basis})`);

  // device-list-properties answers for any arm-smmuv3 type (7.2.22 lists primary-bus and bus_num);
  // smmu_per_bus arrived with the user-creatable device, accel only exists on it. An empty list is
  // the probe of a build without the type at all (DeviceNotFound).
  let machine: CapabilityAnswer;
  let device: CapabilityAnswer;
  // (a property list always comes with a classification by Q1-Q3, so accel is known then)
  if (properties !== null && properties.length === 0) {
    machine = answer('machine-smmuv3', false, 'property probe: no arm-smmuv3 device type');
    device = answer('device-smmuv3', false, 'property probe: no arm-smmuv3 device type');
  } else if (properties !== null) {
    machine = answer('machine-smmuv3', true, 'property probe: the arm-smmuv3 type exists');
    const pluggable = properties.find((p) => p === 'smmu_per_bus' || p === 'accel');
    device =
      pluggable === undefined
        ? answer('device-smmuv3', false, 'property probe: arm-smmuv3 has no smmu_per_bus (not user-creatable)')
        : answer('device-smmuv3', true, `property probe: arm-smmuv3 has ${pluggable}`);
  } else {
    machine = fromVersion('machine-smmuv3');
    device =
      accel.can === true
        ? answer('device-smmuv3', true, `accel=on is a property of -device arm-smmuv3 (${accel.basis})`)
        : fromVersion('device-smmuv3');
  }
  return {
    'machine-smmuv3': machine,
    'device-smmuv3': device,
    'smmuv3-accel': accel,
    'virtio-iommu': fromVersion('virtio-iommu'),
    'virtio-iommu-acpi': fromVersion('virtio-iommu-acpi'),
  };
}
