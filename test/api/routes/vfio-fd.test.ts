// A vfio-pci QEMU gets as an open file descriptor (hw/vfio/pci.c: host=, sysfsdev= or fd=; libvirt
// passes every iommufd hostdev so, qemu_command.c qemuBuildPCIHostdevDevProps): the host address
// may be unknown, and the device is still placed, numbered and resolved like any other.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../helpers/test-app';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
  await t.http
    .post('/v1/vms')
    .send({ id: 'fd', qemu: { version: '11.0.0' } })
    .expect(201);
  await t.http.post('/v1/vms/fd/buses').send({ id: 'rp', type: 'pcie-root-port', bus: 'pcie.0', secondaryBusNr: 1 });
});
afterAll(async () => t.close());

describe('vfio-pci passed by file descriptor (hostFd)', () => {
  it('is attached without a host address, and shows host null and hostFd true', async () => {
    const response = await t.http
      .post('/v1/vms/fd/devices')
      .send({ id: 'hostdev0', driver: 'vfio-pci', bus: 'rp', slot: 0, hostFd: true, iommufd: 'iommufd0' })
      .expect(201);
    // Behind root port rp (secondary bus 1), slot 0: stream id 1 << 8 = 0x100.
    expect(response.body).toMatchObject({ host: null, hostFd: true, streamId: '0x100' });
  });

  it('without host and without hostFd is refused at /host, as QEMU refuses "No provided host device"', async () => {
    const response = await t.http
      .post('/v1/vms/fd/devices')
      .send({ id: 'hostdev1', driver: 'vfio-pci', bus: 'pcie.0', slot: 3 })
      .expect(400);
    expect(response.body.code).toBe('FIELD_REQUIRED');
    expect(response.body.errors).toContainEqual(expect.objectContaining({ pointer: '/host' }));
  });

  it('hostFd on an emulated device is refused at /hostFd', async () => {
    const response = await t.http
      .post('/v1/vms/fd/devices')
      .send({ id: 'nic', driver: 'virtio-net-pci', bus: 'pcie.0', slot: 4, hostFd: true })
      .expect(400);
    expect(response.body.code).toBe('FIELD_NOT_ALLOWED');
    expect(response.body.errors).toContainEqual(expect.objectContaining({ pointer: '/hostFd' }));
  });

  it('a libvirt command line with "fd" imports, and exports back with fd=', async () => {
    const source = `qemu-system-aarch64 -machine virt,accel=kvm -nodefaults \\
      -object '{"qom-type":"iommufd","id":"iommufd0","fd":"@iommufd-fd@"}' \\
      -device '{"driver":"vfio-pci","id":"hostdev0","iommufd":"iommufd0","fd":"@hostdev-hostdev0-fd@","bus":"pcie.0","addr":"0x1"}'`;
    const imported = await t.http.post('/v1/vm-imports').send({ vm: 'fd-import', format: 'qemu-cmdline', source });
    expect(imported.status, imported.body.detail).toBe(201);
    expect(imported.body.devices[0]).toMatchObject({ id: 'hostdev0', host: null, hostFd: true, streamId: '0x8' });
    const exported = await t.http.get('/v1/vms/fd-import/qemu-cmdline').expect(200);
    expect(exported.text).toContain('fd=@hostdev-hostdev0-fd@');
  });
});
