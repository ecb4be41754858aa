// One -device's properties as a device kind reads them: each property taken once, the ones the
// topology does not hold noted or listed as ignored, the part recorded in the report.

import { PCIE_ROOT } from '../draft.js';
import { malformed } from '../report.js';
import type { Option } from './argv.js';
import { type ParseContext, ignore, nameLater, recordPart } from './context.js';
import { type OptionList, parsePciAddr } from './options.js';

export class DeviceProps {
  private readonly props: Map<string, string>;
  /** Notes for the device's report part. */
  readonly notes: string[] = [];
  readonly driver: string;
  readonly id: string | undefined;

  constructor(
    readonly option: Option,
    opts: OptionList,
  ) {
    this.props = new Map(opts);
    const driver = this.take('driver');
    if (driver === undefined) throw malformed('-device without a driver', option.valueAt);
    this.driver = driver;
    this.id = this.take('id');
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

  /** bus= (pcie.0 when absent) and addr= (slot and function). */
  placement(): { bus: string; slot?: number; function?: number } {
    const bus = this.take('bus') ?? PCIE_ROOT;
    const addr = this.take('addr');
    return { bus, ...(addr === undefined ? {} : parsePciAddr(addr, this.option.valueAt)) };
  }

  /** Every property no kind function took, as ignored items. */
  leftover(ctx: ParseContext, why: string): void {
    for (const [k, v] of this.props) ignore(ctx, this.option, why, `-device ${this.driver} ${k}=${v}`);
  }

  /** Names the part `${prefix}N` at the end of the parse when the source gave it no id. */
  nameIfNameless(ctx: ParseContext, part: { id: string }, prefix: string): void {
    if (this.id === undefined) nameLater(ctx, part, prefix, (id) => this.notes.push(`no id given: named ${id}`));
  }

  record(ctx: ParseContext, kind: 'bus' | 'smmu' | 'device', part: { id: string }): void {
    recordPart(ctx, this.option.at, `-device ${this.option.value}`, { kind, id: part.id }, this.notes);
  }
}
