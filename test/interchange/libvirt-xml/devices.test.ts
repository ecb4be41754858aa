// <devices> children: passthrough, IOMMUs, pvpanic, the emulated devices and what is not on PCI.

import { describe, expect, it } from 'vitest';
import { parseLibvirtXml } from '../../../src/interchange/libvirt-xml/parse';
import { domain, pciAt, refusal } from './helpers';

const hostdev = (driver: string, address = pciAt(0, 1)) =>
  `<hostdev mode='subsystem' type='pci'>${driver}<source><address domain='0' bus='1' slot='0' function='0'/></source>${address}</hostdev>`;

describe('<hostdev>', () => {
  it('takes the domain-level <iommufd>, which a hostdev may turn off', () => {
    const d = parseLibvirtXml(
      domain(`${hostdev('')}\n${hostdev("<driver iommufd='no'/>", pciAt(0, 2))}`, "<iommufd enabled='yes'/>\n"),
    );
    expect(d.devices.map((x) => [x.id, x.driver, x.iommufd])).toEqual([
      ['hostdev0', 'vfio-pci', 'iommufd0'],
      ['hostdev1', 'vfio-pci', undefined],
    ]);
  });

  it('without <address> libvirt places it behind a pcie-root-port it adds: 422 naming the rule, never malformed', () => {
    const e = refusal(domain(hostdev('', '')));
    expect(e.code).toBe('IMPORT_NOT_SUPPORTED');
    expect(e.message).toContain('vfio-pci');
  });

  it("<interface type='hostdev'> is an SR-IOV VF passed through: vfio-pci named hostdev<n> before any <hostdev> (qemuAssignDeviceAliases names nets first), never an emulated NIC", () => {
    const d = parseLibvirtXml(
      domain(
        `${hostdev('')}\n<interface type='hostdev' managed='yes'><source><address type='pci' domain='0x0000' bus='0x03' slot='0x10' function='0x2'/></source>${pciAt(0, 2)}</interface>`,
      ),
    );
    expect(d.devices.map((x) => [x.id, x.driver, x.host, x.slot])).toEqual([
      ['hostdev1', 'vfio-pci', '0000:01:00.0', 1],
      ['hostdev0', 'vfio-pci', '0000:03:10.2', 2],
    ]);
  });

  it('a hostdev that is not PCI is ignored with its reason', () => {
    const d = parseLibvirtXml(domain("<hostdev mode='subsystem' type='usb'/>"));
    expect(d.report.ignored[d.report.ignored.length - 1]!.reason).toContain('not a PCI passthrough device');
  });
});

describe('<iommu>', () => {
  it('smmuv3 without pciBus is the machine SMMU on pcie.0', () => {
    const d = parseLibvirtXml(domain("<iommu model='smmuv3'/>"));
    expect(d.smmus).toEqual([expect.objectContaining({ id: 'iommu0', primaryBus: 'pcie.0' })]);
  });

  it("virtio is virtio-iommu-pci at its address, never dropped (virtio-iommu-aarch64: 00:01.0, aw_bits='48' noted)", () => {
    const d = parseLibvirtXml(domain(`<iommu model='virtio'><driver aw_bits='48'/>${pciAt(0, 1)}</iommu>`));
    expect(d.devices).toEqual([
      expect.objectContaining({ id: 'iommu0', driver: 'virtio-iommu-pci', bus: 'pcie.0', slot: 1 }),
    ]);
    expect(d.smmus).toEqual([]);
    expect(d.report.parts.find((p) => p.became.id === 'iommu0')!.notes[0]).toContain('aw_bits=48');
  });

  it('virtio without <address> (virtio-iommu-aarch64.xml): libvirt places it: 422, never ignored', () => {
    expect(refusal(domain("<iommu model='virtio'/>")).code).toBe('IMPORT_NOT_SUPPORTED');
  });

  it("intel on aarch64: refused with libvirt's reason (qemuValidateDomainDeviceDefIOMMU)", () => {
    const e = refusal(domain("<iommu model='intel'/>"));
    expect(e.code).toBe('IMPORT_NOT_SUPPORTED');
    expect(e.message).toContain('Q35');
  });

  it("smmuv3 with an <address> is malformed (virDomainIOMMUDefValidate: can't have address); a pciBus nothing defines too", () => {
    expect(refusal(domain(`<iommu model='smmuv3'>${pciAt(0, 1)}</iommu>`)).code).toBe('IMPORT_SOURCE_MALFORMED');
    expect(refusal(domain("<iommu model='smmuv3'><driver pciBus='7'/></iommu>")).at).toEqual({ line: 4, column: 1 });
  });
});

describe('<panic>', () => {
  it("pvpanic with a PCI address is pvpanic-pci, as libvirt's command line has it (pvpanic-pci-aarch64: addr 0x4)", () => {
    const d = parseLibvirtXml(domain(`<panic model='pvpanic'>${pciAt(0, 4)}</panic>`));
    expect(d.devices).toEqual([
      expect.objectContaining({ id: 'panic0', driver: 'pvpanic-pci', bus: 'pcie.0', slot: 4 }),
    ]);
  });

  it('pvpanic without an address is placed by libvirt (422); other models are not PCI devices', () => {
    expect(refusal(domain("<panic model='pvpanic'/>")).code).toBe('IMPORT_NOT_SUPPORTED');
    const d = parseLibvirtXml(domain("<panic model='isa'/>"));
    expect(d.devices).toEqual([]);
    expect(d.report.ignored[d.report.ignored.length - 1]!.reason).toContain('not a PCI device');
  });
});

describe('emulated devices', () => {
  it('maps each model to the QEMU driver libvirt gives it, at its PCI address, named as qemuAssignDeviceAliases names it', () => {
    const d = parseLibvirtXml(
      domain(
        [
          `<interface type='network'><model type='virtio'/>${pciAt(0, 2)}</interface>`,
          `<interface type='network'><model type='e1000e'/>${pciAt(0, 3)}</interface>`,
          `<disk type='file' device='disk'><target dev='vda' bus='virtio'/>${pciAt(0, 4)}</disk>`,
          `<controller type='usb' index='0' model='qemu-xhci'>${pciAt(0, 5)}</controller>`,
          `<memballoon model='virtio'>${pciAt(0, 6)}</memballoon>`,
          `<controller type='scsi' index='0' model='lsilogic'>${pciAt(0, 7)}</controller>`,
          `<rng model='virtio-non-transitional'>${pciAt(0, 8)}</rng>`,
          `<video><model type='virtio'/>${pciAt(0, 9)}</video>`,
        ].join('\n'),
      ),
    );
    expect(d.devices.map((x) => [x.id, x.driver, x.slot])).toEqual([
      ['net0', 'virtio-net-pci', 2],
      ['net1', 'e1000e', 3],
      ['virtio-disk0', 'virtio-blk-pci', 4],
      ['usb', 'qemu-xhci', 5],
      ['balloon0', 'virtio-balloon-pci', 6],
      ['scsi0', 'lsi53c895a', 7],
      ['rng0', 'virtio-rng-pci-non-transitional', 8],
      ['video0', 'virtio-gpu-pci', 9],
    ]);
  });

  it('names as qemu_alias.c does: <type><index> for controllers (usb for USB 0), <bus>-disk<n> from the target dev (virDiskNameToIndex), video and serial by position', () => {
    const d = parseLibvirtXml(
      domain(
        [
          `<controller type='usb' index='2' model='qemu-xhci'>${pciAt(0, 2)}</controller>`,
          `<controller type='virtio-serial' index='0'>${pciAt(0, 3)}</controller>`,
          `<disk type='file' device='disk'><target dev='vdb' bus='virtio'/>${pciAt(0, 4)}</disk>`,
          `<disk type='file' device='disk'><target dev='vdaa' bus='virtio'/>${pciAt(0, 5)}</disk>`,
          "<video><model type='none'/></video>",
          `<video><model type='virtio'/>${pciAt(0, 6)}</video>`,
          "<serial type='pty'><target type='system-serial' port='0'/></serial>",
          `<serial type='pty'><target type='pci-serial' port='1'/>${pciAt(0, 7)}</serial>`,
        ].join('\n'),
      ),
    );
    expect(d.devices.map((x) => x.id)).toEqual([
      'usb2',
      'virtio-serial0',
      'virtio-disk1',
      'virtio-disk26',
      'video1',
      'serial1',
    ]);
  });

  it('an <interface> without <model> is virtio on virt (qemuDomainDefaultNetModel)', () => {
    const d = parseLibvirtXml(domain(`<interface type='user'>${pciAt(0, 2)}</interface>`));
    expect(d.devices).toEqual([expect.objectContaining({ driver: 'virtio-net-pci' })]);
  });

  it('a PCI device without <address> is placed by libvirt: 422 naming the rule, never ignored (aarch64-virt-default-models.xml)', () => {
    const e = refusal(domain("<interface type='network'><model type='virtio'/></interface>"));
    expect(e.code).toBe('IMPORT_NOT_SUPPORTED');
    expect(e.message).toContain('virtio-net-pci');
    expect(refusal(domain("<controller type='usb'/>")).code).toBe('IMPORT_NOT_SUPPORTED');
  });

  it("<address type='virtio-mmio'> (aarch64-virt-headless-mmio): ignored, on the virtio-mmio transport, not the PCIe topology", () => {
    const d = parseLibvirtXml(
      domain(
        [
          "<disk type='file' device='disk'><target dev='vda' bus='virtio'/><address type='virtio-mmio'/></disk>",
          "<controller type='virtio-serial' index='0'><address type='virtio-mmio'/></controller>",
          "<rng model='virtio'><address type='virtio-mmio'/></rng>",
        ].join('\n'),
      ),
    );
    expect(d.devices).toEqual([]);
    const reasons = d.report.ignored.slice(-3).map((i) => i.reason);
    expect(
      reasons.every((r) => r.includes('virtio-mmio transport') && r.includes('qemuBuildVirtioDevGetConfigDev')),
    ).toBe(true);
  });

  it('ignores what is not on PCI, and a PCI device of an unmapped model keeps its slot free', () => {
    const d = parseLibvirtXml(
      domain(
        [
          "<disk type='file' device='cdrom'><target dev='sda' bus='sata'/></disk>",
          "<memballoon model='none'/>",
          "<controller type='usb' model='none'/>",
          "<serial type='pty'><target type='system-serial' port='0'/></serial>",
          `<sound model='ich9'>${pciAt(0, 7)}</sound>`,
        ].join('\n'),
      ),
    );
    expect(d.devices).toEqual([]);
    expect(d.report.ignored.slice(-5).map((i) => i.text)).toEqual([
      '<disk>',
      '<memballoon>',
      '<controller>',
      '<serial>',
      '<sound>',
    ]);
    expect(d.report.ignored[d.report.ignored.length - 1]!.reason).toContain('slot stays free');
  });
});
