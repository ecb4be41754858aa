// The libvirt parser on its own: what each element becomes (controller indexes resolved to buses),
// what is ignored and why, and malformed XML reported at its line and column.

import { describe, expect, it } from 'vitest';
import { replay } from '../../src/domain/topology/replay';
import { planImport } from '../../src/interchange/draft';
import { parseLibvirtXml } from '../../src/interchange/libvirt-xml/parse';
import { writeLibvirtXml } from '../../src/interchange/libvirt-xml/write';
import { InterchangeError } from '../../src/interchange/report';

const domain = (devices: string, extra = '') =>
  `<domain type='kvm'>\n<memory unit='MiB'>2048</memory>\n${extra}<devices>\n${devices}\n</devices>\n</domain>`;
const pxb = (index: number, busNr: number, slot: number) =>
  `<controller type='pci' index='${index}' model='pcie-expander-bus'><target busNr='${busNr}'/><address type='pci' bus='0x00' slot='${slot}' function='0'/></controller>`;
const port = (index: number, bus: number, slot: number, alias = '') =>
  `<controller type='pci' index='${index}' model='pcie-root-port'>${alias}<address type='pci' bus='${bus}' slot='${slot}' function='0'/></controller>`;

function refusal(source: string): InterchangeError {
  try {
    parseLibvirtXml(source);
  } catch (error) {
    if (error instanceof InterchangeError) return error;
    throw error;
  }
  throw new Error('the source was accepted');
}

describe('libvirt domain', () => {
  it('reads memory units, the GIC version and the domain type', () => {
    const d = parseLibvirtXml(domain('', "<features><gic version='2'/><acpi/></features>\n"));
    expect(d.board).toMatchObject({ ramSize: 2048n << 20n, gicVersion: 2, kvm: true });
    expect(parseLibvirtXml("<domain type='qemu'><memory>1024</memory></domain>").board).toMatchObject({
      ramSize: 1024n << 10n,
      kvm: false,
    });
    expect(d.report.ignored).toContainEqual(expect.objectContaining({ text: '<features><acpi>' }));
  });

  it('resolves <address bus=> and pciBus as controller indexes, not bus numbers', () => {
    const d = parseLibvirtXml(
      domain(
        [
          pxb(3, 20, 2),
          port(5, 3, 1, "<alias name='ua-rpA'/>"),
          "<hostdev mode='subsystem' type='pci'><driver iommufd='yes'/><source><address domain='0x0002' bus='0x81' slot='0x00' function='0x1'/></source><address type='pci' bus='0x05' slot='0x00' function='0x0'/></hostdev>",
          "<iommu model='smmuv3'><driver pciBus='3' accel='on' ats='on'/><alias name='ua-smmu'/></iommu>",
        ].join('\n'),
      ),
    );
    expect(d.pxbs).toEqual([expect.objectContaining({ id: 'pci.3', busNr: 20, slot: 2 })]);
    expect(d.rootPorts).toEqual([expect.objectContaining({ id: 'rpA', bus: 'pci.3', slot: 1 })]);
    expect(d.devices).toEqual([
      expect.objectContaining({ id: 'hostdev0', bus: 'rpA', host: '0002:81:00.1', iommufd: 'iommufd0' }),
    ]);
    expect(d.smmus).toEqual([expect.objectContaining({ id: 'smmu', primaryBus: 'pci.3', accel: true })]);
    const s = replay(planImport('vm', d).commands)!;
    expect(s.buses.get('rpA')!.number).toBe(21);
  });

  it('takes the domain-level <iommufd>, which a hostdev may turn off', () => {
    const hostdev = (driver: string) =>
      `<hostdev mode='subsystem' type='pci'>${driver}<source><address domain='0' bus='1' slot='0' function='0'/></source></hostdev>`;
    const d = parseLibvirtXml(
      domain(`${hostdev('')}\n${hostdev("<driver iommufd='no'/>")}`, "<iommufd enabled='yes'/>\n"),
    );
    expect(d.devices.map((x) => x.iommufd)).toEqual(['iommufd0', undefined]);
  });

  it('reads emulated interfaces, virtio disks and xHCI controllers that have a PCI address; ignores the rest with a reason', () => {
    const d = parseLibvirtXml(
      domain(
        [
          "<interface type='network'><model type='virtio'/><address type='pci' bus='0' slot='2' function='0'/></interface>",
          "<interface type='network'><model type='e1000e'/><address type='pci' bus='0' slot='3' function='0'/></interface>",
          "<disk type='file' device='disk'><target dev='vda' bus='virtio'/><address type='pci' bus='0' slot='4' function='0'/></disk>",
          "<controller type='usb' model='qemu-xhci'><address type='pci' bus='0' slot='5' function='0'/></controller>",
          "<disk type='file' device='cdrom'><target dev='sda' bus='sata'/></disk>",
          "<interface type='network'><model type='virtio'/></interface>",
          "<iommu model='intel'/>",
          '<serial/>',
          "<memballoon model='virtio'><address type='pci' bus='0' slot='6' function='0'/></memballoon>",
          "<sound model='ich9'><address type='pci' bus='0' slot='7' function='0'/></sound>",
        ].join('\n'),
      ),
    );
    expect(d.devices.map((x) => [x.id, x.driver, x.slot])).toEqual([
      ['net0', 'virtio-net-pci', 2],
      ['net1', 'e1000e', 3],
      ['disk0', 'virtio-blk-pci', 4],
      ['ctl0', 'qemu-xhci', 5],
      ['balloon0', 'virtio-balloon-pci', 6],
    ]);
    expect(d.report.ignored.map((i) => i.text)).toEqual(['<disk>', '<interface>', '<iommu>', '<serial>', '<sound>']);
    expect(d.report.ignored[1]!.reason).toContain('libvirt picks its slot');
    expect(d.report.ignored[4]!.reason).toContain('slot stays free');
  });

  it('takes an <iommu> without pciBus as the machine SMMU on pcie.0', () => {
    const d = parseLibvirtXml(domain("<iommu model='smmuv3'/>"));
    expect(d.smmus).toEqual([expect.objectContaining({ id: 'iommu0', primaryBus: 'pcie.0' })]);
  });

  it('reports malformed XML and bad references at their line and column', () => {
    expect(refusal('<domain>\n  <memory>1</memory>\n  <devices>\n</domain>').at).toMatchObject({ line: 3 });
    expect(refusal('<domain><devices><foo a=1/></devices></domain>').code).toBe('IMPORT_SOURCE_MALFORMED');
    expect(refusal('').code).toBe('IMPORT_SOURCE_MALFORMED');
    expect(refusal(domain("<iommu model='smmuv3'><driver pciBus='7'/></iommu>")).at).toEqual({ line: 4, column: 1 });
    expect(refusal(domain(port(1, 9, 0))).message).toContain('no pci controller has index 9');
    expect(refusal("<domain><memory unit='parsecs'>1</memory></domain>").message).toContain('parsecs');
    expect(refusal(domain("<controller type='pci' index='1' model='pcie-switch-upstream-port'/>")).code).toBe(
      'IMPORT_NOT_SUPPORTED',
    );
  });

  it('writes what it cannot say as XML comments that never hold "--"', () => {
    const s = replay([
      { type: 'DefineVm', vmId: 'vm', its: false },
      { type: 'AttachDevice', deviceId: 'x--y', driver: 'edu--2', bus: 'pcie.0', slot: 3 },
    ])!;
    const text = writeLibvirtXml(s).text;
    expect(text).toContain('<!-- doorbell: its=off has no libvirt setting -->');
    expect(text).toContain('<!-- doorbell: edu-2 x-y at pcie.0 3.0 has no libvirt element -->');
    expect(() => parseLibvirtXml(text)).not.toThrow();
  });
});
