// A resolution as the API returns it (JSON, 0x-hex strings; src/api/schemas/resolution.ts), read
// leniently: the picture must draw a stored record of any age. So both shapes of the fields that
// changed with the domain reference §9.10 are accepted — fault.stage may be null (a configuration
// fault), hardwarePath.delivered may be null (no hostItsBase), comparison may carry
// missingBeforeFix — and fields the picture does not know (such as `model`) are ignored.

export const SEMANTICS = ['pre-fix', 'address-space', 'upstream'] as const;
export type Semantics = (typeof SEMANTICS)[number];

export interface RouteView {
  readonly installed: boolean;
  readonly address?: string;
  readonly data?: string;
  readonly devid?: string;
  readonly cause?: string;
  readonly reason?: string;
}

export interface EventRefView {
  readonly position: number;
  readonly type: string;
}

export interface TrailStepView {
  readonly step: number;
  readonly action: string;
  readonly rule?: string;
  readonly source?: string;
  readonly input: Readonly<Record<string, unknown>>;
  readonly output: Readonly<Record<string, unknown>>;
  readonly events: readonly EventRefView[];
}

export interface HardwareStepView {
  readonly action: string;
  readonly input: string;
  readonly output: string | null;
  readonly events: readonly EventRefView[];
}

export interface ResolutionView {
  readonly id?: string;
  readonly vm: string;
  readonly device: string;
  readonly vector?: number;
  readonly asOfVersion: number;
  readonly semantics: Semantics;
  readonly input: { readonly address: string; readonly data: string };
  readonly streamId: string;
  readonly addressSpace: string;
  readonly route: RouteView;
  readonly fault: null | {
    readonly type: string;
    readonly code?: string;
    readonly stage?: number | null;
    readonly inputAddress?: string;
    readonly recorded?: boolean;
    readonly reason?: string;
  };
  /** The VM's virtio-iommu and its fault (model version 4, VMs with one). */
  readonly virtioIommu?: string;
  readonly virtioIommuFault?: null | {
    readonly reason: string;
    readonly flags?: readonly string[];
    readonly address?: string;
    readonly message?: string;
  };
  readonly doorbell: null | { readonly its: boolean; readonly frame?: string | null; readonly offset?: string | null };
  readonly hardwarePath: null | {
    readonly deviceWrites: string;
    readonly steps: readonly HardwareStepView[];
    readonly delivered: boolean | null;
    readonly reason?: string;
  };
  readonly diagnostics: readonly { readonly code: string; readonly severity: string; readonly message: string }[];
  readonly comparison: Readonly<Record<Semantics, RouteView>> & {
    readonly misroutedBeforeFix: boolean;
    readonly missingBeforeFix?: boolean;
  };
  readonly trail: readonly TrailStepView[];
}

/** "{0x8090040, 0x0, devid 0x200}" or "no route (cause)". */
export function describeRoute(route: RouteView): string {
  if (route.installed) return `{${route.address ?? '?'}, ${route.data ?? '?'}, devid ${route.devid ?? '?'}}`;
  return `no route${route.cause ? ` (${route.cause})` : ''}`;
}

export function sameRoute(a: RouteView, b: RouteView): boolean {
  if (!a.installed || !b.installed) return a.installed === b.installed;
  return a.address === b.address && a.data === b.data && a.devid === b.devid;
}
