// Property: for random sequences of topology commands, the state the service keeps while it
// appends equals a full rebuild from the stored events, and the state asOf every version equals
// the state right after that version was appended.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createStores } from '../../src/db/stores';
import { DomainError } from '../../src/domain/errors';
import { decide } from '../../src/domain/topology/decide';
import { fold } from '../../src/domain/topology/evolve';
import type { Command, RecordedEvent, VmState } from '../../src/domain/topology/types';

const VM = 'vm1';
const metadata = { occurredAt: '2026-11-24T00:00:00.000Z', actor: 'property', requestId: 'r' };

const Seed = fc.record({
  // Weighted towards the commands that build up mappings and vectors.
  kind: fc.constantFrom(
    'bus',
    'port',
    'smmu',
    'accel',
    'guest',
    'attach',
    'attach',
    'attach',
    'detach',
    'ste',
    'map',
    'map',
    'map',
    'map',
    'unmap',
    'vector',
    'vector',
  ),
  a: fc.nat({ max: 63 }),
  b: fc.nat({ max: 63 }),
  flag: fc.boolean(),
  address: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
});
type Seed = typeof Seed extends fc.Arbitrary<infer T> ? T : never;

function pick<T>(items: readonly T[], index: number): T | undefined {
  return items.length === 0 ? undefined : items[index % items.length];
}

/** Turns a seed into a command that refers to what exists now (it may still break a rule). */
function commandFrom(seed: Seed, state: VmState): Command {
  const buses = [...state.buses.values()];
  const roots = buses.filter((b) => b.type !== 'pcie-root-port');
  const smmus = [...state.smmus.values()];
  const devices = [...state.devices.values()];
  const device = pick(devices, seed.a)?.id ?? 'none';
  const page = BigInt(seed.b) * 0x1000n;
  switch (seed.kind) {
    case 'bus':
      return { type: 'AddBus', busId: `pxb${seed.a}`, busType: 'pxb-pcie', busNr: seed.b + 1 };
    case 'port':
      return {
        type: 'AddBus',
        busId: `port${seed.a}`,
        busType: 'pcie-root-port',
        bus: pick(roots, seed.b)!.id,
        secondaryBusNr: seed.a + 64,
      };
    case 'smmu':
      return {
        type: 'AddSmmu',
        smmuId: `smmu${seed.a}`,
        primaryBus: pick(roots, seed.b)!.id,
        accel: seed.flag,
        stage: seed.flag ? '1' : (['1', '2', 'nested'] as const)[seed.b % 3],
      };
    case 'accel':
      return { type: 'SetSmmuAccel', smmuId: pick(smmus, seed.a)?.id ?? 'none', enabled: seed.flag };
    case 'guest':
      return {
        type: 'SetSmmuGuestState',
        smmuId: pick(smmus, seed.a)?.id ?? 'none',
        changes: { enabled: seed.flag, streamTableLog2Size: seed.b % 17 },
      };
    case 'attach': {
      const bus = pick(buses, seed.b)!;
      const smmu = smmus.find((m) => m.primaryBus === bus.rootBus);
      // Mostly the driver the SMMU accepts (R8/R12); now and then the other one, which must be refused.
      const vfio = (smmu?.accel.value ?? seed.flag) !== (seed.address % 8n === 0n);
      const slot = bus.type === 'pcie-root-port' ? 0 : seed.a % 32;
      return {
        type: 'AttachDevice',
        deviceId: `dev${seed.a}`,
        driver: vfio ? 'vfio-pci' : 'virtio-net-pci',
        bus: bus.id,
        slot,
        ...(vfio ? { host: '0000:01:00.0', iommufd: 'iommufd0' } : {}),
      };
    }
    case 'detach':
      return { type: 'DetachDevice', deviceId: device };
    case 'ste': {
      const config = (['s1', 's2', 'nested', 'bypass', 'abort', 'invalid'] as const)[seed.b % 6]!;
      const withStage1 = config === 's1' || config === 'nested';
      return {
        type: 'ConfigureSte',
        deviceId: device,
        config,
        ...(seed.flag && withStage1 ? { cd: { granule: '16K' as const, t0sz: 25 } } : {}),
      };
    }
    case 'map':
      return {
        type: 'MapIova',
        deviceId: device,
        stage: seed.flag ? 1 : 2,
        iova: page,
        output: seed.address & ~0xfffn & ((1n << 48n) - 1n),
        size: BigInt((seed.a % 4) + 1) * 0x1000n,
      };
    case 'unmap':
      return { type: 'UnmapIova', deviceId: device, stage: seed.flag ? 1 : 2, iova: page };
    case 'vector':
      return {
        type: 'ProgramMsiVector',
        deviceId: device,
        vector: seed.b % 4,
        address: seed.address,
        data: BigInt(seed.a),
      };
  }
  throw new Error(`unknown seed kind ${seed.kind as string}`);
}

const appended: number[] = [];

const PRELUDE: Command[] = [
  { type: 'AddSmmu', smmuId: 'smmuE', primaryBus: 'pcie.0', stage: 'nested' },
  { type: 'AddBus', busId: 'pxb1', busType: 'pxb-pcie', busNr: 200 },
  { type: 'AddSmmu', smmuId: 'smmuA', primaryBus: 'pxb1', accel: true },
  { type: 'AttachDevice', deviceId: 'net0', driver: 'virtio-net-pci', bus: 'pcie.0', slot: 2 },
  // A pxb-pcie takes bridges only (QEMU do_pci_register_device): the VF sits behind a root port.
  { type: 'AddBus', busId: 'port1', busType: 'pcie-root-port', bus: 'pxb1', secondaryBusNr: 201 },
  {
    type: 'AttachDevice',
    deviceId: 'hostdev0',
    driver: 'vfio-pci',
    bus: 'port1',
    slot: 0,
    host: '0019:06:00.0',
    iommufd: 'iommufd0',
  },
];

describe('projection', () => {
  it('kept while appending equals a rebuild, and asOf every version equals the state right after it', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(Seed, { minLength: 10, maxLength: 80 }), async (seeds) => {
        const stores = await createStores(':memory:');
        try {
          const afterVersion = new Map<number, VmState>();
          // The same commands folded in memory, never stored: what the events mean before any codec.
          let pure: VmState | undefined;
          let state!: VmState;
          const run = async (command: Command) => {
            const decided = decide(command, pure);
            const executed = await stores.vms.execute(VM, command, { metadata });
            const recorded = decided.map(
              (e, i) =>
                ({
                  ...e,
                  position: executed.events[i]!.position,
                  streamVersion: executed.events[i]!.streamVersion,
                }) as RecordedEvent,
            );
            pure = fold(recorded, pure);
            state = executed.state;
            afterVersion.set(state.version, pure!);
          };
          await run({ type: 'DefineVm', vmId: VM });
          // A starting point with both kinds of SMMU, so that random commands reach real translations.
          for (const command of PRELUDE) await run(command);
          for (const seed of seeds) {
            try {
              await run(commandFrom(seed, state));
            } catch (error) {
              if (!(error instanceof DomainError)) throw error; // a rule said no: nothing appended
            }
          }
          appended.push(state.version);
          expect(state).toEqual(pure);
          expect(await stores.vms.load(VM)).toBe(state);
          expect(await stores.events.version(VM)).toBe(state.version);
          expect(await stores.vms.rebuild(VM)).toEqual(state);
          for (const [version, expected] of afterVersion) {
            expect(await stores.vms.loadAsOf(VM, version)).toEqual(expected);
          }
        } finally {
          await stores.close();
        }
      }),
      { numRuns: 150 },
    );
    // The generator must reach real topologies, not only rejected commands.
    const mean = appended.reduce((a, b) => a + b, 0) / appended.length;
    expect(mean - PRELUDE.length - 1).toBeGreaterThan(10);
  });
});
