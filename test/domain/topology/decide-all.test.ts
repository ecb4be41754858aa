// decideAll: several commands decided in order as one change, or refused whole with the index of
// the command that broke a rule.

import { describe, expect, it } from 'vitest';
import { CommandListError, decideAll } from '../../../src/domain/topology/decide-all';
import { replay } from '../../../src/domain/topology/replay';
import type { Command } from '../../../src/domain/topology/types';

const COMMANDS: Command[] = [
  { type: 'DefineVm', vmId: 'vm' },
  { type: 'AddBus', busId: 'pcie.1', busType: 'pxb-pcie', busNr: 1 },
  { type: 'AddSmmu', smmuId: 's', primaryBus: 'pcie.1', accel: true },
  { type: 'AddBus', busId: 'rp', busType: 'pcie-root-port', bus: 'pcie.1', secondaryBusNr: 2 },
  { type: 'AttachDevice', deviceId: 'd', driver: 'vfio-pci', bus: 'rp', slot: 0, host: '0000:01:00.0', iommufd: 'fd' },
];

describe('decideAll', () => {
  it('gives the events each command gives on the state the ones before it left', () => {
    const events = decideAll(COMMANDS, undefined);
    expect(events.map((e) => e.type)).toEqual(['VmDefined', 'BusAdded', 'SmmuAdded', 'BusAdded', 'DeviceAttached']);
    const state = replay(COMMANDS)!;
    expect(state.devices.get('d')!.bus).toBe('rp');
  });

  it('refuses the whole list with the index of the command that broke a rule', () => {
    const broken = [...COMMANDS.slice(0, 4), { ...COMMANDS[4]!, iommufd: undefined } as Command];
    expect(() => decideAll(broken, undefined)).toThrow(
      expect.objectContaining({ name: 'CommandListError', index: 4, code: 'ACCEL_VFIO_WITHOUT_IOMMUFD' }),
    );
    const error = (() => {
      try {
        decideAll(COMMANDS, replay(COMMANDS.slice(0, 1)));
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(CommandListError);
    expect(error).toMatchObject({ index: 0, code: 'VM_EXISTS' });
  });
});
