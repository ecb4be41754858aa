// For random valid topologies: export -> import into a new VM -> the same buses, SMMUs, devices
// and stream ids, in both formats. Root port numbers the text cannot carry travel as the export's
// busNumbers (the Doorbell-Bus-Numbers header), as a client would pass them back.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { replay } from '../../src/domain/topology/replay';
import type { VmState } from '../../src/domain/topology/types';
import { placementOf } from '../../src/domain/translation/topology-facts';
import { type Draft, type DraftBridge, planImport } from '../../src/interchange/draft';
import { layoutOf } from '../../src/interchange/layout';
import { parseLibvirtXml } from '../../src/interchange/libvirt-xml/parse';
import { writeLibvirtXml } from '../../src/interchange/libvirt-xml/write';
import { parseQemuCmdline } from '../../src/interchange/qemu-cmdline/parse';
import { writeQemuCmdline } from '../../src/interchange/qemu-cmdline/write';
import type { ImportFormat } from '../../src/interchange/report';
import { topology } from '../helpers/random-topology';

/** What must survive the round trip. */
function shape(state: VmState) {
  return {
    board: { ...state.board, setBy: undefined, hostItsBase: undefined, rmrHonoured: undefined },
    buses: [...state.buses.values()].map((b) => [b.id, b.type, b.number, b.parent, b.slot, b.function]).sort(),
    smmus: [...state.smmus.values()].map((s) => [s.id, s.primaryBus, s.accel.value, s.stage, s.oas]).sort(),
    devices: [...state.devices.values()]
      .map((d) => [d.id, d.driver, d.bus, d.slot, d.function, d.host, d.iommufd, placementOf(state, d).streamId])
      .sort(),
  };
}

const WRITERS = { 'qemu-cmdline': writeQemuCmdline, 'libvirt-xml': writeLibvirtXml };
const PARSERS = { 'qemu-cmdline': parseQemuCmdline, 'libvirt-xml': parseLibvirtXml };

/** Whether a format's parser reads switches and bridges yet (other work fills draft.bridges). */
function readsBridges(format: ImportFormat): boolean {
  const withBridge = replay([
    { type: 'DefineVm', vmId: 'probe' },
    { type: 'AddBus', busId: 'pb', busType: 'pci-bridge', bus: 'pcie.0', slot: 3, secondaryBusNr: 1 },
  ])!;
  try {
    return (PARSERS[format](WRITERS[format](withBridge).text).bridges ?? []).length === 1;
  } catch {
    return false;
  }
}

/**
 * The draft a parser reads from an export, built straight from the layout the writers write
 * (slots, bus-reserve): the numbering half of the round trip, whatever the parsers read yet.
 */
function draftOf(state: VmState): Draft {
  const layout = layoutOf(state, { reserves: true });
  let token = 0;
  const at = () => ({ token: ++token });
  return {
    board: { ...state.board, at: { token: 0 } },
    pxbs: layout.pxbs.map((b) => ({
      id: b.id,
      bus: 'pcie.0',
      slot: layout.slotOf.get(b.id),
      busNr: b.number,
      at: at(),
    })),
    rootPorts: layout.rootPorts.map((b) => ({
      id: b.id,
      bus: b.parent!,
      slot: layout.slotOf.get(b.id),
      busReserve: layout.reserves.get(b.id) ?? 0,
      at: at(),
    })),
    bridges: layout.bridges.map((b) => ({
      id: b.id,
      type: b.type as DraftBridge['type'],
      bus: b.parent!,
      slot: b.slot,
      function: b.function,
      busReserve: 0,
      at: at(),
    })),
    smmus: [...state.smmus.values()].map((m) => ({
      id: m.id,
      primaryBus: m.primaryBus,
      accel: m.accel.value,
      stage: m.stage,
      oas: m.oas,
      at: at(),
    })),
    devices: [...state.devices.values()].map((d) => ({
      id: d.id,
      driver: d.driver,
      bus: d.bus,
      slot: d.slot,
      function: d.function,
      host: d.host ?? undefined,
      iommufd: d.iommufd ?? undefined,
      at: at(),
    })),
    report: { format: 'qemu-cmdline', parts: [], ignored: [], busNumbers: [] },
  };
}

describe('export -> import round trip', () => {
  for (const format of ['qemu-cmdline', 'libvirt-xml'] as const) {
    it(`${format}: a random valid topology imports back to the same buses, SMMUs, devices and stream ids`, () => {
      fc.assert(
        fc.property(fc.gen(), (g) => {
          const original = replay(topology(g, format))!;
          const exported = WRITERS[format](original);
          const plan = planImport('vm', PARSERS[format](exported.text), exported.busNumbers);
          const imported = replay(plan.commands)!;
          expect(shape(imported)).toEqual(shape(original));
        }),
        // endOnFailure: a failing run reports at once instead of shrinking for minutes.
        { numRuns: 300, endOnFailure: true },
      );
    });

    it.skipIf(!readsBridges(format))(
      `${format}: with switches and bridges, the same buses, bus numbers, devices and stream ids`,
      () => {
        fc.assert(
          fc.property(fc.gen(), (g) => {
            const original = replay(topology(g, format, true))!;
            const exported = WRITERS[format](original);
            const plan = planImport('vm', PARSERS[format](exported.text), exported.busNumbers);
            expect(shape(replay(plan.commands)!)).toEqual(shape(original));
          }),
          { numRuns: 200 },
        );
      },
    );
  }

  it('the layout an export writes (slots, bus-reserve, busNumbers) numbers switches and bridges back to the same buses (EDK2 PciScanBus)', () => {
    fc.assert(
      fc.property(fc.gen(), (g) => {
        const original = replay(topology(g, 'qemu-cmdline', true))!;
        const plan = planImport('vm', draftOf(original), layoutOf(original, { reserves: true }).busNumbers);
        expect(shape(replay(plan.commands)!)).toEqual(shape(original));
      }),
      { numRuns: 300 },
    );
  });
});
