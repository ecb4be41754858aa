// What a declared build can create (capabilities.ts): the release each IOMMU form came with, the
// property probe before any version rule, and "unknown" never read as "cannot". Each expectation
// says how it follows from the release table (3.0.0 machine SMMU, 10.2.0 -device arm-smmuv3,
// 11.0.0 / NVIDIA accel, 5.0.0 virtio-iommu with DT, 7.0.0 with ACPI).

import { describe, expect, it } from 'vitest';
import { capabilitiesOf, type QemuCapability } from '../../../src/domain/qemu-build/capabilities';
import { classifyQemuBuild } from '../../../src/domain/qemu-build/classify';
import { parseQemuDeclaration } from '../../../src/domain/qemu-build/declaration';

const can = (body: unknown): Record<QemuCapability, boolean | null> => {
  const answers = capabilitiesOf(classifyQemuBuild(parseQemuDeclaration(body)));
  return Object.fromEntries(Object.entries(answers).map(([k, a]) => [k, a.can])) as Record<
    QemuCapability,
    boolean | null
  >;
};

describe('capabilities by version', () => {
  it("Debian 12's 7.2.22: the machine SMMU and virtio-iommu, no -device arm-smmuv3, no accel", () => {
    // 7.2.22 >= 3.0.0 (machine), < 10.2.0 (device), Q7 none (accel), >= 5.0.0 and >= 7.0.0 (virtio-iommu).
    expect(can({ versionText: 'QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)' })).toEqual({
      'machine-smmuv3': true,
      'device-smmuv3': false,
      'smmuv3-accel': false,
      'virtio-iommu': true,
      'virtio-iommu-acpi': true,
    });
  });

  it('10.2.1 (Ubuntu): -device arm-smmuv3 without accel', () => {
    expect(can({ versionText: 'QEMU emulator version 10.2.1 (Debian 1:10.2.1+ds-1ubuntu3.1)' })).toMatchObject({
      'device-smmuv3': true,
      'smmuv3-accel': false,
    });
  });

  it('11.0.0: everything', () => {
    expect(Object.values(can({ version: '11.0.0' }))).toEqual([true, true, true, true, true]);
  });

  it('the 10.2 cycle: 10.1.0 cannot, a 10.1.50 development build is unknown, the rcs (10.1.9x) can', () => {
    expect(can({ version: '10.1.0' })['device-smmuv3']).toBe(false);
    expect(can({ version: '10.1.50' })['device-smmuv3']).toBeNull();
    expect(can({ version: '10.1.91' })['device-smmuv3']).toBe(true);
  });

  it('virtio-iommu: 4.2.0 none; 6.2.0 with DT only; a 6.2.50 development build unknown with ACPI', () => {
    expect(can({ version: '4.2.0' })).toMatchObject({ 'virtio-iommu': false, 'virtio-iommu-acpi': false });
    expect(can({ version: '6.2.0' })).toMatchObject({ 'virtio-iommu': true, 'virtio-iommu-acpi': false });
    expect(can({ version: '6.2.50' })).toMatchObject({ 'virtio-iommu': true, 'virtio-iommu-acpi': null });
  });

  it('the machine SMMU: 2.12.0 has none, the 3.0 rcs (2.12.9x) have it', () => {
    expect(can({ version: '2.12.0' })['machine-smmuv3']).toBe(false);
    expect(can({ version: '2.12.91' })['machine-smmuv3']).toBe(true);
  });

  it("NVIDIA's 1:10.1.0+nvidia1-unstable: accel (Q4), hence -device arm-smmuv3, whatever 10.1.0 alone says", () => {
    expect(can({ package: 'Debian 1:10.1.0+nvidia1-unstable' })).toMatchObject({
      'device-smmuv3': true,
      'smmuv3-accel': true,
    });
  });
});

describe('the property probe beats the version', () => {
  it("7.2.22's own answer (primary-bus, bus_num): the type exists, but it is not user-creatable", () => {
    // What device-list-properties arm-smmuv3 answers on Debian 12 under -machine none.
    const answers = can({ version: '7.2.22', smmuProperties: ['primary-bus', 'bus_num'] });
    expect(answers).toMatchObject({ 'machine-smmuv3': true, 'device-smmuv3': false, 'smmuv3-accel': false });
  });

  it('smmu_per_bus says user-creatable even on a version the rule would refuse', () => {
    // A 10.1.0 that answers smmu_per_bus carries the 10.2 series (a backport): the probe wins.
    expect(can({ version: '10.1.0', smmuProperties: ['primary-bus', 'smmu_per_bus'] })['device-smmuv3']).toBe(true);
  });

  it('an 11.0-like answer (accel, msi-gpa): -device arm-smmuv3 and accel', () => {
    expect(can({ smmuProperties: ['smmu_per_bus', 'accel', 'msi-gpa'] })).toMatchObject({
      'machine-smmuv3': true,
      'device-smmuv3': true,
      'smmuv3-accel': true,
    });
  });

  it('an empty list (DeviceNotFound: no arm-smmuv3 type at all): neither SMMU form', () => {
    expect(can({ smmuProperties: [] })).toMatchObject({ 'machine-smmuv3': false, 'device-smmuv3': false });
  });
});

describe('unknown is not "cannot"', () => {
  it('nothing declared: every capability unknown (null), none refused', () => {
    expect(Object.values(can({}))).toEqual([null, null, null, null, null]);
  });

  it('a package without a version (git describe) gives no version: unknown', () => {
    expect(can({ package: 'v10.2.0-989-g5cfb672a711' })['device-smmuv3']).toBeNull();
  });
});
