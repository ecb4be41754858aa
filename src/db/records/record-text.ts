// The JSON of a resolution record: the record's id and VM, then the resolution's own fields. The
// answer to POST msi-resolutions is built with it, and a stored record is rebuilt with it from
// its shared body, so that the two are the same bytes.

export function recordText(id: string, vmId: string, resolutionJson: string): string {
  return `{"id":${JSON.stringify(id)},"vm":${JSON.stringify(vmId)},${resolutionJson.slice(1)}`;
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
