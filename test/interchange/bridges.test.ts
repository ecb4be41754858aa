// planImport with switches and bridges (draft.bridges, which the parsers fill): bus numbers as
// EDK2's PciScanBus gives them, QEMU's requester id behind a conventional bus, QEMU's placement
// rules, acpi=off, and the export of bridges. Drafts are built by hand here so that the numbering
// is tested whatever the parsers read yet. Expected values are derived by hand in the comments.

import { describe, expect, it } from 'vitest';
import { DomainError } from '../../src/domain/errors';
import { replay } from '../../src/domain/topology/replay';
import type { VmState } from '../../src/domain/topology/types';
import { placementOf } from '../../src/domain/translation/topology-facts';
import type { Draft, DraftBridge, DraftDevice, DraftPxb, DraftRootPort } from '../../src/interchange/draft';
import { planImport } from '../../src/interchange/draft';
import { writeLibvirtXml } from '../../src/interchange/libvirt-xml/write';
import { writeQemuCmdline } from '../../src/interchange/qemu-cmdline/write';
import type { InterchangeError } from '../../src/interchange/report';

type Part<T> = Omit<T, 'at'>;
interface Parts {
  pxbs?: Part<DraftPxb>[];
  rootPorts?: (Omit<Part<DraftRootPort>, 'busReserve'> & { busReserve?: number })[];
  bridges?: (Omit<Part<DraftBridge>, 'busReserve'> & { busReserve?: number })[];
  devices?: Part<DraftDevice>[];
  acpi?: boolean;
}

/** A draft as a parser would hand it over, each part at the next token in the order given. */
function draftOf(parts: Parts): Draft {
  let token = 0;
  const at = () => ({ token: ++token });
  return {
    board: { kvm: false, acpi: parts.acpi, at: { token: 0 } },
    pxbs: (parts.pxbs ?? []).map((p) => ({ ...p, at: at() })),
    rootPorts: (parts.rootPorts ?? []).map((p) => ({ busReserve: 0, ...p, at: at() })),
    bridges: (parts.bridges ?? []).map((b) => ({ busReserve: 0, ...b, at: at() })),
    smmus: [],
    devices: (parts.devices ?? []).map((d) => ({ ...d, at: at() })),
    report: { format: 'qemu-cmdline', parts: [], ignored: [], busNumbers: [] },
  };
}

const imported = (parts: Parts, busNumbers?: Record<string, number>): VmState =>
  replay(planImport('vm', draftOf(parts), busNumbers).commands)!;
const numbers = (state: VmState) =>
  Object.fromEntries([...state.buses.values()].filter((b) => b.number > 0).map((b) => [b.id, b.number]));
const nic = (id: string, bus: string, slot?: number): Part<DraftDevice> => ({ id, driver: 'e1000', bus, slot });

/**
 * The topology of the boot suite's "switch and bridges" case, on pcie.0:
 *   00:01.0 rp1 -> 01:00.0 up (x3130-upstream) -> 02:00.0 dn1 -> n1;  02:01.0 dn2 -> n2
 *   00:02.0 rp2 -> 05:00.0 ppb (pcie-pci-bridge) -> 06:01.0 e1;  06:02.0 pb (pci-bridge) -> 07:03.0 e2
 *   00:03.0 rp3
 */
const SWITCH_AND_BRIDGES: Parts = {
  rootPorts: [
    { id: 'rp1', bus: 'pcie.0', slot: 1 },
    { id: 'rp2', bus: 'pcie.0', slot: 2 },
    { id: 'rp3', bus: 'pcie.0', slot: 3 },
  ],
  bridges: [
    { id: 'up', type: 'x3130-upstream', bus: 'rp1', slot: 0 },
    { id: 'dn1', type: 'xio3130-downstream', bus: 'up', slot: 0 },
    { id: 'dn2', type: 'xio3130-downstream', bus: 'up', slot: 1 },
    { id: 'ppb', type: 'pcie-pci-bridge', bus: 'rp2', slot: 0 },
    { id: 'pb', type: 'pci-bridge', bus: 'ppb', slot: 2 },
  ],
  devices: [
    { id: 'n1', driver: 'virtio-net-pci', bus: 'dn1', slot: 0 },
    { id: 'n2', driver: 'virtio-net-pci', bus: 'dn2', slot: 0 },
    nic('e1', 'ppb', 1),
    nic('e2', 'pb', 3),
  ],
};

describe('EDK2 PciScanBus numbers switches and bridges depth-first, in (slot, function) order', () => {
  it('a switch and a PCIe-to-PCI bridge below root ports shift every later port', () => {
    // rp1 takes 1; below it up 2, then up's bus: dn1 (slot 0) 3, dn2 (slot 1) 4. rp2 takes the
    // next free number, 5; ppb 6; pb 7. rp3 8. (QEMU 7.2 + EDK2 2022.11 gave exactly these.)
    expect(numbers(imported(SWITCH_AND_BRIDGES))).toEqual({
      rp1: 1,
      up: 2,
      dn1: 3,
      dn2: 4,
      rp2: 5,
      ppb: 6,
      pb: 7,
      rp3: 8,
    });
  });

  it('the scan follows slots, not source order: a downstream port at slot 1 given first is numbered second', () => {
    const state = imported({
      rootPorts: [{ id: 'rp1', bus: 'pcie.0', slot: 1 }],
      bridges: [
        { id: 'up', type: 'x3130-upstream', bus: 'rp1', slot: 0 },
        { id: 'dnB', type: 'xio3130-downstream', bus: 'up', slot: 1 },
        { id: 'dnA', type: 'xio3130-downstream', bus: 'up', slot: 0 },
      ],
    });
    expect(numbers(state)).toEqual({ rp1: 1, up: 2, dnA: 3, dnB: 4 });
  });

  it('bus-reserve keeps MAX(secondary + R, the largest number below): R=2 over a switch of 3 buses changes nothing, R=5 does', () => {
    // rp1 = 1, up = 2, dn1 = 3, dn2 = 4 below it. R=2: max(1 + 2, 4) = 4, so rp2 = 5.
    // R=5: max(1 + 5, 4) = 6, so rp2 = 7 (PciScanBus: "Reserve the larger one between the actual
    // occupied bus number and padded bus number").
    const parts = (busReserve: number): Parts => ({
      rootPorts: [
        { id: 'rp1', bus: 'pcie.0', slot: 1, busReserve },
        { id: 'rp2', bus: 'pcie.0', slot: 2 },
      ],
      bridges: [
        { id: 'up', type: 'x3130-upstream', bus: 'rp1', slot: 0 },
        { id: 'dn1', type: 'xio3130-downstream', bus: 'up', slot: 0 },
        { id: 'dn2', type: 'xio3130-downstream', bus: 'up', slot: 1 },
      ],
    });
    expect(numbers(imported(parts(2))).rp2).toBe(5);
    expect(numbers(imported(parts(5))).rp2).toBe(7);
  });

  it('a pci-bridge on pcie.0 is numbered among the root ports by its slot', () => {
    // 00:01.0 rp1 = 1, 00:04.0 pb0 = 2 (bus-reserve=3 keeps up to 5), 00:05.0 rp2 = 6.
    const state = imported({
      rootPorts: [
        { id: 'rp2', bus: 'pcie.0', slot: 5 },
        { id: 'rp1', bus: 'pcie.0', slot: 1 },
      ],
      bridges: [{ id: 'pb0', type: 'pci-bridge', bus: 'pcie.0', slot: 4, busReserve: 3 }],
      devices: [nic('e3', 'pb0', 5)],
    });
    expect(numbers(state)).toEqual({ rp1: 1, pb0: 2, rp2: 6 });
  });

  it('says which rule gave each bridge its number', () => {
    const plan = planImport('vm', draftOf(SWITCH_AND_BRIDGES));
    expect(plan.report.busNumbers).toContainEqual({
      bus: 'dn2',
      busNumber: 4,
      rule: 'firmware',
      detail:
        'EDK2 PciScanBus, depth-first in (slot, function) order: xio3130-downstream dn2 at 02:01.0 gets the next free number after 3 = 4',
    });
    expect(plan.report.busNumbers).toContainEqual(
      expect.objectContaining({
        bus: 'rp2',
        busNumber: 5,
        detail:
          'EDK2: root port 2 of pcie.0 in (slot, function) order (02.0) gets 0 + 2 + 3 kept by bus-reserve and by the buses below earlier ports = 5',
      }),
    );
  });

  it('takes a bridge number from busNumbers, and numbers the rest after it', () => {
    const state = imported(SWITCH_AND_BRIDGES, { up: 20 });
    // up = 20, then dn1 = 21, dn2 = 22, rp2 = 23, ppb = 24, pb = 25, rp3 = 26.
    expect(numbers(state)).toMatchObject({ rp1: 1, up: 20, dn1: 21, dn2: 22, rp2: 23, rp3: 26 });
  });

  it('refuses a switch whose numbers run past the next root bus (EFI_OUT_OF_RESOURCES), at the bridge', () => {
    // pxb p1 bus_nr=2 owns [2, 3] because p2 (bus_nr=4) has a port: rp = 3, up would be 4.
    const parts: Parts = {
      pxbs: [
        { id: 'p1', bus: 'pcie.0', slot: 1, busNr: 2 },
        { id: 'p2', bus: 'pcie.0', slot: 2, busNr: 4 },
      ],
      rootPorts: [
        { id: 'rp', bus: 'p1', slot: 0 },
        { id: 'rq', bus: 'p2', slot: 0 },
      ],
      bridges: [{ id: 'up', type: 'x3130-upstream', bus: 'rp', slot: 0 }],
    };
    const error = (() => {
      try {
        planImport('vm', draftOf(parts));
      } catch (e) {
        return e as InterchangeError;
      }
    })();
    expect(error).toMatchObject({ code: 'IMPORT_BUS_NUMBERS_EXHAUSTED', at: { token: 5 } });
    expect(error?.message).toContain('up: firmware would number its secondary bus 4, past 3');
  });
});

describe('the stream id of an imported device is the requester id QEMU uses', () => {
  const state = imported(SWITCH_AND_BRIDGES);
  const streamId = (id: string) => placementOf(state, state.devices.get(id)!).streamId;

  it('behind the switch: own BDF (n1 03:00.0 = 0x300, n2 04:00.0 = 0x400)', () => {
    expect([streamId('n1'), streamId('n2')]).toEqual([0x300n, 0x400n]);
  });

  it('PCI_REQ_ID_SECONDARY_BUS: e1 (06:01.0) and e2 (07:03.0, behind pb) both use ppb secondary bus 6, devfn 0 = 0x600', () => {
    expect([streamId('e1'), streamId('e2')]).toEqual([0x600n, 0x600n]);
  });
});

describe("QEMU's placement rules hold for an import as for POST .../devices", () => {
  it('an endpoint directly on a pxb-pcie: "Only PCI/PCIe bridges can be plugged into pxb-pcie"', () => {
    const parts: Parts = { pxbs: [{ id: 'pcie.1', bus: 'pcie.0', busNr: 8 }], devices: [nic('net0', 'pcie.1')] };
    expect(() => imported(parts)).toThrow(DomainError);
    expect(() => imported(parts)).toThrow(/Only PCI\/PCIe bridges can be plugged into pxb-pcie/);
  });

  it('a device without addr= on a pcie-pci-bridge gets slot 0, which the SHPC refuses (as QEMU 7.2 does)', () => {
    const parts: Parts = {
      rootPorts: [{ id: 'rp', bus: 'pcie.0' }],
      bridges: [{ id: 'ppb', type: 'pcie-pci-bridge', bus: 'rp' }],
      devices: [nic('e1', 'ppb')],
    };
    expect(() => imported(parts)).toThrow(/Unsupported PCI slot 0 for standard hotplug controller/);
  });

  it('refuses a bridge plugged into a bus that never reaches a root bus', () => {
    const parts: Parts = {
      bridges: [
        { id: 'a', type: 'pci-bridge', bus: 'b', slot: 1 },
        { id: 'b', type: 'pci-bridge', bus: 'a', slot: 1 },
      ],
    };
    expect(() => planImport('vm', draftOf(parts))).toThrow(/never reaches pcie.0 or a pxb-pcie/);
  });
});

describe('acpi=off', () => {
  it('refuses a pxb-pcie with 422 IMPORT_NOT_SUPPORTED naming it: the device tree has pcie.0 only', () => {
    const parts: Parts = {
      acpi: false,
      pxbs: [{ id: 'pcie.1', bus: 'pcie.0', busNr: 16 }],
      rootPorts: [{ id: 'rp', bus: 'pcie.1', slot: 0 }],
    };
    const error = (() => {
      try {
        planImport('vm', draftOf(parts));
      } catch (e) {
        return e as InterchangeError;
      }
    })();
    expect(error).toMatchObject({ code: 'IMPORT_NOT_SUPPORTED', at: { token: 1 } });
    expect(error?.message).toContain('pcie.1');
    expect(error?.message).toContain('create_pcie');
  });

  it('imports a topology on pcie.0 alone as with ACPI', () => {
    expect(numbers(imported({ ...SWITCH_AND_BRIDGES, acpi: false }))).toEqual(numbers(imported(SWITCH_AND_BRIDGES)));
  });
});

describe('exports write bridges back', () => {
  const state = imported(SWITCH_AND_BRIDGES);

  it('as -device lines at their own addr=, after the bus they plug into, with the chassis QEMU needs', () => {
    const { text, busNumbers } = writeQemuCmdline(state);
    expect(text).toContain('-device x3130-upstream,id=up,bus=rp1,addr=0x0');
    expect(text).toContain('-device xio3130-downstream,id=dn2,bus=up,addr=0x1,chassis=');
    expect(text).toContain('-device pcie-pci-bridge,id=ppb,bus=rp2,addr=0x0');
    expect(text).toMatch(/-device pci-bridge,id=pb,bus=ppb,addr=0x2,chassis_nr=\d+/);
    expect(text.indexOf('id=up,')).toBeLessThan(text.indexOf('id=dn1,'));
    // Every number is the firmware's, so nothing needs busNumbers.
    expect(busNumbers).toEqual({});
  });

  it("as libvirt controllers of libvirt's models, addressed by their parent's index", () => {
    const { text } = writeLibvirtXml(state);
    expect(text).toContain("model='pcie-switch-upstream-port'>");
    expect(text).toContain("<model name='xio3130-downstream'/>");
    expect(text).toContain("model='pcie-to-pci-bridge'>");
    expect(text).toContain("<target chassisNr='");
  });
});
