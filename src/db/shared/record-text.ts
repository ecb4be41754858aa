// The JSON of a resolution record: the record's id, VM and picture, then the resolution's own
// fields. The answer to POST msi-resolutions (and, without an id, a live route) is built with it,
// and a stored record is rebuilt with it from its shared body, so that the two are the same bytes.
// Written once for both engines.

import type { ListedRecord } from '../port.js';
import { unpack } from './codec.mjs';

export function recordText(
  id: string | undefined,
  vmId: string,
  resolutionJson: string,
  picture?: string | null,
): string {
  const head = [
    ...(id === undefined ? [] : [`"id":${JSON.stringify(id)}`]),
    `"vm":${JSON.stringify(vmId)}`,
    ...(picture === undefined || picture === null ? [] : [`"picture":${JSON.stringify(picture)}`]),
  ].join(',');
  return `{${head},${resolutionJson.slice(1)}`;
}

/** A page of a sweep's results, as a list pages (contract: lists). */
export interface SweepPage {
  count: number;
  next: string | null;
  previous: string | null;
  records: readonly string[];
}

/** A sweep's JSON: its head (id, vm, asOfVersion, semantics, counts), then one page of its records. */
export function sweepText(head: string, page: SweepPage): string {
  const links = `"count":${page.count},"next":${JSON.stringify(page.next)},"previous":${JSON.stringify(page.previous)}`;
  return `${head.slice(0, -1)},${links},"results":[${page.records.join(',')}]}`;
}

/** The columns a stored resolution record's text is rebuilt from: its row and its shared body. */
export interface RecordColumns {
  id: string;
  vmId: string;
  body: string;
  picture: string | null;
  codec: string | null;
  packed: Buffer | null;
}

/** How many unpacked bodies stay cached: a sweep of an unchanged VM read again unpacks nothing. */
const BODY_CACHE_SIZE = 512;

/** A record's text from its row and its shared body, unpacked bodies cached. */
export class RecordTexts {
  private readonly bodies = new Map<string, string>();

  textOf(row: RecordColumns): string {
    if (row.codec === null || row.packed === null) return row.body;
    const key = `${row.codec}:${row.packed.toString('base64')}`;
    let json = this.bodies.get(key);
    if (json === undefined) {
      json = unpack(row.codec, row.packed);
      if (this.bodies.size >= BODY_CACHE_SIZE) this.bodies.delete(this.bodies.keys().next().value!);
      this.bodies.set(key, json);
    }
    return recordText(row.id, row.vmId, json, row.picture);
  }

  /** A resolution record of a list. */
  listed(row: RecordColumns & { device: string | null; semantics: string | null }): ListedRecord {
    return { id: row.id, vm: row.vmId, device: row.device, semantics: row.semantics, text: this.textOf(row) };
  }
}

/** A sweep record of a list: its head (no results). */
export function listedSweep(row: { id: string; vmId: string; semantics: string | null; body: string }): ListedRecord {
  return { id: row.id, vm: row.vmId, device: null, semantics: row.semantics, text: row.body };
}
