// Real records to draw: the scenarios of the domain reference §5 built and resolved through the
// running service (test/helpers), so the pictures are tested on what the API returns today and
// not on a hand-made copy that could drift from it.

import { startTestApp } from '../helpers/test-app';
import { acceleratedS10, command, emulatedBaseline } from '../helpers/topology';
import { resolveMsi as resolveJson } from '../helpers/resolve';
import type { ResolutionView } from '../../src/pictures/resolution-view';
import type { VmView } from '../../src/pictures/topology-view';

export interface LiveRecords {
  /** S10 (accel, R9) resolved under each semantics. */
  s10: Record<'pre-fix' | 'address-space' | 'upstream', ResolutionView>;
  /** S11: accel with 1 GiB RAM, pre-fix: nothing at the gIOVA, no route. */
  s11PreFix: ResolutionView;
  /** S13: accel, vSTE abort: route present, hardware path blocked. */
  s13: ResolutionView;
  /** S2: emulated stage 1 to the vITS doorbell, delivered. */
  s2: ResolutionView;
  /** S15: F_TRANSLATION at stage 1. */
  s15: ResolutionView;
  /** S23: C_BAD_STREAMID, a configuration fault. */
  s23: ResolutionView;
  /** GET /v1/vms/s10 and a larger VM: pcie.0 with an emulated SMMU, two pxb-pcie (one accel), root ports, devices. */
  vmS10: VmView;
  vmMixed: VmView;
}

/** The API's JSON, read as the picture reads it (the helper types semantics as a plain string). */
const resolveMsi = async (...args: Parameters<typeof resolveJson>) =>
  (await resolveJson(...args)) as unknown as ResolutionView;

export async function buildLiveRecords(): Promise<LiveRecords> {
  const t = await startTestApp();
  try {
    const vector0 = { device: 'hostdev0', vector: 0 };
    await acceleratedS10(t, 's10');
    const s10 = {
      'pre-fix': await resolveMsi(t, 's10', { ...vector0, semantics: 'pre-fix' }),
      'address-space': await resolveMsi(t, 's10', { ...vector0, semantics: 'address-space' }),
      upstream: await resolveMsi(t, 's10', vector0),
    };

    await acceleratedS10(t, 's11', { ramSize: '0x40000000' });
    const s11PreFix = await resolveMsi(t, 's11', { ...vector0, semantics: 'pre-fix' });

    await acceleratedS10(t, 's13');
    await command(t, 'put', '/v1/vms/s13/devices/hostdev0/ste', { config: 'abort' });
    const s13 = await resolveMsi(t, 's13', vector0);

    await emulatedBaseline(t, 's2');
    await command(t, 'post', '/v1/vms/s2/devices/net0/mappings', {
      stage: 1,
      iova: '0xFFFFF000',
      output: '0x08090000',
      size: '0x1000',
    });
    await command(t, 'put', '/v1/vms/s2/devices/net0/msi-vectors/0', { address: '0xFFFFF040', data: '0x0' });
    const s2 = await resolveMsi(t, 's2', { device: 'net0', vector: 0 });

    await command(t, 'put', '/v1/vms/s2/devices/net0/msi-vectors/1', { address: '0xFFFFE040', data: '0x1' });
    const s15 = await resolveMsi(t, 's2', { device: 'net0', vector: 1 });
    await command(t, 'put', '/v1/vms/s2/smmus/smmuv3.0/guest-state', { streamTableLog2Size: 4 });
    const s23 = await resolveMsi(t, 's2', { device: 'net0', vector: 0 });

    await command(t, 'post', '/v1/vms', { id: 'mixed', ramSize: '0x100000000', hostItsBase: '0x202100000' });
    await command(t, 'post', '/v1/vms/mixed/smmus', { id: 'smmuv3.0', primaryBus: 'pcie.0' });
    await command(t, 'post', '/v1/vms/mixed/devices', { id: 'net0', driver: 'virtio-net-pci', bus: 'pcie.0', slot: 2 });
    await command(t, 'post', '/v1/vms/mixed/buses', { id: 'pcie.1', type: 'pxb-pcie', busNr: 1, bus: 'pcie.0' });
    await command(t, 'post', '/v1/vms/mixed/smmus', { id: 'smmuv3.1', primaryBus: 'pcie.1', accel: true, oas: 48 });
    await command(t, 'post', '/v1/vms/mixed/buses', {
      id: 'pcie.port1',
      type: 'pcie-root-port',
      bus: 'pcie.1',
      secondaryBusNr: 2,
    });
    await command(t, 'post', '/v1/vms/mixed/buses', {
      id: 'pcie.port2',
      type: 'pcie-root-port',
      bus: 'pcie.1',
      secondaryBusNr: 3,
    });
    await command(t, 'post', '/v1/vms/mixed/devices', {
      id: 'hostdev0',
      driver: 'vfio-pci',
      bus: 'pcie.port1',
      slot: 0,
      host: '0019:06:00.0',
      iommufd: 'iommufd0',
    });
    await command(t, 'post', '/v1/vms/mixed/devices', {
      id: 'hostdev1',
      driver: 'vfio-pci',
      bus: 'pcie.port2',
      slot: 0,
      host: '0019:07:00.0',
      iommufd: 'iommufd0',
    });
    await command(t, 'post', '/v1/vms/mixed/buses', { id: 'pcie.8', type: 'pxb-pcie', busNr: 8, bus: 'pcie.0' });
    // A pxb-pcie takes bridges only (QEMU do_pci_register_device): hostdev2 sits behind a root port.
    await command(t, 'post', '/v1/vms/mixed/buses', {
      id: 'pcie.port8',
      type: 'pcie-root-port',
      bus: 'pcie.8',
      secondaryBusNr: 9,
    });
    await command(t, 'post', '/v1/vms/mixed/devices', {
      id: 'hostdev2',
      driver: 'vfio-pci',
      bus: 'pcie.port8',
      slot: 0,
      host: '0002:01:00.0',
      iommufd: 'iommufd0',
    });

    const vm = async (id: string) => (await t.http.get(`/v1/vms/${id}`).expect(200)).body as VmView;
    return { s10, s11PreFix, s13, s2, s15, s23, vmS10: await vm('s10'), vmMixed: await vm('mixed') };
  } finally {
    await t.close();
  }
}
