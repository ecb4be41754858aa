// Switch ports and PCI bridges through HTTP: POST /v1/vms/{vm}/buses takes them with bus, slot,
// function and secondaryBusNr; the bus shows them; a device behind a PCIe-to-PCI bridge shows the
// requester id QEMU translates it by, and a resolution's trail names the alias. Expected values
// are derived by hand in the comments.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../helpers/test-app';
import { command } from '../../helpers/topology';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
  // pcie.0 (emulated SMMU) -> 00:01.0 rp (bus 1) -> 01:00.0 ppb (pcie-pci-bridge, bus 2) -> 02:03.0 e1
  await command(t, 'post', '/v1/vms', { id: 'br', ramSize: '0x100000000', kvm: false });
  await command(t, 'post', '/v1/vms/br/smmus', { id: 'smmuv3.0', primaryBus: 'pcie.0' });
  await command(t, 'post', '/v1/vms/br/buses', { id: 'rp', type: 'pcie-root-port', bus: 'pcie.0', secondaryBusNr: 1 });
});
afterAll(async () => t.close());

describe('switch ports and bridges through HTTP', () => {
  it('adds a pcie-pci-bridge with its slot and secondary bus, and shows them', async () => {
    const response = await t.http
      .post('/v1/vms/br/buses')
      .send({ id: 'ppb', type: 'pcie-pci-bridge', bus: 'rp', slot: 0, secondaryBusNr: 2 })
      .expect(201);
    expect(response.body).toMatchObject({
      id: 'ppb',
      type: 'pcie-pci-bridge',
      busNumber: 2,
      bus: 'rp',
      rootBus: 'pcie.0',
      slot: 0,
      function: 0,
      conventional: true,
    });
    // A root port shows no slot: the model does not hold its place (unchanged representation).
    const rp = await t.http.get('/v1/vms/br/buses/rp').expect(200);
    expect(rp.body).not.toHaveProperty('slot');
    expect(rp.body).not.toHaveProperty('conventional');
  });

  it('PCI_REQ_ID_SECONDARY_BUS: e1 at 02:03.0 (own id 0x218) is translated by (bus 2, devfn 0) = 0x200', async () => {
    const response = await t.http
      .post('/v1/vms/br/devices')
      .send({ id: 'e1', driver: 'e1000', bus: 'ppb', slot: 3 })
      .expect(201);
    expect(response.body).toMatchObject({
      busNumber: 2,
      slot: 3,
      streamId: '0x200',
      devid: '0x200',
      requesterId: { id: '0x200', ownId: '0x218', bridge: 'ppb', rule: 'secondary-bus' },
    });
    const resolution = await t.http
      .post('/v1/vms/br/msi-resolutions')
      .send({ device: 'e1', address: '0x8090040', data: '0x0' })
      .expect(201);
    expect(resolution.body.streamId).toBe('0x200');
    const place = (resolution.body.trail as { action: string; output: Record<string, unknown> }[]).find((s) =>
      s.action.startsWith('place the device'),
    )!;
    expect(place.action).toContain('PCI_REQ_ID_SECONDARY_BUS');
    expect(place.output).toMatchObject({ streamId: '0x200', requesterAlias: { bridge: 'ppb', rule: 'secondary-bus' } });
  });

  it('refuses slot 0 of the bridge bus (SHPC) and an endpoint on a pxb-pcie, with 422 and the field', async () => {
    const shpc = await t.http
      .post('/v1/vms/br/devices')
      .send({ id: 'e0', driver: 'e1000', bus: 'ppb', slot: 0 })
      .expect(422);
    expect(shpc.body).toMatchObject({ code: 'SLOT_NOT_VALID' });
    expect(shpc.body.errors).toContainEqual(expect.objectContaining({ pointer: '/slot' }));
    await command(t, 'post', '/v1/vms/br/buses', { id: 'pcie.1', type: 'pxb-pcie', busNr: 8 });
    const pxb = await t.http
      .post('/v1/vms/br/devices')
      .send({ id: 'net1', driver: 'virtio-net-pci', bus: 'pcie.1', slot: 0 })
      .expect(422);
    expect(pxb.body).toMatchObject({ code: 'BUS_TAKES_BRIDGES_ONLY' });
    expect(pxb.body.detail).toContain('Only PCI/PCIe bridges can be plugged into pxb-pcie');
  });

  it('a switch: upstream port on the root port of pcie.1, a downstream port at slot 1 of it', async () => {
    await command(t, 'post', '/v1/vms/br/buses', {
      id: 'rq',
      type: 'pcie-root-port',
      bus: 'pcie.1',
      secondaryBusNr: 9,
    });
    await command(t, 'post', '/v1/vms/br/buses', {
      id: 'up',
      type: 'x3130-upstream',
      bus: 'rq',
      slot: 0,
      secondaryBusNr: 10,
    });
    const dn = await t.http
      .post('/v1/vms/br/buses')
      .send({ id: 'dn', type: 'xio3130-downstream', bus: 'up', slot: 1, secondaryBusNr: 11 })
      .expect(201);
    expect(dn.body).toMatchObject({ type: 'xio3130-downstream', busNumber: 11, rootBus: 'pcie.1', slot: 1 });
    // A device behind the downstream port keeps its own id: 11 << 8 = 0xb00, no requesterId.
    const device = await t.http
      .post('/v1/vms/br/devices')
      .send({ id: 'nvme0', driver: 'nvme', bus: 'dn', slot: 0 })
      .expect(201);
    expect(device.body.streamId).toBe('0xb00');
    expect(device.body).not.toHaveProperty('requesterId');
  });
});
