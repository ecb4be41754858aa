// Each -device kind function on its own: a fresh parse context, one device, what it became.

import { describe, expect, it } from 'vitest';
import type { Option } from '../../../src/interchange/qemu-cmdline/argv';
import { newContext, type ParseContext } from '../../../src/interchange/qemu-cmdline/context';
import { createDevice, deviceKind } from '../../../src/interchange/qemu-cmdline/device';
import {
  readBridge,
  readEndpoint,
  readPxb,
  readRootPort,
  readSmmu,
  readUnmodelledBridge,
  readVfio,
  readVirtioIommu,
} from '../../../src/interchange/qemu-cmdline/device-kinds';
import { DeviceProps } from '../../../src/interchange/qemu-cmdline/device-props';
import { keyValues } from '../../../src/interchange/qemu-cmdline/options';

const option = (value: string): Option => ({ name: 'device', value, at: { token: 7 }, valueAt: { token: 8 } });
const props = (value: string) => new DeviceProps(option(value), keyValues(value, 'driver'), 0);
function run(read: (ctx: ParseContext, d: DeviceProps) => void, value: string, ctx = newContext()): ParseContext {
  read(ctx, props(value));
  return ctx;
}
const ignoredTexts = (ctx: ParseContext) => ctx.report.ignored.map((i) => i.text);

describe('deviceKind: the driver (aliases resolved) picks the kind', () => {
  it.each([
    ['pxb-pcie', 'pxb'],
    ['ioh3420', 'root-port'],
    ['xio3130-downstream', 'bridge'],
    ['i82801b11-bridge', 'unmodelled-bridge'],
    ['arm-smmuv3', 'smmu'],
    ['vfio-pci-nohotplug', 'vfio'],
    ['virtio-iommu', 'virtio-iommu'],
    ['virtio-iommu-pci', 'virtio-iommu'],
    ['virtio-net', 'endpoint'],
    ['pci-serial', 'endpoint'],
    ['virtio-net-device', 'other'],
    ['usb-kbd', 'other'],
  ])('%s is %s', (driver, kind) => expect(deviceKind(driver)).toBe(kind));
});

describe('readPxb', () => {
  it('reads bus_nr, bypass_iommu and its place; notes numa_node', () => {
    const ctx = run(readPxb, 'pxb-pcie,id=p,bus_nr=0x10,bypass_iommu=on,numa_node=1,addr=3');
    expect(ctx.pxbs).toEqual([
      {
        id: 'p',
        busNr: 16,
        bus: 'pcie.0',
        slot: 3,
        function: 0,
        bypassIommu: true,
        multifunction: false,
        created: 0,
        at: { token: 7 },
      },
    ]);
    expect(ctx.report.parts[0]!.notes.join()).toContain('numa_node=1');
  });

  it('refuses a pxb-pcie without bus_nr, at the value', () => {
    expect(() => run(readPxb, 'pxb-pcie,id=p')).toThrow(expect.objectContaining({ at: { token: 8 } }));
  });
});

describe('readRootPort', () => {
  it('reads bus-reserve and notes the hot-plug and window properties', () => {
    const ctx = run(
      readRootPort,
      'pcie-root-port,id=rp,bus=pcie.0,chassis=1,bus-reserve=2,pref64-reserve=2M,multifunction=on',
    );
    expect(ctx.rootPorts[0]).toMatchObject({ id: 'rp', bus: 'pcie.0', busReserve: 2, multifunction: true });
    expect(ctx.report.parts[0]!.notes).toHaveLength(3);
    expect(ignoredTexts(ctx)).toEqual([]);
  });
});

describe('readBridge', () => {
  it('reads a switch downstream port into draft bridges, with its place', () => {
    const ctx = run(readBridge, 'xio3130-downstream,id=d,bus=up,chassis=2,slot=0,addr=0x1');
    expect(ctx.bridges).toEqual([
      {
        type: 'xio3130-downstream',
        id: 'd',
        bus: 'up',
        slot: 1,
        function: 0,
        busReserve: 0,
        multifunction: false,
        created: 0,
        at: { token: 7 },
      },
    ]);
  });

  it('reads bus-reserve on a pci-bridge and refuses it where QEMU 7.2 has no such property', () => {
    expect(run(readBridge, 'pci-bridge,id=b,chassis_nr=1,bus-reserve=3').bridges![0]!.busReserve).toBe(3);
    expect(() => run(readBridge, 'x3130-upstream,id=u,bus-reserve=3')).toThrow(/no property bus-reserve/);
  });

  it('names a bridge QEMU leaves without an id', () => {
    const ctx = newContext();
    createDevice(ctx, option('pcie-pci-bridge'), keyValues('pcie-pci-bridge', 'driver'));
    expect(ctx.pending).toHaveLength(1);
  });
});

describe('readUnmodelledBridge', () => {
  it('refuses it with 422, naming it', () => {
    expect(() => run(readUnmodelledBridge, 'i82801b11-bridge,id=pci.1')).toThrow(
      expect.objectContaining({ code: 'IMPORT_NOT_SUPPORTED', message: expect.stringContaining('DMI-to-PCI') }),
    );
  });
});

describe('readSmmu', () => {
  it('reads primary-bus, accel, stage and oas', () => {
    const ctx = run(readSmmu, 'arm-smmuv3,id=s,primary-bus=pcie.1,accel=on,stage=1,oas=48');
    expect(ctx.smmus).toEqual([{ id: 's', primaryBus: 'pcie.1', accel: true, stage: '1', oas: 48, at: { token: 7 } }]);
  });
});

describe('readVfio', () => {
  it('reads host=, and fd= as an opened device with no host address', () => {
    expect(run(readVfio, 'vfio-pci,id=a,host=06:00.0').devices[0]!.host).toBe('0000:06:00.0');
    const ctx = newContext();
    ctx.iommufds.add('fd0');
    run(readVfio, 'vfio-pci,id=b,fd=23,iommufd=fd0', ctx);
    expect(ctx.devices[0]).toMatchObject({ id: 'b', host: undefined, iommufd: 'fd0' });
  });

  it('refuses an iommufd= that no -object defines', () => {
    expect(() => run(readVfio, 'vfio-pci,host=06:00.0,iommufd=nope')).toThrow(/-object iommufd,id=nope/);
  });
});

describe('readVirtioIommu', () => {
  it('keeps it as a virtio-iommu-pci device, noting aw-bits, granule and boot-bypass', () => {
    const ctx = run(readVirtioIommu, 'virtio-iommu,id=vi,aw-bits=48,granule=4k,boot-bypass=off');
    expect(ctx.devices).toEqual([expect.objectContaining({ id: 'vi', driver: 'virtio-iommu-pci', bus: 'pcie.0' })]);
    const notes = ctx.report.parts[0]!.notes.join(' | ');
    for (const key of ['aw-bits=48', 'granule=4k', 'boot-bypass=off', 'short name']) expect(notes).toContain(key);
  });
});

describe('readEndpoint', () => {
  it('reads an emulated device and lists the properties that do not place it', () => {
    const ctx = run(readEndpoint, 'e1000e,id=n,mac=52:54:00:00:00:01,addr=4');
    expect(ctx.devices[0]).toMatchObject({ id: 'n', driver: 'e1000e', bus: 'pcie.0', slot: 4 });
    expect(ignoredTexts(ctx)).toEqual(['-device e1000e mac=52:54:00:00:00:01']);
  });
});
