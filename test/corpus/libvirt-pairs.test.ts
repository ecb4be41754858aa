// libvirt's own test corpus: for each test, the QEMU command line libvirt generates
// (NAME.<arch>-<caps>.args) and the domain as libvirt writes it back (the .xml of the same stem)
// describe one VM. Imported through the API, the two must agree: both refused with the same code,
// or both imported to the same buses (type and number), SMMUs, devices (driver, host, iommufd,
// stream id, slot, function), GIC, ITS, KVM and RAM. Ids are left out: a command line names
// what libvirt named, the domain's controllers are named pci.<index> by the import.
// Read in place from ../shared/corpus (skipped, with one line from the global setup, without it).

import { afterAll, beforeAll, expect, it } from 'vitest';
import { corpusFiles, describeWithCorpus, readCorpus } from '../helpers/corpus';
import { startTestApp, type TestApp } from '../helpers/test-app';

// biome-ignore lint/suspicious/noExplicitAny: response bodies, read field by field as a client would
type Json = Record<string, any>;

const pairs = corpusFiles('libvirt', '.args')
  .map((args) => ({ args, xml: args.replace(/\.args$/, '.xml') }))
  .filter(({ xml }) => corpusFiles('libvirt', '.xml').includes(xml));

/** What both formats must agree on, without the names each format gives. */
function shape(vm: Json) {
  const byId = new Map((vm.buses as Json[]).map((b) => [b.id, b]));
  const numberOf = (id: string) => byId.get(id)?.busNumber ?? byId.get(id)?.number;
  return {
    ramSize: vm.ramSize,
    gicVersion: vm.gicVersion,
    its: vm.its,
    kvm: vm.kvm,
    buses: (vm.buses as Json[]).map((b) => `${b.type}@${b.busNumber ?? b.number}`).sort(),
    smmus: (vm.smmus as Json[]).map((s) => `${numberOf(s.primaryBus)}:${s.accel}:${s.stage}:${s.oas}`).sort(),
    // A device libvirt passes by fd has no host= on the command line: the host is compared where
    // the command line states it.
    devices: (vm.devices as Json[])
      .map((d) => [d.driver, d.hostFd ? 'fd' : d.host, d.iommufd, d.streamId, d.slot, d.function].join(' '))
      .sort(),
  };
}

describeWithCorpus('libvirt corpus: the command line and the domain of one test give one VM', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => t.close());

  it('finds the pairs to compare', () => {
    expect(pairs.length).toBeGreaterThanOrEqual(25);
  });

  for (const [n, { args, xml }] of pairs.entries()) {
    it(`${args.replace(/\.args$/, '')}: both formats import to the same VM, or both are refused alike`, async () => {
      const fromArgs = await t.http
        .post('/v1/vm-imports')
        .send({ vm: `pair-${n}-q`, format: 'qemu-cmdline', source: readCorpus('libvirt', args) });
      const fromXml = await t.http
        .post('/v1/vm-imports')
        .send({ vm: `pair-${n}-l`, format: 'libvirt-xml', source: readCorpus('libvirt', xml) });
      const outcome = (r: { status: number; body: Json }) =>
        r.status === 201 ? 'imported' : `${r.status} ${r.body.code}`;
      expect(outcome(fromXml), `${xml}: ${fromXml.body.detail ?? ''} / ${args}: ${fromArgs.body.detail ?? ''}`).toBe(
        outcome(fromArgs),
      );
      if (fromArgs.status === 201) expect(shape(fromXml.body)).toEqual(shape(fromArgs.body));
    });
  }
});
