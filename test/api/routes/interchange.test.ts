// Import and export over HTTP: the two example topologies (B1, B2 in test/fixtures/import/) give the
// device stream id 0x200; the same topology from both formats is the same VM; every malformed or
// rule-breaking source is refused with its status and a pointer into the source, and appends
// nothing; exports answer with the VM's ETag and 304 on If-None-Match.

import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventCount, startTestApp, type TestApp } from '../../helpers/test-app';

/**
 * B1: two pxb-pcie buses (bus_nr 1 and 8), each with an accelerated SMMUv3 and a root port with one
 * VFIO function (dev0, dev1). B2: the first half of it as a libvirt domain (hostdev0 behind
 * controller 2). Written for these tests in test/fixtures/import/.
 */
const fixture = (name: string) => readFileSync(new URL(`../../fixtures/import/${name}`, import.meta.url), 'utf8');
const B1 = fixture('two-accel-smmus.cmdline');
const B2 = fixture('one-accel-smmu.xml');

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => t.close());

// biome-ignore lint/suspicious/noExplicitAny: response bodies, read field by field as a client would
type Json = Record<string, any>;

const importVm = (body: Json, headers: Record<string, string> = {}) =>
  t.http.post('/v1/vm-imports').set(headers).send(body);

const deviceOf = (vm: Json, id: string) => (vm.devices as Json[]).find((d) => d.id === id)!;

/** The topology without ids that depend on the format (libvirt names controllers pci.N). */
function shape(vm: Json) {
  const busNumber = new Map((vm.buses as Json[]).map((b) => [b.id, b.busNumber ?? b.number]));
  return {
    ramSize: vm.ramSize,
    gicVersion: vm.gicVersion,
    its: vm.its,
    kvm: vm.kvm,
    buses: (vm.buses as Json[]).map((b) => [b.type, b.busNumber ?? b.number]).sort(),
    smmus: (vm.smmus as Json[]).map((s) => [busNumber.get(s.primaryBus), s.accel, s.stage, s.oas]).sort(),
    devices: (vm.devices as Json[])
      .map((d) => [d.driver, d.host, d.iommufd, d.streamId, d.slot, d.function])
      .sort((a, b) => String(a).localeCompare(String(b))),
  };
}

describe('POST /v1/vm-imports', () => {
  it('imports the B1 command line: dev0 gets stream id 0x200 and dev1 0x900, in one append marked importedFrom', async () => {
    const before = await eventCount(t);
    const response = await importVm({ vm: 'b1', format: 'qemu-cmdline', source: B1 }).expect(201);
    expect(response.headers.location).toBe('/v1/vms/b1');
    expect(response.headers.etag).toBe(`"${response.body.version}"`);
    expect(deviceOf(response.body, 'dev0').streamId).toBe('0x200');
    expect(deviceOf(response.body, 'dev1').streamId).toBe('0x900');
    expect(response.body.events).toHaveLength(response.body.version);
    expect(await eventCount(t)).toBe(before + response.body.version);
    const positions = (response.body.events as Json[]).map((e) => e.position);
    expect(positions).toEqual(positions.map((_, i) => before + 1 + i));

    const report = response.body.report;
    expect(report.format).toBe('qemu-cmdline');
    expect(report.busNumbers).toContainEqual(
      expect.objectContaining({ bus: 'pcie.port1', busNumber: 2, rule: 'firmware' }),
    );
    expect(report.busNumbers).toContainEqual(
      expect.objectContaining({ bus: 'pcie.port2', busNumber: 9, rule: 'firmware' }),
    );
    const ignored = (report.ignored as Json[]).map((i) => i.text);
    expect(ignored).toEqual(
      expect.arrayContaining(['-cpu host', '-smp 4', '-drive file=image.qcow2,if=none,id=fs', '-nographic']),
    );
    expect(ignored).toContain('-device virtio-blk-device,drive=fs');

    const events = await t.http.get('/v1/vms/b1/events').expect(200);
    // The line's program, qemu-system-aarch64, is kept as the binary it names (a name, not a build).
    expect(report.emulator).toMatchObject({ binary: 'qemu-system-aarch64', from: 'program', at: { token: 0 } });
    for (const event of events.body.results as Json[])
      expect(event.metadata.importedFrom).toEqual({
        format: 'qemu-cmdline',
        sha256: report.sha256,
        emulator: 'qemu-system-aarch64',
      });
    expect(report.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('imports the B2 libvirt domain: the hostdev gets stream id 0x200', async () => {
    const response = await importVm({ vm: 'b2', format: 'libvirt-xml', source: B2 }).expect(201);
    expect(deviceOf(response.body, 'hostdev0')).toMatchObject({
      streamId: '0x200',
      bus: 'pci.2',
      host: '0019:06:00.0',
      iommufd: 'iommufd0',
    });
    expect(response.body.smmus).toEqual([
      expect.objectContaining({ id: 'iommu0', primaryBus: 'pci.1', accel: true, oas: 48 }),
    ]);
    expect(response.body.report.busNumbers).toContainEqual(
      expect.objectContaining({ bus: 'pci.2', busNumber: 2, rule: 'firmware' }),
    );
  });

  it('gives the same VM from a command line and from a domain that describe the same topology', async () => {
    const cmdline = `qemu-system-aarch64 -machine virt,gic-version=3,accel=kvm -nodefaults -m 16G \\
      -object iommufd,id=iommufd0 \\
      -device pxb-pcie,id=pcie.1,bus_nr=1,bus=pcie.0,addr=0x1 \\
      -device arm-smmuv3,primary-bus=pcie.1,id=smmuv3.0,accel=on,oas=48 \\
      -device pcie-root-port,id=pcie.port1,bus=pcie.1,chassis=1,addr=0x0 \\
      -device vfio-pci,host=0019:06:00.0,bus=pcie.port1,iommufd=iommufd0,id=dev0`;
    const fromQemu = await importVm({ vm: 'same-q', format: 'qemu-cmdline', source: cmdline }).expect(201);
    const fromLibvirt = await importVm({ vm: 'same-l', format: 'libvirt-xml', source: B2 }).expect(201);
    expect(shape(fromLibvirt.body)).toEqual(shape(fromQemu.body));
  });

  it('reads JSON -device, ,, escapes, quoting and line continuations as a shell and QEMU do', async () => {
    const source = [
      "qemu-system-aarch64 -machine 'virt,gic-version=3,accel=kvm' -m 4096 \\",
      '  -object \'{"qom-type":"iommufd","id":"iommufd0"}\' \\',
      '  -device \'{"driver":"pxb-pcie","id":"pcie.1","bus_nr":4,"bus":"pcie.0"}\' \\',
      '  -device \'{"driver":"arm-smmuv3","primary-bus":"pcie.1","id":"smmuv3.0","accel":true}\' \\',
      '  -device "pcie-root-port,id=rp1,bus=pcie.1,chassis=1,addr=0x3" \\',
      '  -device pcie-root-port,id=rp0,bus=pcie.1,chassis=2,addr=0x1,bus-reserve=2 \\',
      '  -device \'{"driver":"vfio-pci","host":"0019:06:00.0","bus":"rp1","iommufd":"iommufd0","id":"d1"}\' \\',
      '  -device vfio-pci,host=06:00.1,bus=rp0,iommufd=iommufd0,id=d0,x-label=a,,b',
    ].join('\n');
    const response = await importVm({ vm: 'syntax', format: 'qemu-cmdline', source }).expect(201);
    expect(response.body.ramSize).toBe('0x100000000');
    // rp0 (slot 1) is numbered first: 4 + 1 = 5; its bus-reserve=2 keeps 6 and 7; rp1 gets 8.
    expect(deviceOf(response.body, 'd0').streamId).toBe('0x500');
    expect(deviceOf(response.body, 'd1').streamId).toBe('0x800');
    expect(deviceOf(response.body, 'd0').host).toBe('0000:06:00.1');
    expect(response.body.report.ignored).toContainEqual(
      expect.objectContaining({ text: '-device vfio-pci x-label=a,b' }),
    );
  });

  it('takes secondary bus numbers from busNumbers and says so', async () => {
    const source = `qemu-system-aarch64 -machine virt,accel=kvm -device pcie-root-port,id=rp,bus=pcie.0,chassis=1 -device e1000e,bus=rp,id=nic`;
    const response = await importVm({ vm: 'given', format: 'qemu-cmdline', source, busNumbers: { rp: 7 } }).expect(201);
    expect(deviceOf(response.body, 'nic').streamId).toBe('0x700');
    expect(response.body.report.busNumbers).toEqual([
      expect.objectContaining({ bus: 'rp', busNumber: 7, rule: 'busNumbers' }),
    ]);
  });

  it('replays an import under the same Idempotency-Key without appending again', async () => {
    const body = { vm: 'idem', format: 'libvirt-xml', source: B2 };
    const first = await importVm(body, { 'idempotency-key': 'import-1' }).expect(201);
    const count = await eventCount(t);
    const again = await importVm(body, { 'idempotency-key': 'import-1' }).expect(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toEqual(first.body);
    expect(await eventCount(t)).toBe(count);
  });

  const r12 = `qemu-system-aarch64 -machine virt,accel=kvm \\
  -device pxb-pcie,id=pcie.1,bus_nr=1 \\
  -device arm-smmuv3,primary-bus=pcie.1,id=smmuv3.0,accel=on \\
  -device pcie-root-port,id=rp,bus=pcie.1,chassis=1 \\
  -device virtio-net-pci,bus=rp,id=net0`;
  const r12Xml = B2.replace(
    '<iommu ',
    "<interface type='user'><model type='virtio'/>\n      <address type='pci' bus='0x02' slot='0x00' function='0x1'/></interface>\n    <iommu ",
  );
  const refused: [string, Json, number, string, Json][] = [
    [
      'an unclosed quote',
      { format: 'qemu-cmdline', source: "qemu-system-aarch64 -machine virt -device 'vfio-pci,id=x" },
      400,
      'IMPORT_SOURCE_MALFORMED',
      { token: 4 },
    ],
    [
      'malformed -device JSON',
      { format: 'qemu-cmdline', source: 'qemu-system-aarch64 -machine virt -device \'{"driver":\'' },
      400,
      'IMPORT_SOURCE_MALFORMED',
      { token: 4 },
    ],
    [
      'a bad addr',
      { format: 'qemu-cmdline', source: 'qemu-system-aarch64 -machine virt -device e1000e,addr=0x40' },
      400,
      'IMPORT_SOURCE_MALFORMED',
      { token: 4 },
    ],
    [
      'an unknown bus',
      { format: 'qemu-cmdline', source: 'qemu-system-aarch64 -machine virt -device e1000e,bus=pcie.7' },
      400,
      'IMPORT_SOURCE_MALFORMED',
      { token: 3 },
    ],
    [
      'an R12 violation on the command line',
      { format: 'qemu-cmdline', source: r12 },
      422,
      'ACCEL_EMULATED_ENDPOINT',
      { token: 9 },
    ],
    [
      'an R13 violation (no iommufd)',
      {
        format: 'qemu-cmdline',
        source: r12.replace('virtio-net-pci,bus=rp,id=net0', 'vfio-pci,host=0000:01:00.0,bus=rp,id=d'),
      },
      422,
      'ACCEL_VFIO_WITHOUT_IOMMUFD',
      { token: 9 },
    ],
    [
      'a taken slot',
      {
        format: 'qemu-cmdline',
        source: 'qemu-system-aarch64 -machine virt -device e1000e,addr=2 -device nvme,addr=0x2',
      },
      409,
      'SLOT_TAKEN',
      { token: 5 },
    ],
    [
      'pasid= (renamed ssidsize)',
      {
        format: 'qemu-cmdline',
        source: 'qemu-system-aarch64 -machine virt,accel=kvm -device arm-smmuv3,primary-bus=pcie.0,accel=on,pasid=on',
      },
      400,
      'IMPORT_SOURCE_MALFORMED',
      { token: 4 },
    ],
    [
      'iommu=smmuv3 with -device arm-smmuv3',
      {
        format: 'qemu-cmdline',
        source: 'qemu-system-aarch64 -machine virt,iommu=smmuv3 -device arm-smmuv3,primary-bus=pcie.0',
      },
      422,
      'IMPORT_IOMMU_MIXED',
      { token: 3 },
    ],
    [
      'no -machine',
      { format: 'qemu-cmdline', source: 'qemu-system-aarch64 -m 1G' },
      400,
      'IMPORT_SOURCE_MALFORMED',
      { token: 0 },
    ],
    [
      'malformed XML',
      { format: 'libvirt-xml', source: '<domain>\n  <devices>\n    <hostdev>\n  </devices>\n</domain>' },
      400,
      'IMPORT_SOURCE_MALFORMED',
      { line: 3 },
    ],
    [
      'an R12 violation in the XML',
      { format: 'libvirt-xml', source: r12Xml },
      422,
      'ACCEL_EMULATED_ENDPOINT',
      { line: 26, column: 5 },
    ],
    [
      // Valid libvirt input: libvirt would add the controller (qemuDomainAssignPCIAddresses).
      'an address on a controller index the domain does not define',
      { format: 'libvirt-xml', source: B2.replace("bus='0x02' slot", "bus='0x09' slot") },
      422,
      'IMPORT_NOT_SUPPORTED',
      { line: 24 },
    ],
    [
      'a root element other than <domain>',
      { format: 'libvirt-xml', source: '<network/>' },
      400,
      'IMPORT_SOURCE_MALFORMED',
      { line: 1 },
    ],
  ];
  it.each(refused)(
    'refuses %s with its status and a pointer into the source, appending nothing',
    async (_, body, status, code, at) => {
      const before = await eventCount(t);
      const response = await importVm({ vm: `refused-${code.toLowerCase()}`, ...body }).expect(status);
      expect(response.body.code).toBe(code);
      expect(response.body.errors[0]).toMatchObject({ pointer: '/source', ...at });
      expect(await eventCount(t)).toBe(before);
      await t.http.get(`/v1/vms/refused-${code.toLowerCase()}`).expect(404);
    },
  );

  it("gicVersion: a KVM domain without <gic> gets the request's version; without it GICv3 is assumed and the report says so (qemuDomainDefEnableDefaultFeatures)", async () => {
    const noGic = B2.replace(/<gic[^>]*\/>/, '');
    expect(noGic).not.toContain('<gic');
    const given = await importVm({ vm: 'gic-given', format: 'libvirt-xml', source: noGic, gicVersion: 2 }).expect(201);
    expect(given.body.gicVersion).toBe(2);
    const assumed = await importVm({ vm: 'gic-assumed', format: 'libvirt-xml', source: noGic }).expect(201);
    expect(assumed.body.gicVersion).toBe(3);
    expect(assumed.body.its).toBe(true);
    expect(assumed.body.report.parts[0].notes.join('\n')).toContain('assumed GICv3 with an ITS');
  });

  it('gicVersion with a command line: 400 pointing at /gicVersion (a command line names its GIC)', async () => {
    const response = await importVm({ vm: 'gic-cmdline', format: 'qemu-cmdline', source: B1, gicVersion: 3 }).expect(
      400,
    );
    expect(response.body.errors[0].pointer).toBe('/gicVersion');
    await t.http.get('/v1/vms/gic-cmdline').expect(404);
  });

  it('refuses an existing VM id with 409 VM_EXISTS pointing at /vm', async () => {
    const before = await eventCount(t);
    const response = await importVm({ vm: 'b2', format: 'libvirt-xml', source: B2 }).expect(409);
    expect(response.body.code).toBe('VM_EXISTS');
    expect(response.body.errors[0].pointer).toBe('/vm');
    expect(await eventCount(t)).toBe(before);
  });

  it('refuses busNumbers for an id that is not a root port of the source', async () => {
    const response = await importVm({
      vm: 'bad-given',
      format: 'libvirt-xml',
      source: B2,
      busNumbers: { nope: 3 },
    }).expect(400);
    expect(response.body.errors[0].pointer).toBe('/busNumbers/nope');
  });
});

describe('GET /v1/vms/{vm}/qemu-cmdline and /libvirt-xml', () => {
  it('exports text with the ETag, answers 304 on If-None-Match, and honours asOf', async () => {
    for (const [path, type] of [
      ['qemu-cmdline', 'text/plain'],
      ['libvirt-xml', 'application/xml'],
    ] as const) {
      const response = await t.http.get(`/v1/vms/b1/${path}`).expect(200);
      expect(response.headers['content-type']).toContain(type);
      const etag = response.headers.etag!;
      await t.http.get(`/v1/vms/b1/${path}`).set('if-none-match', etag).expect(304);
      const early = await t.http.get(`/v1/vms/b1/${path}?asOf=2`).expect(200);
      expect(early.headers.etag).toBe('"2"');
      expect(early.text).not.toContain('vfio-pci');
      await t.http.get(`/v1/vms/nope/${path}`).expect(404);
    }
  });

  it('sends numbers the firmware rule cannot give in Doorbell-Bus-Numbers, which busNumbers takes back', async () => {
    const post = (path: string, body: Json) => t.http.post(path).send(body).expect(201);
    await post('/v1/vms', { id: 'odd', kvm: true });
    await post('/v1/vms/odd/buses', { id: 'pcie.1', type: 'pxb-pcie', busNr: 1 });
    await post('/v1/vms/odd/buses', { id: 'rp', type: 'pcie-root-port', bus: 'pcie.1', secondaryBusNr: 5 });
    await post('/v1/vms/odd/buses', { id: 'rq', type: 'pcie-root-port', bus: 'pcie.1', secondaryBusNr: 9 });
    await post('/v1/vms/odd/devices', { id: 'nic', driver: 'e1000e', bus: 'rq', slot: 0 });
    const original = (await t.http.get('/v1/vms/odd').expect(200)).body;
    const cmdline = await t.http.get('/v1/vms/odd/qemu-cmdline').expect(200);
    // rq's gap after rp is a bus-reserve; rp, the first port, cannot be bus_nr + 1 = 2.
    expect(cmdline.text).toContain('bus-reserve=3');
    expect(JSON.parse(cmdline.headers['doorbell-bus-numbers']!)).toEqual({ rp: 5 });
    const xml = await t.http.get('/v1/vms/odd/libvirt-xml').expect(200);
    expect(JSON.parse(xml.headers['doorbell-bus-numbers']!)).toEqual({ rp: 5, rq: 9 });
    for (const [format, response] of [
      ['qemu-cmdline', cmdline],
      ['libvirt-xml', xml],
    ] as const) {
      const busNumbers = JSON.parse(response.headers['doorbell-bus-numbers']!);
      const back = await importVm({ vm: `odd-${format}`, format, source: response.text, busNumbers }).expect(201);
      expect(shape(back.body)).toEqual(shape(original));
      expect(deviceOf(back.body, 'nic').streamId).toBe('0x900');
    }
  });

  it('exports B1 so that it imports back to the same VM, in both formats', async () => {
    const original = (await t.http.get('/v1/vms/b1').expect(200)).body;
    for (const format of ['qemu-cmdline', 'libvirt-xml'] as const) {
      const text = (await t.http.get(`/v1/vms/b1/${format}`).expect(200)).text;
      const back = await importVm({ vm: `b1-${format}`, format, source: text }).expect(201);
      expect(shape(back.body)).toEqual(shape(original));
      expect((back.body.devices as Json[]).map((d) => d.id).sort()).toEqual(['dev0', 'dev1']);
    }
  });
});
