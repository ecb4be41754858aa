// QEMU's rules for reading a command line, one test each, named with the QEMU source it comes
// from and the input that shows it. Expected values were checked on Debian's QEMU 7.2 (TCG,
// `info pci`) where it can run the line.

import { describe, expect, it } from 'vitest';
import { planImport } from '../../../src/interchange/draft';
import { parseQemuCmdline } from '../../../src/interchange/qemu-cmdline/parse';
import { InterchangeError } from '../../../src/interchange/report';

const QEMU = 'qemu-system-aarch64 -machine virt';
const parse = (args: string) => parseQemuCmdline(`${QEMU} -nodefaults ${args}`);
/** Where each placed part lands once slots are settled: id -> "bus slot.function". */
function slots(source: string): Record<string, string> {
  const plan = planImport('vm', parseQemuCmdline(source));
  const out: Record<string, string> = {};
  for (const c of plan.commands) {
    if (c.type === 'AttachDevice') out[c.deviceId] = `${c.bus} ${c.slot}.${c.function}`;
  }
  return out;
}
function refusal(source: string): InterchangeError {
  try {
    parseQemuCmdline(source);
  } catch (error) {
    if (error instanceof InterchangeError) return error;
    throw error;
  }
  throw new Error('the source was accepted');
}

describe('set_pci_devfn (hw/core/qdev-properties-system.c): addr= is slot[.function] in hex', () => {
  it.each([
    ['0x1.0x1', 1, 1],
    ['1.1', 1, 1],
    ['0x1', 1, 0],
    ['1f.7', 31, 7],
    ['0X3', 3, 0],
    ['0x2.0x0', 2, 0],
  ])('addr=%s is slot %i function %i', (addr, slot, fn) => {
    expect(parse(`-device e1000e,id=e,addr=${addr}`).devices[0]).toMatchObject({ slot, function: fn });
  });

  it.each(['0x20', '1.8', 'x', '1.', '0x'])('refuses addr=%s, pointing at the value', (addr) => {
    const error = refusal(`${QEMU} -device e1000e,addr=${addr}`);
    expect(error.code).toBe('IMPORT_SOURCE_MALFORMED');
    expect(error.at).toEqual({ token: 4 });
  });

  it('reads a JSON number as the devfn itself: "addr":8 is slot 1 function 0 (QEMU 7.2 puts it at 00:01.0)', () => {
    expect(parse(`-device '{"driver":"e1000e","id":"e","addr":8}'`).devices[0]).toMatchObject({ slot: 1, function: 0 });
    expect(parse(`-device '{"driver":"e1000e","id":"e","addr":"0x3.0x0"}'`).devices[0]).toMatchObject({ slot: 3 });
  });
});

describe('vl.c default_net and hw/arm/virt.c create_pcie: the NICs of board init', () => {
  it('adds a virtio-net-pci at 00:01.0 without -nodefaults, so a later device without addr= takes slot 2', () => {
    expect(slots(`${QEMU} -device e1000e,id=e`)).toEqual({ nic0: 'pcie.0 1.0', e: 'pcie.0 2.0' });
    const d = parseQemuCmdline(`${QEMU} -device e1000e,id=e`);
    expect(d.devices[0]).toMatchObject({ driver: 'virtio-net-pci', bus: 'pcie.0' });
    expect(d.report.parts.find((p) => p.became.id === 'nic0')!.at).toEqual({ token: 0 });
  });

  it.each([['-nodefaults'], ['-nic none'], ['-net none'], ['-netdev user,id=n']])('adds none with %s', (option) => {
    expect(slots(`${QEMU} ${option} -device e1000e,id=e`)).toEqual({ e: 'pcie.0 1.0' });
  });

  it('creates -nic and -net nic NICs at board init, before any -device (model= or virtio-net-pci)', () => {
    expect(slots(`${QEMU} -device e1000e,id=k -nic user,model=e1000e`)).toEqual({
      nic0: 'pcie.0 1.0',
      k: 'pcie.0 2.0',
    });
    const d = parseQemuCmdline(`${QEMU} -net nic -net user -nic user -device e1000e,id=k`);
    expect(d.devices.map((x) => x.driver)).toEqual(['virtio-net-pci', 'virtio-net-pci', 'e1000e']);
  });

  it('a -device with addr= on the default NIC slot is refused as QEMU refuses it (slot 1 in use by virtio-net-pci)', () => {
    expect(() => slots(`${QEMU} -device e1000e,id=k,addr=1`)).toThrow(expect.objectContaining({ code: 'SLOT_TAKEN' }));
  });
});

describe('qdev-monitor.c qbus_find_recursive: the bus of a device without bus=', () => {
  it('is the bus of the pxb-pcie created last (QEMU 7.2 puts rp on bus 8)', () => {
    expect(parse('-device pxb-pcie,id=p,bus_nr=8 -device pcie-root-port,id=rp,chassis=1').rootPorts[0]!.bus).toBe('p');
  });

  it('is pcie.0 when no pxb-pcie is created before it (bios-tables-test virt-pxb: the port comes first)', () => {
    const d = parse('-device pcie-root-port,id=rp -device pxb-pcie,bus_nr=128');
    expect(d.rootPorts[0]!.bus).toBe('pcie.0');
    expect(d.pxbs[0]!.bus).toBe('pcie.0');
  });

  it('follows a pxb-pcie without id to the name it is given', () => {
    const d = parse('-device pxb-pcie,bus_nr=8 -device pcie-root-port,id=rp');
    expect(d.rootPorts[0]!.bus).toBe(d.pxbs[0]!.id);
    expect(d.pxbs[0]!.id).toBe('pxb0');
  });
});

describe('hw/pci/pci.c do_pci_register_device: a pxb-pcie bus takes bridges only', () => {
  it.each([
    ['an endpoint without bus= after a pxb-pcie', '-device pxb-pcie,id=p,bus_nr=8 -device virtio-net-pci'],
    ['an endpoint with bus=', '-device pxb-pcie,id=p,bus_nr=8 -device e1000e,bus=p'],
    ['a second pxb-pcie without bus=', '-device pxb-pcie,id=p,bus_nr=8 -device pxb-pcie,id=q,bus_nr=16'],
    ['a virtio-iommu-pci', '-device pxb-pcie,id=p,bus_nr=8 -device virtio-iommu-pci,bus=p'],
  ])("refuses %s with QEMU's message", (_what, args) => {
    expect(refusal(`${QEMU} -nodefaults ${args}`).message).toContain(
      'Only PCI/PCIe bridges can be plugged into pxb-pcie',
    );
  });

  it('takes a root port, a switch upstream port and a PCI bridge', () => {
    const d = parse(
      '-device pxb-pcie,id=p,bus_nr=8 -device pcie-root-port,id=rp,bus=p -device x3130-upstream,id=u,bus=p -device pci-bridge,id=b,bus=p,chassis_nr=1',
    );
    expect(d.bridges!.map((b) => `${b.type}@${b.bus}`)).toEqual(['x3130-upstream@p', 'pci-bridge@p']);
  });
});

describe('vl.c qemu_create_cli_devices: every key=value -device before any JSON one', () => {
  it('gives slots in that order (QEMU 7.2: k at 00:01.0, j at 00:02.0)', () => {
    expect(slots(`${QEMU} -nodefaults -device '{"driver":"e1000e","id":"j"}' -device e1000e,id=k`)).toEqual({
      k: 'pcie.0 1.0',
      j: 'pcie.0 2.0',
    });
  });

  it('picks the default bus in that order too: a JSON port after a key=value pxb-pcie written later lands on it', () => {
    const d = parse(`-device '{"driver":"pcie-root-port","id":"rp"}' -device pxb-pcie,id=p,bus_nr=8`);
    expect(d.rootPorts[0]!.bus).toBe('p');
  });
});

describe('hw/pci/pci.c pci_init_multifunction: several functions in a slot need multifunction=on on function 0', () => {
  /** The refusal of planImport (placeAll checks the slots), with its pointer. */
  function placingRefusal(source: string): InterchangeError {
    try {
      planImport('vm', parseQemuCmdline(source));
    } catch (error) {
      if (error instanceof InterchangeError) return error;
      throw error;
    }
    throw new Error('the source was accepted');
  }

  it("takes libvirt's packing: function 0 with multifunction=on, then function 1 (JSON true as well)", () => {
    expect(
      slots(
        `${QEMU} -nodefaults -device e1000e,id=a,addr=0x3,multifunction=on -device e1000e,id=b,addr=0x3.0x1 -device '{"driver":"e1000e","id":"c","addr":"0x4","multifunction":true}' -device '{"driver":"e1000e","id":"d","addr":"0x4.0x1"}'`,
      ),
    ).toEqual({ a: 'pcie.0 3.0', b: 'pcie.0 3.1', c: 'pcie.0 4.0', d: 'pcie.0 4.1' });
  });

  it('refuses function 1 beside a single-function function 0 (QEMU 7.2: "single function device can\'t be populated in function 1.1"), at the second', () => {
    const error = placingRefusal(
      `${QEMU} -nodefaults -device pcie-root-port,id=f0,chassis=1,addr=0x1 -device pcie-root-port,id=f1,chassis=2,addr=0x1.0x1`,
    );
    expect(error.code).toBe('IMPORT_SOURCE_MALFORMED');
    expect(error.message).toContain("PCI: single function device can't be populated in function 1.1");
    expect(error.at).toEqual({ token: 6 });
  });

  it('refuses a single-function function 0 after function 1 (QEMU 7.2: "3.0 indicates single function, but 3.1 is already populated.")', () => {
    const error = placingRefusal(`${QEMU} -nodefaults -device e1000e,id=b,addr=0x3.0x1 -device e1000e,id=a,addr=0x3`);
    expect(error.message).toContain('PCI: 3.0 indicates single function, but 3.1 is already populated.');
    expect(error.at).toEqual({ token: 6 });
  });

  it('counts the default NIC and the host bridge as single-function: addr=0x1.0x1 without -nodefaults, addr=0x0.0x1 (QEMU 7.2 likewise)', () => {
    const error = placingRefusal(`${QEMU} -device e1000e,id=k,addr=0x1.0x1`);
    expect(error.message).toContain("PCI: single function device can't be populated in function 1.1");
    // The host bridge (gpex-root) at 00:00.0 likewise: QEMU 7.2 refuses addr=0x0.0x1.
    const beside = placingRefusal(`${QEMU} -nodefaults -device e1000e,id=k,addr=0x0.0x1`);
    expect(beside.message).toContain("PCI: single function device can't be populated in function 0.1");
  });
});

describe('device ids (util/qemu-option.c, qdev-monitor.c)', () => {
  it('keeps the first id= of one key=value -device (QEMU 7.2 names `id=a,chassis=1,id=b` "a")', () => {
    expect(parse('-device pcie-root-port,id=a,chassis=1,id=b').rootPorts[0]!.id).toBe('a');
  });

  it('refuses a key=value id used twice: "Duplicate ID \'x\' for device", at the second', () => {
    const error = refusal(`${QEMU} -nodefaults -device e1000e,id=x -device e1000e,id=x`);
    expect(error.message).toContain("Duplicate ID 'x' for device");
    expect(error.at).toEqual({ token: 6 });
  });

  it('refuses a JSON id already used, by a JSON or a key=value device: "Duplicate device ID \'x\'", at the JSON one', () => {
    const both = refusal(
      `${QEMU} -nodefaults -device '{"driver":"e1000e","id":"x"}' -device '{"driver":"e1000e","id":"x"}'`,
    );
    expect(both.message).toContain("Duplicate device ID 'x'");
    expect(both.at).toEqual({ token: 6 });
    const mixed = refusal(`${QEMU} -nodefaults -device '{"driver":"e1000e","id":"x"}' -device e1000e,id=x`);
    expect(mixed.message).toContain("Duplicate device ID 'x'");
    expect(mixed.at).toEqual({ token: 4 });
  });

  it('refuses a JSON key written twice (qobject json-parser: "JSON parse error, duplicate key")', () => {
    expect(refusal(`${QEMU} -device '{"driver":"e1000e","id":"a","id":"b"}'`).message).toContain('duplicate key');
  });
});

describe('qdev_alias_table (qdev-monitor.c): short names on arm', () => {
  it.each([
    ['virtio-net', 'virtio-net-pci'],
    ['virtio-blk', 'virtio-blk-pci'],
    ['virtio-rng', 'virtio-rng-pci'],
    ['e1000-82540em', 'e1000'],
    ['ahci', 'ich9-ahci'],
  ])('-device %s is %s', (alias, type) => {
    const d = parse(`-device ${alias},id=x`);
    expect(d.devices[0]).toMatchObject({ id: 'x', driver: type });
    expect(d.report.parts.find((p) => p.became.id === 'x')!.notes.join()).toContain('short name');
  });

  it('-device virtio-iommu is a virtio-iommu-pci (libvirt\'s {"driver":"virtio-iommu"})', () => {
    expect(
      parse(`-device '{"driver":"virtio-iommu","id":"iommu0","bus":"pcie.0","addr":"0x1"}'`).devices[0],
    ).toMatchObject({
      driver: 'virtio-iommu-pci',
      slot: 1,
    });
  });
});

describe('-machine properties the Draft carries', () => {
  it('acpi=off (virt_is_acpi_enabled: only off turns it off), default_bus_bypass_iommu, pxb-pcie bypass_iommu', () => {
    const d = parseQemuCmdline(
      `${QEMU},acpi=off,default_bus_bypass_iommu=on -nodefaults -device pxb-pcie,id=p,bus_nr=8,bypass_iommu=on`,
    );
    expect(d.board).toMatchObject({ acpi: false, defaultBusBypassIommu: true });
    expect(d.pxbs[0]!.bypassIommu).toBe(true);
    expect(parseQemuCmdline(`${QEMU},acpi=auto`).board.acpi).toBeUndefined();
    expect(parseQemuCmdline(`${QEMU},acpi=on`).board.acpi).toBe(true);
  });

  it("carries kvm for the domain's accel=on rule: false under TCG, true with -accel kvm", () => {
    expect(parse('-device arm-smmuv3,primary-bus=pcie.0,accel=on').board.kvm).toBe(false);
    expect(parseQemuCmdline(`${QEMU} -accel kvm -device arm-smmuv3,primary-bus=pcie.0,accel=on`).board.kvm).toBe(true);
  });
});

describe('hw/arm/virt.c pre_plug: IOMMUs do not mix', () => {
  it('refuses virtio-iommu-pci with -machine iommu=smmuv3, wherever -machine stands (QEMU 7.2: "virt machine does not support multiple IOMMUs")', () => {
    const error = refusal(`${QEMU} -nodefaults -device virtio-iommu-pci -M iommu=smmuv3`);
    expect(error.code).toBe('IMPORT_IOMMU_MIXED');
    expect(error.message).toContain('virt machine does not support multiple IOMMUs');
    expect(error.at).toEqual({ token: 4 });
  });

  it('refuses a second virtio-iommu-pci with the same message', () => {
    expect(refusal(`${QEMU} -nodefaults -device virtio-iommu-pci -device virtio-iommu`).message).toContain(
      'does not support multiple IOMMUs',
    );
  });

  it('refuses arm-smmuv3 after a virtio-iommu ("already has virtio-iommu set"), and a virtio-iommu after arm-smmuv3 as not modelled', () => {
    expect(
      refusal(`${QEMU} -nodefaults -device virtio-iommu-pci -device arm-smmuv3,primary-bus=pcie.0`).message,
    ).toContain("already has virtio-iommu set. Doesn't support incompatible iommus");
    expect(refusal(`${QEMU} -nodefaults -device arm-smmuv3,primary-bus=pcie.0 -device virtio-iommu-pci`).code).toBe(
      'IMPORT_NOT_SUPPORTED',
    );
  });
});

describe('the program and the machine', () => {
  it("refuses another qemu-system at the program's own token, after VAR=value words", () => {
    expect(refusal('LC_ALL=C PATH=/bin qemu-system-x86_64 -machine q35').at).toEqual({ token: 2 });
  });

  it('refuses a machine that is not virt (libvirt disk-arm-virtio-sd: vexpress-a9)', () => {
    expect(refusal('qemu-system-aarch64 -machine vexpress-a9,usb=off').message).toContain('vexpress-a9');
  });

  it('points a missing -machine at the program', () => {
    expect(refusal('LC_ALL=C qemu-system-aarch64 -m 1G').at).toEqual({ token: 1 });
  });
});

describe("vfio-pci without host= (docs/devel/vfio-iommufd.rst, libvirt's iommufd form)", () => {
  it('reads fd= with an iommufd as a passthrough device whose host is unknown', () => {
    const d = parseQemuCmdline(
      `${QEMU} -nodefaults -device '{"driver":"vfio-pci","id":"hostdev0","iommufd":"iommufd0","fd":"@hostdev-hostdev0-fd@"}' -object '{"qom-type":"iommufd","id":"iommufd0","fd":"@iommufd-fd@"}'`,
    );
    expect(d.devices[0]).toMatchObject({ id: 'hostdev0', driver: 'vfio-pci', iommufd: 'iommufd0', host: undefined });
    expect(d.report.parts.find((p) => p.became.id === 'hostdev0')!.notes.join()).toContain('host address is unknown');
  });
});
