// Where things can be read again: the paths of records and pictures, and absolute URLs on a base
// (DOORBELL_PUBLIC_URL, or the scheme and host the request came to; see api/links.ts).

export const resolutionPath = (id: string) => `/v1/msi-resolutions/${id}`;
export const sweepPath = (id: string) => `/v1/msi-sweeps/${id}`;
export const fleetSweepPath = (id: string) => `/v1/fleet-sweeps/${id}`;
export const vmPath = (vm: string) => `/v1/vms/${vm}`;
/** The paths of a VM's parts. */
export const resourcePaths = {
  bus: (vm: string, bus: string) => `${vmPath(vm)}/buses/${bus}`,
  smmu: (vm: string, smmu: string) => `${vmPath(vm)}/smmus/${smmu}`,
  device: (vm: string, device: string) => `${vmPath(vm)}/devices/${device}`,
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
