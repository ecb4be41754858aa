// For random pairs of valid topologies A and B: import A, re-import B into the same VM. The VM
// then has exactly the topology a fresh import of B gives, and the diff from A's version to the
// re-import's lists exactly the parts that differ between the two, as this test compares them
// itself from the VMs' states (field by field, by id).

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replay } from '../../../src/domain/topology/replay';
import type { VmState } from '../../../src/domain/topology/types';
import { placementOf } from '../../../src/domain/translation/topology-facts';
import { writeQemuCmdline } from '../../../src/interchange/qemu-cmdline/write';
import { topology } from '../../helpers/random-topology';
import { startTestApp, type TestApp } from '../../helpers/test-app';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => t.close());

type Parts = Map<string, Record<string, unknown>>;

/** The topology as this test reads it: each part's fields by kind and id (stream ids included). */
function partsOf(state: VmState): Record<string, Parts> {
  const board = state.board;
  return {
    board: new Map([
      [
        'board',
        {
          ramSize: board.ramSize,
          gicVersion: board.gicVersion,
          its: board.its,
          kvm: board.kvm,
          defaultBusBypassIommu: board.defaultBusBypassIommu,
        },
      ],
    ]),
    bus: new Map(
      [...state.buses.values()]
        .filter((b) => b.id !== 'pcie.0')
        .map((b) => [b.id, { type: b.type, bus: b.parent, number: b.number, slot: b.slot, function: b.function }]),
    ),
    smmu: new Map(
      [...state.smmus.values()].map((s) => [
        s.id,
        { primaryBus: s.primaryBus, stage: s.stage, oas: s.oas, accel: s.accel.value },
      ]),
    ),
    device: new Map(
      [...state.devices.values()].map((d) => [
        d.id,
        {
          driver: d.driver,
          bus: d.bus,
          slot: d.slot,
          function: d.function,
          host: d.host,
          iommufd: d.iommufd,
          streamId: placementOf(state, d).streamId,
        },
      ]),
    ),
  };
}

/** "op kind id" for every part that differs, the board as one part. */
function differences(vm: string, a: Record<string, Parts>, b: Record<string, Parts>): string[] {
  const lines: string[] = [];
  for (const kind of Object.keys(a)) {
    const ids = new Set([...a[kind]!.keys(), ...b[kind]!.keys()]);
    for (const id of ids) {
      const x = a[kind]!.get(id);
      const y = b[kind]!.get(id);
      const name = kind === 'board' ? vm : id;
      if (x === undefined) lines.push(`add ${kind} ${name}`);
      else if (y === undefined) lines.push(`remove ${kind} ${name}`);
      // stream ids follow from the bus numbers: a device whose own fields are equal is not a change.
      else if (Object.keys(x).some((k) => k !== 'streamId' && x[k] !== y[k])) lines.push(`change ${kind} ${name}`);
    }
  }
  return lines.sort();
}

const exported = (commands: ReturnType<typeof topology>) => writeQemuCmdline(replay(commands)!);

describe('re-import', () => {
  it('import A, re-import B: the VM is a fresh import of B, and the diff lists exactly the differences', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.gen(), fc.boolean(), async (g, withBridges) => {
        run += 1;
        const vm = `vm${run}`;
        const a = exported(
          topology(g, 'qemu-cmdline', withBridges).map((c) => (c.type === 'DefineVm' ? { ...c, vmId: vm } : c)),
        );
        const b = exported(topology(g, 'qemu-cmdline', withBridges));
        const first = await t.http
          .post('/v1/vm-imports')
          .send({ vm, format: 'qemu-cmdline', source: a.text, busNumbers: a.busNumbers });
        expect(first.status, JSON.stringify(first.body)).toBe(201);
        const again = await t.http
          .post(`/v1/vms/${vm}/imports`)
          .send({ format: 'qemu-cmdline', source: b.text, busNumbers: b.busNumbers });
        expect(again.status, JSON.stringify(again.body)).toBe(200);
        const fresh = await t.http
          .post('/v1/vm-imports')
          .send({ vm: `fresh-${vm}`, format: 'qemu-cmdline', source: b.text, busNumbers: b.busNumbers });
        expect(fresh.status, JSON.stringify(fresh.body)).toBe(201);

        const before = (await t.services.vms.loadAsOf(vm, first.body.version))!;
        const after = (await t.services.vms.load(vm))!;
        const reference = (await t.services.vms.load(`fresh-${vm}`))!;
        expect(partsOf(after)).toEqual(partsOf(reference));

        const expected = differences(vm, partsOf(before), partsOf(after));
        const diff = await t.http.get(`/v1/vms/${vm}/diff?from=${first.body.version}&to=${after.version}`).expect(200);
        const listed = (diff.body.changes as { op: string; kind: string; id: string }[])
          .map((c) => `${c.op} ${c.kind} ${c.id}`)
          .sort();
        expect(listed).toEqual(expected);
        expect(again.body.changes.length).toBe(expected.length);
      }),
      { numRuns: 40 },
    );
  });
});
