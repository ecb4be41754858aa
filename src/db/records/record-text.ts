// The JSON of a resolution record: the record's id, VM and picture, then the resolution's own
// fields. The answer to POST msi-resolutions (and, without an id, a live route) is built with it,
// and a stored record is rebuilt with it from its shared body, so that the two are the same bytes.

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
