// The pictures of a VM with a virtio-iommu: the topology picture shows it and what it covers (and
// a bypassing pxb-pcie), the route picture names it. Drawn from what the API returns.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolutionPicture } from '../../src/pictures/resolution-picture';
import type { ResolutionView } from '../../src/pictures/resolution-view';
import { topologyPicture } from '../../src/pictures/topology-picture';
import type { VmView } from '../../src/pictures/topology-view';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { command } from '../helpers/topology';
import { expectWellFormedPicture, savePicture, visibleText, withAttribute } from './svg-inspect';

let t: TestApp;
let vm: VmView;
let delivered: ResolutionView;
let faulted: ResolutionView;
beforeAll(async () => {
  t = await startTestApp();
  // The worked example plus a pxb-pcie (bus_nr 16) with bypass_iommu=on and a device behind it.
  await command(t, 'post', '/v1/vms', { id: 'pic', hostItsBase: '0x202100000' });
  await command(t, 'post', '/v1/vms/pic/devices', { id: 'viommu', driver: 'virtio-iommu-pci', bus: 'pcie.0', slot: 1 });
  await command(t, 'post', '/v1/vms/pic/buses', {
    id: 'rp1',
    type: 'pcie-root-port',
    bus: 'pcie.0',
    secondaryBusNr: 1,
  });
  await command(t, 'post', '/v1/vms/pic/devices', {
    id: 'hostdev0',
    driver: 'vfio-pci',
    bus: 'rp1',
    slot: 0,
    host: '0000:75:00.1',
  });
  await command(t, 'post', '/v1/vms/pic/buses', { id: 'pcie.1', type: 'pxb-pcie', busNr: 16, bypassIommu: true });
  await command(t, 'post', '/v1/vms/pic/buses', {
    id: 'rp2',
    type: 'pcie-root-port',
    bus: 'pcie.1',
    secondaryBusNr: 17,
  });
  await command(t, 'post', '/v1/vms/pic/devices', { id: 'net1', driver: 'e1000e', bus: 'rp2', slot: 0 });
  vm = (await t.http.get('/v1/vms/pic').expect(200)).body as VmView;
  const resolve = async (address: string) =>
    (await t.http.post('/v1/vms/pic/msi-resolutions').send({ device: 'hostdev0', address, data: '0x0' }).expect(201))
      .body as ResolutionView;
  delivered = await resolve('0x8090040');
  faulted = await resolve('0xfffff040');
});
afterAll(async () => t.close());

describe('pictures with a virtio-iommu', () => {
  it('topology: the virtio-iommu band over pcie.0 with its MSI region and what it covers; the bypassing pxb says so', () => {
    const svg = topologyPicture(vm);
    savePicture('topology-virtio-iommu.svg', svg);
    const doc = expectWellFormedPicture(svg);
    const [band] = withAttribute(doc, 'data-kind', 'virtio-iommu');
    expect(band!.getAttribute('data-id')).toBe('viommu');
    expect(band!.getAttribute('data-covers')).toBe('pcie.0 rp1');
    // ITS: the region is [0x08090000, 0x0809ffff].
    expect(visibleText(band!)).toContain('MSI region 0x8090000-0x809ffff: identity');
    const [bypass] = withAttribute(doc, 'data-kind', 'iommu-bypass');
    expect(visibleText(bypass!)).toContain('bypass_iommu=on\nnot translated by viommu');
    expect(withAttribute(doc, 'data-kind', 'no-smmu')).toEqual([]);
    const net1 = withAttribute(doc, 'data-id', 'net1')[0]!;
    expect(visibleText(net1)).toContain('no vIOMMU');
    expect(doc.getElementsByTagName('desc')[0]!.textContent).toContain('virtio-iommu viommu translates hostdev0');
  });

  it('route: the address-space row names the virtio-iommu, the stage-1 row its MSI region identity', () => {
    const svg = resolutionPicture(delivered);
    savePicture('route-virtio-iommu.svg', svg);
    const text = visibleText(expectWellFormedPicture(svg));
    expect(text).toContain('virtio-iommu viommu');
    expect(text).toContain('viommu: MSI region, identity');
    expect(text).toContain('{0x8090040, 0x0, devid 0x100}');
  });

  it('route: a virtio-iommu fault is drawn where the MSI is lost', () => {
    const text = visibleText(expectWellFormedPicture(resolutionPicture(faulted)));
    expect(text).toContain('FAULT\nviommu: R_MAPPING at 0xfffff040\nno mapping for 0xfffff040');
    expect(text).toContain('queued on the event virtqueue');
  });
});
