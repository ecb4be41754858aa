// The command-line parser on its own: each option it understands, each one it ignores (with the
// reason in the report), and the syntax a shell and QEMU accept.

import { describe, expect, it } from 'vitest';
import { planImport } from '../../src/interchange/draft';
import { parseQemuCmdline } from '../../src/interchange/qemu-cmdline/parse';
import { writeQemuCmdline } from '../../src/interchange/qemu-cmdline/write';
import { InterchangeError } from '../../src/interchange/report';
import { replay } from '../../src/domain/topology/replay';

const VIRT = 'qemu-system-aarch64 -machine virt,accel=kvm -nodefaults';
const draft = (args: string) => parseQemuCmdline(`${VIRT} ${args}`);
const state = (source: string, busNumbers?: Record<string, number>) =>
  replay(planImport('vm', parseQemuCmdline(source), busNumbers).commands)!;

function refusal(source: string): InterchangeError {
  try {
    parseQemuCmdline(source);
  } catch (error) {
    if (error instanceof InterchangeError) return error;
    throw error;
  }
  throw new Error('the source was accepted');
}

describe('the board', () => {
  it('reads -machine gic-version, accel, its and kernel-irqchip', () => {
    expect(parseQemuCmdline('qemu-system-aarch64 -machine virt,gic-version=2').board).toMatchObject({
      gicVersion: 2,
      kvm: false,
    });
    expect(parseQemuCmdline('qemu-system-aarch64 -M virt-11.0,gic-version=3,its=off,accel=kvm').board).toMatchObject({
      gicVersion: 3,
      its: false,
      kvm: true,
    });
    expect(parseQemuCmdline('qemu-system-aarch64 -machine virt,accel=kvm,kernel-irqchip=off').board.kvm).toBe(false);
    expect(parseQemuCmdline('qemu-system-aarch64 -machine virt,gic-version=max').board.gicVersion).toBe(3);
  });

  it('reads -accel kvm and -enable-kvm, and without either runs TCG (kvm false)', () => {
    expect(parseQemuCmdline('qemu-system-aarch64 -machine virt -accel kvm').board.kvm).toBe(true);
    expect(parseQemuCmdline('qemu-system-aarch64 -machine virt -enable-kvm').board.kvm).toBe(true);
    expect(parseQemuCmdline('qemu-system-aarch64 -machine virt -accel tcg').board.kvm).toBe(false);
    const tcg = parseQemuCmdline('qemu-system-aarch64 -machine virt');
    expect(tcg.board.kvm).toBe(false);
    expect(tcg.report.parts[0]!.notes.join()).toContain('TCG');
  });

  it.each([
    ['16G', 16n << 30n],
    ['4096', 4096n << 20n],
    ['512M', 512n << 20n],
    ['1.5G', 3n << 29n],
    ['size=2G,slots=4,maxmem=8G', 2n << 30n],
  ])('reads -m %s', (value, bytes) => {
    expect(draft(`-m ${value}`).board.ramSize).toBe(bytes);
  });

  it('refuses a machine other than virt, another qemu-system, and a missing -machine', () => {
    // Valid for QEMU, outside the model: 422, not "malformed".
    expect(refusal('qemu-system-aarch64 -machine sbsa-ref').code).toBe('IMPORT_NOT_SUPPORTED');
    expect(refusal('qemu-system-x86_64 -machine q35').at).toEqual({ token: 0 });
    expect(refusal('qemu-system-aarch64 -m 1G').message).toContain('no -machine virt');
  });
});

describe('devices', () => {
  it('reads pxb-pcie, pcie-root-port, arm-smmuv3, vfio-pci with iommufd, and emulated PCI devices', () => {
    const d = draft(
      [
        '-object iommufd,id=fd0',
        '-device pxb-pcie,id=pcie.1,bus_nr=0x10,bus=pcie.0,addr=0x3',
        '-device arm-smmuv3,primary-bus=pcie.1,id=s1,accel=on,stage=1,oas=48,ril=off,ats=on,ssidsize=20',
        '-device pcie-root-port,id=rp,bus=pcie.1,chassis=4,addr=0x2.0,bus-reserve=3',
        '-device vfio-pci,host=0019:06:00.0,bus=rp,addr=0x0.1,iommufd=fd0,id=d0',
        '-device virtio-net-pci,bus=pcie.0,addr=0x5,id=n0',
        '-device nvme,id=nv,serial=x,bus=pcie.0',
      ].join(' '),
    );
    expect(d.pxbs).toEqual([expect.objectContaining({ id: 'pcie.1', busNr: 16, bus: 'pcie.0', slot: 3 })]);
    expect(d.smmus).toEqual([
      expect.objectContaining({ id: 's1', primaryBus: 'pcie.1', accel: true, stage: '1', oas: 48 }),
    ]);
    expect(d.rootPorts).toEqual([
      expect.objectContaining({ id: 'rp', bus: 'pcie.1', slot: 2, function: 0, busReserve: 3 }),
    ]);
    expect(d.devices).toEqual([
      expect.objectContaining({ id: 'd0', driver: 'vfio-pci', bus: 'rp', slot: 0, function: 1, iommufd: 'fd0' }),
      expect.objectContaining({ id: 'n0', driver: 'virtio-net-pci', bus: 'pcie.0', slot: 5 }),
      expect.objectContaining({ id: 'nv', driver: 'nvme', bus: 'pcie.0' }),
    ]);
    const kinds = d.report.parts.map((p) => `${p.became.kind}:${p.became.id}`);
    expect(kinds).toEqual([
      'vm:board',
      'vm:nodefaults',
      'iommufd:fd0',
      'bus:pcie.1',
      'smmu:s1',
      'bus:rp',
      'device:d0',
      'device:n0',
      'device:nv',
    ]);
    const smmuNotes = d.report.parts.find((p) => p.became.id === 's1')!.notes.join(' ');
    expect(smmuNotes).toContain('ril=off');
    expect(smmuNotes).toContain('ssidsize=20');
    expect(d.report.ignored).toContainEqual(expect.objectContaining({ text: '-device nvme serial=x' }));
  });

  it('names devices QEMU would leave without an id, and says so', () => {
    const d = draft('-device e1000e -device arm-smmuv3,primary-bus=pcie.0');
    expect(d.devices[0]!.id).toBe('e1000e0');
    expect(d.smmus[0]!.id).toBe('smmuv3.0');
    expect(d.report.parts.map((p) => p.became.id)).toEqual(['board', 'nodefaults', 'e1000e0', 'smmuv3.0']);
    expect(d.report.parts[2]!.notes).toContain('no id given: named e1000e0');
  });

  it('reads vfio-pci-nohotplug, a short host address and a sysfsdev as vfio-pci', () => {
    const d = draft(
      '-device vfio-pci-nohotplug,host=06:00.0,id=a -device vfio-pci,sysfsdev=/sys/bus/pci/devices/0002:01:00.3,id=b',
    );
    expect(d.devices.map((x) => [x.driver, x.host])).toEqual([
      ['vfio-pci', '0000:06:00.0'],
      ['vfio-pci', '0002:01:00.3'],
    ]);
  });

  it('takes -machine iommu=smmuv3 as the machine SMMU on pcie.0, and refuses it next to -device arm-smmuv3', () => {
    const d = parseQemuCmdline('qemu-system-aarch64 -machine virt,iommu=smmuv3 -device virtio-net-pci,id=n');
    expect(d.smmus).toEqual([expect.objectContaining({ id: 'smmuv3.0', primaryBus: 'pcie.0' })]);
    expect(d.report.parts.find((p) => p.became.kind === 'smmu')!.notes.join()).toContain('legacy');
    expect(refusal('qemu-system-aarch64 -machine virt,iommu=smmuv3 -device arm-smmuv3,primary-bus=pcie.0').code).toBe(
      'IMPORT_IOMMU_MIXED',
    );
  });

  it('refuses properties QEMU 11.0 does not have or rejects without accel', () => {
    expect(refusal(`${VIRT} -device arm-smmuv3,primary-bus=pcie.0,accel=on,pasid=on`).message).toContain('ssidsize');
    expect(refusal(`${VIRT} -device arm-smmuv3,primary-bus=pcie.0,cmdqv=on`).message).toContain('cmdqv');
    expect(refusal(`${VIRT} -device arm-smmuv3,primary-bus=pcie.0,ril=off`).code).toBe('SMMU_PROPERTY_NEEDS_ACCEL');
    expect(refusal(`${VIRT} -device arm-smmuv3,primary-bus=pcie.0,ssidsize=8`).code).toBe('SMMU_PROPERTY_NEEDS_ACCEL');
    expect(draft('-device arm-smmuv3,primary-bus=pcie.0,ril=auto,ats=auto').smmus).toHaveLength(1);
  });

  it('reads switches and bridges into draft.bridges, and planImport adds them as buses', () => {
    const d = draft('-device x3130-upstream,id=up,bus=pcie.0');
    expect(d.bridges).toEqual([expect.objectContaining({ type: 'x3130-upstream', id: 'up', bus: 'pcie.0' })]);
    // -nodefaults: no NIC, so the port takes the first free slot of pcie.0 (00.0 is the host
    // bridge), 1; EDK2 gives the first bridge it finds below bus 0 the secondary bus 1.
    expect(planImport('vm', d).commands).toContainEqual(
      expect.objectContaining({
        type: 'AddBus',
        busId: 'up',
        busType: 'x3130-upstream',
        bus: 'pcie.0',
        slot: 1,
        secondaryBusNr: 1,
      }),
    );
  });

  it('refuses a vfio-pci iommufd= without its -object, and a -device without a driver', () => {
    expect(refusal(`${VIRT} -device vfio-pci,host=0000:01:00.0,iommufd=nope`).message).toContain(
      '-object iommufd,id=nope',
    );
    expect(refusal(`${VIRT} -device '{"id":"x"}'`).message).toContain('without a driver');
  });
});

describe('what is ignored, and why', () => {
  it('lists every option that is not topology with its reason', () => {
    const d = draft(
      "-cpu host -smp 4 -bios /x.fd -drive file=a.qcow2,if=none,id=fs -netdev user,id=n -nographic -serial mon:stdio -name 'my vm' -object memory-backend-ram,id=m,size=1G -device virtio-blk-device,drive=fs -device usb-kbd -frobnicate 3",
    );
    const reasons = Object.fromEntries(d.report.ignored.map((i) => [i.text, i.reason]));
    expect(Object.keys(reasons)).toEqual([
      '-cpu host',
      '-smp 4',
      '-bios /x.fd',
      '-drive file=a.qcow2,if=none,id=fs',
      '-netdev user,id=n',
      '-nographic',
      '-serial mon:stdio',
      '-name my vm',
      '-object memory-backend-ram,id=m,size=1G',
      '-frobnicate 3',
      // -device options are created (and so ignored) after every other option is read.
      '-device virtio-blk-device,drive=fs',
      '-device usb-kbd',
    ]);
    for (const reason of Object.values(reasons)) expect(reason.length).toBeGreaterThan(5);
    expect(reasons['-frobnicate 3']).toContain('not part of');
  });

  it('lists machine properties it does not model, and stray words', () => {
    const d = parseQemuCmdline('FOO=1 qemu-system-aarch64 -machine virt,highmem=on,secure=off > log');
    expect(d.report.ignored.map((i) => i.text)).toEqual([
      'FOO=1',
      '>',
      'log',
      '-machine highmem=on',
      '-machine secure=off',
    ]);
  });
});

describe('syntax', () => {
  it('splits as a shell does: quotes, backslash-newline continuations, escaped spaces', () => {
    const source = `qemu-system-aarch64 \\\n  -machine "virt,accel=kvm" \\\n  -device 'e1000e,id=a' -device e1000e,id=b\\ c -nodefaults`;
    const d = parseQemuCmdline(source);
    expect(d.devices.map((x) => x.id)).toEqual(['a', 'b c']);
    expect(d.report.parts.find((p) => p.became.id === 'a')!.at).toEqual({ token: 3 });
  });

  it('reads ,, as a literal comma and a bare property as =on', () => {
    const d = draft('-device arm-smmuv3,primary-bus=pcie.0,accel -device e1000e,id=n,romfile=a,,b.rom');
    expect(d.smmus[0]!.accel).toBe(true);
    expect(d.report.ignored).toContainEqual(expect.objectContaining({ text: '-device e1000e romfile=a,b.rom' }));
  });

  it('reads -device in JSON form, booleans and numbers included', () => {
    const d = draft(
      `-device '{"driver":"pxb-pcie","id":"p","bus_nr":3}' -device '{"driver":"arm-smmuv3","primary-bus":"p","accel":false,"oas":44}'`,
    );
    expect(d.pxbs[0]!.busNr).toBe(3);
    expect(d.smmus[0]).toMatchObject({ accel: false, oas: 44 });
  });

  it('points an unclosed quote, bad JSON, a bad addr or a bad boolean at its token', () => {
    expect(refusal(`${VIRT} -device "e1000e,id=x`).at).toEqual({ token: 5 });
    expect(refusal(`${VIRT} -device '{"driver":'`).at).toEqual({ token: 5 });
    expect(refusal(`${VIRT} -device e1000e,addr=0x20`).at).toEqual({ token: 5 });
    expect(refusal(`${VIRT} -device arm-smmuv3,primary-bus=pcie.0,accel=maybe`).at).toEqual({ token: 5 });
    expect(refusal(`${VIRT} -m lots`).at).toEqual({ token: 5 });
    expect(refusal('').code).toBe('IMPORT_SOURCE_MALFORMED');
  });
});

describe('bus numbers and slots', () => {
  it('numbers root ports in (slot, function) order, not command-line order, with bus-reserve gaps', () => {
    const s = state(
      `${VIRT} -device pxb-pcie,id=p,bus_nr=10 -device pcie-root-port,id=b,bus=p,addr=5 -device pcie-root-port,id=a,bus=p,addr=1,bus-reserve=4 -device pcie-root-port,id=c,bus=pcie.0`,
    );
    expect(s.buses.get('a')!.number).toBe(11);
    expect(s.buses.get('b')!.number).toBe(16);
    expect(s.buses.get('c')!.number).toBe(1);
  });

  it('gives auto-assigned slots as QEMU does: the lowest free one, after pcie.0 00.0 and explicit addr=', () => {
    const s = state(
      `${VIRT} -device e1000e,id=a,addr=1 -device e1000e,id=b -device pxb-pcie,id=p,bus_nr=2 -device e1000e,id=c,bus=pcie.0`,
    );
    expect([...s.devices.values()].map((d) => [d.id, d.slot])).toEqual([
      ['a', 1],
      ['b', 2],
      ['c', 4],
    ]);
  });

  it('refuses numbers that run past the next root bus (EFI_OUT_OF_RESOURCES)', () => {
    const plan = () =>
      planImport(
        'vm',
        draft(
          '-device pxb-pcie,id=p,bus_nr=1 -device pcie-root-port,id=a,bus=p -device pcie-root-port,id=b,bus=p -device pxb-pcie,id=q,bus_nr=2,bus=pcie.0 -device pcie-root-port,id=c,bus=q',
        ),
      );
    expect(plan).toThrow(expect.objectContaining({ code: 'IMPORT_BUS_NUMBERS_EXHAUSTED', at: { token: 6 } }));
  });
});

describe('the writer', () => {
  it('quotes for the shell and doubles commas for QEMU, so that any driver name reads back', () => {
    const s = replay([
      { type: 'DefineVm', vmId: 'vm' },
      { type: 'AttachDevice', deviceId: 'x', driver: "odd 'driver',x", bus: 'pcie.0', slot: 3 },
    ])!;
    const text = writeQemuCmdline(s).text;
    const back = parseQemuCmdline(text);
    expect(back.report.ignored).toContainEqual(
      expect.objectContaining({ text: "-device odd 'driver',,x,bus=pcie.0,addr=0x3,id=x" }),
    );
  });

  it('writes multifunction=on on function 0 of a slot with other functions, which QEMU needs (pci_init_multifunction), and only there', () => {
    const s = replay([
      { type: 'DefineVm', vmId: 'vm' },
      { type: 'AttachDevice', deviceId: 'a', driver: 'e1000e', bus: 'pcie.0', slot: 3, function: 0 },
      { type: 'AttachDevice', deviceId: 'b', driver: 'e1000e', bus: 'pcie.0', slot: 3, function: 1 },
      { type: 'AttachDevice', deviceId: 'c', driver: 'e1000e', bus: 'pcie.0', slot: 4, function: 0 },
    ])!;
    const text = writeQemuCmdline(s).text;
    expect(text).toContain('-device e1000e,bus=pcie.0,addr=0x3,multifunction=on,id=a');
    expect(text).toContain('-device e1000e,bus=pcie.0,addr=0x3.1,id=b');
    expect(text).toContain('-device e1000e,bus=pcie.0,addr=0x4,id=c');
    expect(() => planImport('vm', parseQemuCmdline(text))).not.toThrow();
  });

  it('refuses ids that are not valid ids of the API', () => {
    expect(() => planImport('vm', draft("-device 'e1000e,id=n 1'"))).toThrow(/id n 1/);
  });
});
