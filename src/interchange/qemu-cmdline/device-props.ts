// One -device's properties as a device kind reads them: each property taken once, the ones the
// topology does not hold noted or listed as ignored, the part recorded in the report.

import { qdevTypeName } from '../pci-drivers.js';
import { malformed } from '../report.js';
import type { Option } from './argv.js';
import { type ParseContext, ignore, nameLater, recordPart } from './context.js';
import { checkPxbTakesBridgesOnly, defaultBus, firstId } from './creation.js';
import { type OptionList, parseBool, parsePciAddr } from './options.js';

export class DeviceProps {
  private readonly props: Map<string, string>;
  /** Notes for the device's report part. */
  readonly notes: string[] = [];
  /** The QEMU type (an alias such as virtio-net resolved, see pci-drivers.ts qdevTypeName). */
  readonly driver: string;
  /** The driver as written. */
  readonly written: string;
  readonly id: string | undefined;
  /** QEMU's creation order of this device (Placed.created). */
  readonly created: number;

  constructor(
    readonly option: Option,
    opts: OptionList,
    created: number,
  ) {
    // A key repeated in key=value form: the last value is the one QEMU sets, but the id is the first.
    this.props = new Map(opts);
    this.id = firstId(opts);
    this.props.delete('id');
    const driver = this.take('driver');
    if (driver === undefined) throw malformed('-device without a driver', option.valueAt);
    this.written = driver;
    this.driver = qdevTypeName(driver);
    if (this.driver !== driver) this.notes.push(`${driver} is QEMU's short name for ${this.driver} on arm64`);
    this.created = created;
  }

  /** The property's value, once: a property taken is no longer left over. */
  take(key: string): string | undefined {
    const v = this.props.get(key);
    this.props.delete(key);
    return v;
  }

  /** Reads a property the topology does not hold into a note saying why. */
  note(key: string, why: string): void {
    const v = this.take(key);
    if (v !== undefined) this.notes.push(`${key}=${v}: ${why}`);
  }

  /**
   * Where the device plugs: bus= or the bus QEMU picks without it (creation.ts defaultBus), addr=
   * (slot and function) if given, and its place in QEMU's creation order. `isBridge`: whether a
   * pxb-pcie bus may take it (creation.ts checkPxbTakesBridgesOnly).
   */
  place(
    ctx: ParseContext,
    part: { bus: string; slot?: number; function?: number; created?: number; multifunction?: boolean },
    isBridge: boolean,
  ): void {
    const bus = this.take('bus');
    const addr = this.take('addr');
    if (addr !== undefined) Object.assign(part, parsePciAddr(addr, this.option.valueAt));
    // Read, not taken: each kind still notes or lists it. Off unless given (PCIDevice's
    // "multifunction" property, hw/pci/pci.c pci_props); draft.ts placeAll checks it.
    const multifunction = this.props.get('multifunction');
    part.multifunction = multifunction !== undefined && parseBool('multifunction', multifunction, this.option.valueAt);
    part.created = this.created;
    if (bus !== undefined) part.bus = bus;
    else
      defaultBus(ctx, (chosen) => {
        part.bus = chosen;
      });
    checkPxbTakesBridgesOnly(ctx, part.bus, isBridge, this.option);
  }

  /** Every property no kind function took, as ignored items. */
  leftover(ctx: ParseContext, why: string): void {
    for (const [k, v] of this.props) ignore(ctx, this.option, why, `-device ${this.written} ${k}=${v}`);
  }

  /** Names the part `${prefix}N` at the end of the parse when the source gave it no id. */
  nameIfNameless(ctx: ParseContext, part: { id: string }, prefix: string): void {
    if (this.id === undefined) nameLater(ctx, part, prefix, (id) => this.notes.push(`no id given: named ${id}`));
  }

  record(ctx: ParseContext, kind: 'bus' | 'smmu' | 'device', part: { id: string }): void {
    recordPart(ctx, this.option.at, `-device ${this.option.value}`, { kind, id: part.id }, this.notes);
  }
}
