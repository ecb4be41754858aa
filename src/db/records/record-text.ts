// The JSON of a resolution record: the record's id and VM, then the resolution's own fields. The
// answer to POST msi-resolutions is built with it, and a stored record is rebuilt with it from
// its shared body, so that the two are the same bytes.

export function recordText(id: string, vmId: string, resolutionJson: string): string {
  return `{"id":${JSON.stringify(id)},"vm":${JSON.stringify(vmId)},${resolutionJson.slice(1)}`;
}

/** A sweep's JSON from its head (with empty results) and its resolution records, in order. */
export function sweepText(head: string, records: readonly string[]): string {
  return `${head.slice(0, -2)}${records.join(',')}]}`;
}
