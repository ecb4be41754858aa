// Where things can be read again: the paths of resources, records and pictures, and absolute URLs
// on a base (DOORBELL_PUBLIC_URL, or the scheme and host the request came to; see api/links.ts).
// Every link the service answers with is built here.

export const resolutionPath = (id: string) => `/v1/msi-resolutions/${id}`;
export const sweepPath = (id: string) => `/v1/msi-sweeps/${id}`;
export const fleetSweepPath = (id: string) => `/v1/fleet-sweeps/${id}`;
export const vmPath = (vm: string) => `/v1/vms/${vm}`;
export const tokenPath = (id: string) => `/v1/tokens/${id}`;
/** An event's link: the one-event page of the log that holds it (an event has no path of its own). */
export const eventPagePath = (position: number) => `/v1/events?after=${position - 1}&limit=1`;
/** The paths of a VM's parts. */
export const resourcePaths = {
  bus: (vm: string, bus: string) => `${vmPath(vm)}/buses/${bus}`,
  smmu: (vm: string, smmu: string) => `${vmPath(vm)}/smmus/${smmu}`,
  device: (vm: string, device: string) => `${vmPath(vm)}/devices/${device}`,
  /** `id`: the mapping's own, `<stage>/<iova in hex>`. */
  mapping: (vm: string, device: string, id: string) => `${resourcePaths.device(vm, device)}/mappings/${id}`,
  vector: (vm: string, device: string, vector: number) => `${resourcePaths.device(vm, device)}/msi-vectors/${vector}`,
};
export const routePath = (vm: string, device: string, vector: number) =>
  `/v1/vms/${vm}/devices/${device}/msi-vectors/${vector}/route`;

/** A query string of the parameters that were given, in the order given; '' when none was. */
export function queryOf(parameters: Record<string, string | number | undefined>): string {
  const given = Object.entries(parameters).filter((e): e is [string, string | number] => e[1] !== undefined);
  return given.length === 0
    ? ''
    : `?${given.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`).join('&')}`;
}

/** The picture (SVG) of each kind of answer, as an absolute URL on `base` (no trailing slash). */
export const pictureUrls = {
  resolution: (base: string, id: string) => `${base}${resolutionPath(id)}.svg`,
  route: (base: string, vm: string, device: string, vector: number, query: { semantics?: string; asOf?: number }) =>
    `${base}${routePath(vm, device, vector)}.svg${queryOf(query)}`,
  topology: (base: string, vm: string, asOf?: number) => `${base}${vmPath(vm)}/topology.svg${queryOf({ asOf })}`,
  fleetSweep: (base: string, id: string) => `${base}${fleetSweepPath(id)}.svg`,
};
