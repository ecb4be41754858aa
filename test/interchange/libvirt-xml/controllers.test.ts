// <controller type='pci'> by model: buses from controller indexes, libvirt's default busNr, the
// switch ports and bridges as Draft bridges, and valid but incomplete controllers refused with 422.

import { describe, expect, it } from 'vitest';
import { replay } from '../../../src/domain/topology/replay';
import { planImport } from '../../../src/interchange/draft';
import { parseLibvirtXml } from '../../../src/interchange/libvirt-xml/parse';
import { domain, pciAt, port, pxb, refusal } from './helpers';

const controller = (index: number, model: string, inner = '') =>
  `<controller type='pci' index='${index}' model='${model}'>${inner}</controller>`;

describe('pcie-root, pcie-expander-bus, pcie-root-port', () => {
  it('resolves <address bus=> and pciBus as controller indexes, not bus numbers', () => {
    const d = parseLibvirtXml(
      domain(
        [
          pxb(3, 20, 2),
          port(5, 3, 1, "<alias name='ua-rpA'/>"),
          `<hostdev mode='subsystem' type='pci'><driver iommufd='yes'/><source><address domain='0x0002' bus='0x81' slot='0x00' function='0x1'/></source>${pciAt(5, 0)}</hostdev>`,
          "<iommu model='smmuv3'><driver pciBus='3' accel='on' ats='on'/><alias name='ua-smmu'/></iommu>",
        ].join('\n'),
        // ACPI on: with acpi=off the guest would not see the pxb-pcie at all (planImport refuses).
        '<features><acpi/></features>\n',
      ),
    );
    expect(d.pxbs).toEqual([expect.objectContaining({ id: 'pci.3', busNr: 20, slot: 2 })]);
    expect(d.rootPorts).toEqual([expect.objectContaining({ id: 'rpA', bus: 'pci.3', slot: 1 })]);
    expect(d.devices).toEqual([
      expect.objectContaining({ id: 'hostdev0', bus: 'rpA', host: '0002:81:00.1', iommufd: 'iommufd0' }),
    ]);
    expect(d.smmus).toEqual([expect.objectContaining({ id: 'smmu', primaryBus: 'pci.3', accel: true })]);
    expect(replay(planImport('vm', d).commands)!.buses.get('rpA')!.number).toBe(21);
  });

  it('qemuDomainAddressFindNewBusNr: a pcie-expander-bus without busNr gets the lowest busNr minus 2 (pcie-expander-bus-aarch64: alone, 254)', () => {
    const alone = parseLibvirtXml(domain(controller(1, 'pcie-expander-bus', pciAt(0, 1))));
    expect(alone.pxbs[0]!.busNr).toBe(254);
    const below = parseLibvirtXml(domain(`${pxb(1, 200, 1)}\n${controller(2, 'pcie-expander-bus', pciAt(0, 2))}`));
    expect(below.pxbs.map((p) => p.busNr)).toEqual([200, 198]);
    expect(below.report.parts.find((p) => p.became.id === 'pci.2')!.notes.join()).toContain('198');
  });

  it('qemuDomainAddressFindNewBusNr: no busNr to pick when the lowest is 2 or less: 422, write busNr', () => {
    const e = refusal(domain(`${pxb(1, 2, 1)}\n${controller(2, 'pcie-expander-bus', pciAt(0, 2))}`));
    expect(e.code).toBe('IMPORT_NOT_SUPPORTED');
    expect(e.message).toContain('qemuDomainAddressFindNewBusNr');
  });

  it('a controller without <address> is valid XML libvirt places itself: 422 naming the rule, never malformed (pcie-expander-bus-aarch64.xml)', () => {
    const e = refusal(domain(controller(1, 'pcie-expander-bus', "<target busNr='254'/>")));
    expect(e.code).toBe('IMPORT_NOT_SUPPORTED');
    expect(e.message).toContain('qemuDomainAssignPCIAddresses');
    expect(e.message).toContain('virsh dumpxml');
    expect(refusal(domain(controller(1, 'pcie-root-port'))).code).toBe('IMPORT_NOT_SUPPORTED');
  });

  it('an address on a controller index nothing defines: libvirt adds the controller (iommufd-virt.xml): 422, never malformed', () => {
    const e = refusal(domain(port(1, 9, 0)));
    expect(e.code).toBe('IMPORT_NOT_SUPPORTED');
    expect(e.message).toContain("no <controller type='pci' index='9'>");
  });

  it('a pci controller without index= is numbered by libvirt: 422', () => {
    expect(refusal(domain(`<controller type='pci' model='pcie-root-port'>${pciAt(0, 1)}</controller>`)).code).toBe(
      'IMPORT_NOT_SUPPORTED',
    );
  });

  it('<pcihole64> (pcihole64-virt) is read and ignored: it sizes the 64-bit MMIO window, no bus number', () => {
    const d = parseLibvirtXml(domain(controller(0, 'pcie-root', "<pcihole64 unit='KiB'>536870912</pcihole64>")));
    expect(d.report.ignored).toContainEqual(
      expect.objectContaining({ text: '<pcihole64>', reason: expect.stringContaining('highmem-mmio-size') }),
    );
  });
});

describe('switches and bridges (qemuDomainPCIControllerSetDefaultModelName)', () => {
  it('become Draft bridges with the QEMU device of their model, on the bus their address names', () => {
    const d = parseLibvirtXml(
      domain(
        [
          port(1, 0, 1),
          controller(2, 'pcie-switch-upstream-port', `<model name='x3130-upstream'/>${pciAt(1, 0)}`),
          controller(3, 'pcie-switch-downstream-port', pciAt(2, 0)),
          controller(4, 'pcie-to-pci-bridge', pciAt(3, 0)),
          controller(5, 'pci-bridge', pciAt(4, 1)),
          `<interface type='user'><model type='e1000'/>${pciAt(5, 2)}</interface>`,
        ].join('\n'),
      ),
    );
    expect(d.bridges!.map((b) => [b.id, b.type, b.bus, b.slot])).toEqual([
      ['pci.2', 'x3130-upstream', 'pci.1', 0],
      ['pci.3', 'xio3130-downstream', 'pci.2', 0],
      ['pci.4', 'pcie-pci-bridge', 'pci.3', 0],
      ['pci.5', 'pci-bridge', 'pci.4', 1],
    ]);
    expect(d.devices).toEqual([expect.objectContaining({ driver: 'e1000', bus: 'pci.5', slot: 2 })]);
  });

  it('aarch64-traditional-pci: the pcie-to-pci-bridge libvirt adds behind pci.1, with pci-serial at slot 1 behind it', () => {
    const d = parseLibvirtXml(
      domain(
        [
          port(1, 0, 1),
          controller(2, 'pcie-to-pci-bridge', `<model name='pcie-pci-bridge'/>${pciAt(1, 0)}`),
          `<serial type='pty'><target type='pci-serial' port='0'><model name='pci-serial'/></target>${pciAt(2, 1)}</serial>`,
        ].join('\n'),
      ),
    );
    expect(d.bridges).toEqual([expect.objectContaining({ id: 'pci.2', type: 'pcie-pci-bridge', bus: 'pci.1' })]);
    expect(d.devices).toEqual([
      expect.objectContaining({ id: 'serial0', driver: 'pci-serial', bus: 'pci.2', slot: 1 }),
    ]);
  });

  it('a <model name> libvirt would not accept for the model is malformed (qemuValidateDomainDeviceDefControllerPCI)', () => {
    expect(
      refusal(
        domain(`${port(1, 0, 1)}\n${controller(2, 'pci-bridge', `<model name='x3130-upstream'/>${pciAt(1, 0)}`)}`),
      ).code,
    ).toBe('IMPORT_SOURCE_MALFORMED');
  });

  it('other pci controllers (dmi-to-pci-bridge in aarch64-virtio-pci-manual-addresses) own a bus: refused with 422, never ignored', () => {
    const e = refusal(domain(controller(1, 'dmi-to-pci-bridge', `<model name='i82801b11-bridge'/>${pciAt(0, 1)}`)));
    expect(e.code).toBe('IMPORT_NOT_SUPPORTED');
    expect(e.message).toContain('dmi-to-pci-bridge');
  });
});
