// decide against what the VM's declared build can create (issue 18, item 4): a command, a command
// list (an import) or a declaration that needs what the build cannot create is refused with the
// build and the capability named; a build nobody described refuses nothing.

import { describe, expect, it } from 'vitest';
import { DomainError } from '../../../src/domain/errors';
import { decide } from '../../../src/domain/topology/decide';
import { CommandListError, decideAll } from '../../../src/domain/topology/decide-all';
import { replay } from '../../../src/domain/topology/replay';
import type { Command, VmState } from '../../../src/domain/topology/types';

const given = (...commands: Command[]): VmState => replay(commands)!;

function refusal(state: VmState, command: Command): DomainError {
  try {
    decide(command, state);
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error(`${command.type} was accepted`);
}

/** What Debian 12's qemu-system-aarch64 --version prints. */
const DEBIAN_7_2 = { versionText: 'QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)' };
const vmOn = (qemu?: unknown): Command => ({ type: 'DefineVm', vmId: 'vm1', ...(qemu ? { qemu } : {}) });
const pxb: Command = { type: 'AddBus', busId: 'pcie.1', busType: 'pxb-pcie', busNr: 1 };
const smmuOn = (primaryBus: string, id = 'smmuv3.0', accel = false): Command => ({
  type: 'AddSmmu',
  smmuId: id,
  primaryBus,
  accel,
});
const viommu = (driver = 'virtio-iommu-pci'): Command => ({
  type: 'AttachDevice',
  deviceId: 'viommu0',
  driver,
  bus: 'pcie.0',
  slot: 1,
});

describe('-device arm-smmuv3 (user-creatable, QEMU 10.2.0)', () => {
  it("QEMU 7.2.22 (Debian 12), primaryBus pcie.1: 422 QEMU_BUILD_LACKS_CAPABILITY naming the build, the capability and QEMU's refusal", () => {
    const error = refusal(given(vmOn(DEBIAN_7_2), pxb), smmuOn('pcie.1'));
    expect(error).toMatchObject({ code: 'QEMU_BUILD_LACKS_CAPABILITY', status: 422, pointer: '/primaryBus' });
    expect(error.message).toContain('QEMU 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)');
    expect(error.message).toContain('device-smmuv3');
    expect(error.message).toContain("Parameter 'driver' expects a pluggable device type");
    expect(error.message).toContain('its only SMMU is the machine one (-machine virt,iommu=smmuv3) on pcie.0');
  });

  it('QEMU 7.2.22, primaryBus pcie.0: the machine SMMU, accepted', () => {
    expect(decide(smmuOn('pcie.0'), given(vmOn(DEBIAN_7_2)))).toMatchObject([
      { type: 'SmmuAdded', data: { primaryBus: 'pcie.0' } },
    ]);
  });

  it('QEMU 10.2.1, primaryBus pcie.1: accepted (10.2.1 >= 10.2.0)', () => {
    expect(decide(smmuOn('pcie.1'), given(vmOn({ version: '10.2.1' }), pxb))).toHaveLength(1);
  });

  it('no build declared, or a 10.1.50 development build: unknown, so accepted', () => {
    expect(decide(smmuOn('pcie.1'), given(vmOn(), pxb))).toHaveLength(1);
    expect(decide(smmuOn('pcie.1'), given(vmOn({ version: '10.1.50' }), pxb))).toHaveLength(1);
  });

  it("the probe beats the version: 11.0.0 whose arm-smmuv3 has no smmu_per_bus (7.2's answer) is refused", () => {
    const state = given(vmOn({ version: '11.0.0', smmuProperties: ['primary-bus', 'bus_num'] }), pxb);
    expect(refusal(state, smmuOn('pcie.1'))).toMatchObject({ code: 'QEMU_BUILD_LACKS_CAPABILITY' });
  });

  it('accel=on on 7.2.22: the accel capability is named first (ACCEL_NOT_IN_QEMU_BUILD, /accel)', () => {
    const error = refusal(given(vmOn(DEBIAN_7_2), pxb), smmuOn('pcie.1', 'smmuv3.0', true));
    expect(error).toMatchObject({ code: 'ACCEL_NOT_IN_QEMU_BUILD', pointer: '/accel' });
    expect(error.message).toContain("Property 'arm-smmuv3.accel' not found");
  });
});

describe('virtio-iommu-pci (ACPI/VIOT: QEMU 7.0.0)', () => {
  it('QEMU 6.2.0: refused at /driver with the realize error of 5.0-6.2, and so is its alias virtio-iommu', () => {
    const state = given(vmOn({ version: '6.2.0' }));
    const error = refusal(state, viommu());
    expect(error).toMatchObject({ code: 'QEMU_BUILD_LACKS_CAPABILITY', pointer: '/driver' });
    expect(error.message).toContain('virtio-iommu-acpi');
    expect(error.message).toContain('Check the guest is booted without FW or with -no-acpi');
    expect(refusal(state, viommu('virtio-iommu')).code).toBe('QEMU_BUILD_LACKS_CAPABILITY');
  });

  it('QEMU 7.2.22: accepted; other drivers need nothing on any build', () => {
    expect(decide(viommu(), given(vmOn(DEBIAN_7_2)))).toHaveLength(1);
    expect(decide(viommu('virtio-net-pci'), given(vmOn({ version: '4.2.0' })))).toHaveLength(1);
  });
});

describe('a declaration that would leave in place what the build cannot create', () => {
  it('an SMMU on pcie.1, then declaring 7.2.22: refused, naming the SMMU; nothing declared', () => {
    const state = given(vmOn(), pxb, smmuOn('pcie.1'));
    const error = refusal(state, { type: 'DeclareQemuBuild', qemu: DEBIAN_7_2 });
    expect(error).toMatchObject({ code: 'QEMU_BUILD_LACKS_CAPABILITY', pointer: '' });
    expect(error.message).toContain('smmuv3.0 on pcie.1');
    expect(error.message).toContain('would leave it in place');
  });

  it('a second SMMU: SMMUs on pcie.0 and pcie.1 need -device arm-smmuv3 for both, so the first is named', () => {
    // The machine SMMU is one; beside another SMMU even the pcie.0 one is a -device arm-smmuv3.
    const state = given(vmOn(), pxb, smmuOn('pcie.0', 'smmuv3.0'), smmuOn('pcie.1', 'smmuv3.1'));
    const error = refusal(state, { type: 'DeclareQemuBuild', qemu: DEBIAN_7_2 });
    expect(error.message).toContain('smmuv3.0 on pcie.0');
  });

  it('a lone SMMU on pcie.0 stays with 7.2.22 (the machine SMMU): the declaration is accepted', () => {
    const state = given(vmOn(), smmuOn('pcie.0'));
    expect(decide({ type: 'DeclareQemuBuild', qemu: DEBIAN_7_2 }, state)).toMatchObject([
      { type: 'QemuBuildDeclared' },
    ]);
  });

  it('virtio-iommu-pci, then declaring 6.2.0: refused', () => {
    const state = given(vmOn(), viommu());
    const error = refusal(state, { type: 'DeclareQemuBuild', qemu: { version: '6.2.0' } });
    expect(error).toMatchObject({ code: 'QEMU_BUILD_LACKS_CAPABILITY', pointer: '' });
    expect(error.message).toContain('viommu0 (virtio-iommu-pci)');
  });
});

describe('a command list (an import) on a declared build', () => {
  it('DefineVm with 7.2.22, a pxb-pcie, an SMMU on it: refused at the third command', () => {
    let error: unknown;
    try {
      decideAll([vmOn(DEBIAN_7_2), pxb, smmuOn('pcie.1')], undefined);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CommandListError);
    expect(error).toMatchObject({ index: 2, code: 'QEMU_BUILD_LACKS_CAPABILITY' });
  });
});

describe("QEMU's own rule for accel: KVM (R16, virt_machine_device_pre_plug_cb)", () => {
  it("accel=on on an 11.0.0 VM with kvm: false: ACCEL_WITHOUT_KVM with QEMU's message", () => {
    const state = given({ type: 'DefineVm', vmId: 'vm1', kvm: false, qemu: { version: '11.0.0' } }, pxb);
    const error = refusal(state, smmuOn('pcie.1', 'smmuv3.0', true));
    expect(error).toMatchObject({ code: 'ACCEL_WITHOUT_KVM' });
    expect(error.message).toContain('SMMUv3 accel=on requires KVM with kernel-irqchip=on support');
  });
});
