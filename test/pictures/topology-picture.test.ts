// The topology picture of a VM (contract, "Pictures": GET /v1/vms/{vm}/topology.svg), drawn from
// representations the running service returns.

import { beforeAll, describe, expect, it } from 'vitest';
import { topologyPicture } from '../../src/pictures/topology-picture';
import type { VmView } from '../../src/pictures/topology-view';
import { buildLiveRecords, type LiveRecords } from './live-records';
import { expectWellFormedPicture, savePicture, visibleText, withAttribute } from './svg-inspect';

let records: LiveRecords;
beforeAll(async () => {
  records = await buildLiveRecords();
});

const kinds = (doc: ReturnType<typeof expectWellFormedPicture>, kind: string) => withAttribute(doc, 'data-kind', kind);
const ids = (elements: { getAttribute(name: string): string | null }[]) =>
  elements.map((e) => e.getAttribute('data-id'));
const numberAttr = (e: { getAttribute(name: string): string | null }, name: string) => Number(e.getAttribute(name));

describe('topology picture', () => {
  it('S10: pcie.0, the pxb-pcie pcie.1 under an accel SMMU that covers it and its root port, the device with SID 0x200, the ITS', () => {
    const svg = topologyPicture(records.vmS10);
    savePicture('topology-s10.svg', svg);
    const doc = expectWellFormedPicture(svg);
    expect(ids(kinds(doc, 'root-complex'))).toEqual(['pcie.0']);
    expect(ids(kinds(doc, 'pxb-pcie'))).toEqual(['pcie.1']);
    expect(ids(kinds(doc, 'root-port'))).toEqual(['pcie.port1']);
    const [smmu] = kinds(doc, 'smmu');
    expect(smmu!.getAttribute('data-id')).toBe('smmuv3.0');
    expect(smmu!.getAttribute('data-accel')).toBe('true');
    expect(smmu!.getAttribute('data-covers')).toBe('pcie.1 pcie.port1');
    expect(visibleText(smmu!)).toContain('ACCEL');
    // pcie.0 has no SMMU in S10: said so, not left blank.
    expect(ids(kinds(doc, 'no-smmu'))).toEqual(['pcie.0']);
    const [device] = kinds(doc, 'device');
    expect(device!.getAttribute('data-stream-id')).toBe('0x200');
    expect(visibleText(device!)).toContain('SID 0x200 · 02:00.0');
    expect(visibleText(device!)).toContain('host 0019:06:00.0');
    const [its] = kinds(doc, 'its');
    expect(visibleText(its!)).toContain('GITS_TRANSLATER 0x8090040');
    expect(visibleText(its!)).toContain('host ITS 0x202100000');
    expect(kinds(doc, 'host-bridge-rail')).toHaveLength(1);
  });

  it('a mixed VM: each SMMU band spans exactly the buses it covers, accel only where declared, every device once', () => {
    const vm = records.vmMixed;
    const svg = topologyPicture(vm);
    savePicture('topology-mixed.svg', svg);
    const doc = expectWellFormedPicture(svg);
    expect(ids(kinds(doc, 'pxb-pcie'))).toEqual(['pcie.1', 'pcie.8']);
    expect(
      kinds(doc, 'smmu').map((s) => [
        s.getAttribute('data-id'),
        s.getAttribute('data-accel'),
        s.getAttribute('data-covers'),
      ]),
    ).toEqual([
      ['smmuv3.0', 'false', 'pcie.0'],
      ['smmuv3.1', 'true', 'pcie.1 pcie.port1 pcie.port2'],
    ]);
    expect(ids(kinds(doc, 'no-smmu'))).toEqual(['pcie.8']);
    expect(kinds(doc, 'device').map((d) => [d.getAttribute('data-id'), d.getAttribute('data-stream-id')])).toEqual([
      ['net0', '0x10'],
      ['hostdev0', '0x200'],
      ['hostdev1', '0x300'],
      // Behind pcie.port8, whose secondary bus is 9: 9 << 8 | 0 = 0x900 (contract: stream id).
      ['hostdev2', '0x900'],
    ]);
    // Geometry: each device box lies inside the horizontal span of the SMMU band (or no-SMMU band) of its root bus.
    const bandOf = (rootBus: string) =>
      withAttribute(doc, 'data-root-bus', rootBus)[0]!.getElementsByTagName('rect')[1]!;
    for (const d of vm.devices) {
      const band = bandOf(d.rootBus);
      const box = withAttribute(doc, 'data-id', d.id)[0]!.getElementsByTagName('rect')[0]!;
      expect(numberAttr(box, 'x'), d.id).toBeGreaterThanOrEqual(numberAttr(band, 'x'));
      expect(numberAttr(box, 'x') + numberAttr(box, 'width'), d.id).toBeLessThanOrEqual(
        numberAttr(band, 'x') + numberAttr(band, 'width'),
      );
    }
  });

  it('a board without an ITS shows GICv2m, and a representation without pcie.0 listed still gets its root complex', () => {
    const vm: VmView = {
      id: 'v2m',
      version: 1,
      gicVersion: 2,
      its: false,
      msiController: 'gicv2m',
      msiGpa: '0x8020040',
      buses: [],
      smmus: [],
      devices: [],
    };
    const doc = expectWellFormedPicture(topologyPicture(vm));
    expect(ids(kinds(doc, 'root-complex'))).toEqual(['pcie.0']);
    expect(kinds(doc, 'its')).toEqual([]);
    expect(visibleText(doc)).toContain('GICv2m (no ITS)');
  });

  it('escapes hostile ids and a hostile package name', () => {
    const hostile = `<script>&"'`;
    const base = records.vmS10;
    const vm: VmView = {
      ...base,
      id: `vm${hostile}`,
      qemu: { version: '10.1.0', package: hostile, behaviour: 'address-space' },
      smmus: base.smmus.map((s) => ({ ...s, id: `smmu${hostile}` })),
      devices: base.devices.map((d) => ({ ...d, id: `dev${hostile}`, driver: hostile, host: hostile })),
    };
    const svg = topologyPicture(vm);
    expect(svg).not.toContain('<script');
    const doc = expectWellFormedPicture(svg);
    expect(doc.getElementsByTagName('title')[0]!.textContent).toBe(
      `Topology of VM vm${hostile} at version ${base.version}`,
    );
    expect(ids(kinds(doc, 'device'))).toEqual([`dev${hostile}`]);
    expect(visibleText(doc)).toContain(`QEMU 10.1.0 ${hostile} (address-space)`);
  });
});
