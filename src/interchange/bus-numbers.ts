// Secondary bus numbers as EDK2 (ArmVirtQemu) gives them (domain reference §9 and
// qemu-fidelity-and-import.md B3): root buses own ranges in ascending bus_nr; under each, root
// ports in ascending (slot, function) order take the next free number, depth-first, and a
// bus-reserve=R on a port keeps R more numbers after it. Numbers the client gives win.

import { InterchangeError, type BusNumberNote, type SourceRef } from './report.js';

export interface RootBusInput {
  id: string;
  /** 0 for pcie.0, bus_nr for a pxb-pcie. */
  busNr: number;
  /** Firmware finds a pxb only when a device sits on it (vendor ID probe); pcie.0 always. */
  populated: boolean;
}

export interface RootPortInput {
  id: string;
  bus: string;
  slot: number;
  function: number;
  busReserve: number;
  at: SourceRef;
}

export const MAX_BUS_NUMBER = 255;

export function assignBusNumbers(
  roots: readonly RootBusInput[],
  ports: readonly RootPortInput[],
  given: Readonly<Record<string, number>>,
): { numbers: Map<string, number>; notes: BusNumberNote[] } {
  for (const id of Object.keys(given)) {
    if (!ports.some((p) => p.id === id)) {
      throw new InterchangeError(
        'IMPORT_SOURCE_MALFORMED',
        `busNumbers: ${id} is not a pcie-root-port of the source (only root ports take a secondary bus number)`,
        null,
        `/busNumbers/${id.replaceAll('~', '~0').replaceAll('/', '~1')}`,
      );
    }
  }
  const numbers = new Map<string, number>();
  const notes: BusNumberNote[] = [];
  const ordered = [...roots].sort((a, b) => a.busNr - b.busNr);
  const found = ordered.filter((r) => r.populated || r.busNr === 0);
  for (const root of ordered) {
    if (root.busNr !== 0) {
      notes.push({ bus: root.id, busNumber: root.busNr, rule: 'bus_nr', detail: `pxb-pcie bus_nr=${root.busNr}` });
    }
    const nextRoot = found.find((r) => r.busNr > root.busNr);
    const last = nextRoot === undefined ? MAX_BUS_NUMBER : nextRoot.busNr - 1;
    const mine = ports.filter((p) => p.bus === root.id).sort((a, b) => a.slot - b.slot || a.function - b.function);
    let next = root.busNr;
    for (const [k, port] of mine.entries()) {
      const stated = given[port.id];
      let number: number;
      if (stated !== undefined) {
        number = stated;
        notes.push({ bus: port.id, busNumber: number, rule: 'busNumbers', detail: 'given in busNumbers' });
      } else {
        number = next + 1;
        if (number > last) {
          throw new InterchangeError(
            'IMPORT_BUS_NUMBERS_EXHAUSTED',
            `${port.id}: firmware would number its secondary bus ${number}, past ${last}, the last number of ${root.id}'s range${nextRoot === undefined ? '' : ` (${nextRoot.id} starts at ${nextRoot.busNr})`}: EDK2 fails with EFI_OUT_OF_RESOURCES`,
            port.at,
          );
        }
        const reserved = next - root.busNr - k;
        notes.push({
          bus: port.id,
          busNumber: number,
          rule: 'firmware',
          detail: `EDK2: root port ${k + 1} of ${root.id} in (slot, function) order (${hex2(port.slot)}.${port.function}) gets ${root.busNr} + ${k + 1}${reserved > 0 ? ` + ${reserved} kept by bus-reserve` : ''} = ${number}`,
        });
      }
      numbers.set(port.id, number);
      next = Math.max(next, number) + port.busReserve;
    }
  }
  return { numbers, notes };
}

const hex2 = (n: number) => n.toString(16).padStart(2, '0');
