// What a declared guest profile implies for one device of a VM, and the VM as the resolver sees it
// with those implications filling in what nobody recorded. Recorded state always wins: a device's
// STE is implied only while it has the defaults of its attachment, its stage-1 mappings only while
// it has none recorded, its vectors only while it has none programmed. The implied facts rest on
// the GuestProfileDeclared event, and the trail says they were assumed (assumedFrom).

import { hex } from '../address.js';
import { DEFAULT_CD } from '../topology/defaults.js';
import { installSte } from '../topology/hwpt.js';
import type {
  Device,
  EventRef,
  Granule,
  GuestProfileFact,
  Mapping,
  MsiVector,
  Ste,
  VmState,
} from '../topology/types.js';
import { type DevicePlacement, isVfio, placementOf, virtioIommuOf } from '../translation/topology-facts.js';
import { msiControllerOf, SW_MSI_BASE, SW_MSI_LENGTH, VITS_DOORBELL } from '../virt-board.js';
import {
  citationText,
  GUEST_PROFILES,
  type GuestDeclaration,
  type GuestPageSize,
  type GuestProfile,
  type GuestRuleId,
  ruleOf,
} from './profiles.js';

const FOUR_GIB = 0x1_0000_0000n;

export const GRANULE_OF_PAGE: Record<GuestPageSize, Granule> = { 4096: '4K', 16384: '16K', 65536: '64K' };

export interface ImpliedMapping {
  iova: bigint;
  output: bigint;
  size: bigint;
  perm: 'rw';
  rule: GuestRuleId;
}

export interface ImpliedVector {
  vector: number;
  address: bigint;
  data: bigint;
}

/** What the profile says the guest programs for one device, and why. */
export interface DeviceImplication {
  device: string;
  /** false: the profile says nothing of this device (no MSI controller, GICv2m); reason says why. */
  applies: boolean;
  /** How the guest reaches the device: its SMMU's domain, a virtio-iommu, or no IOMMU. */
  iommu: 'smmuv3' | 'virtio-iommu' | 'none';
  /** The STE the guest writes (null without an SMMU covering the device). */
  ste: Ste | null;
  mappings: ImpliedMapping[];
  vectors: ImpliedVector[];
  /** Each fact with the rule it comes from, in words. */
  notes: { rule: GuestRuleId; text: string }[];
  reason?: string;
}

/** How many vectors the guest driver allocates, by driver (vp_find_vqs_msix and the overrides). */
function vectorCount(device: Device, declared: GuestDeclaration): { count: number; rule: GuestRuleId; text: string } {
  const override = declared.vectors[device.id];
  const rule: GuestRuleId =
    device.driver === 'virtio-net-pci'
      ? 'vectors-virtio-net'
      : device.driver === 'virtio-blk-pci'
        ? 'vectors-virtio-blk'
        : 'vectors-vfio';
  if (override !== undefined)
    return { count: override, rule, text: `${override} vectors, as declared for ${device.id}` };
  // 2N + 1 with N = 1 queue pair; 1 + one request queue.
  if (rule === 'vectors-virtio-net')
    return { count: 3, rule, text: 'virtio-net-pci, one queue pair: 2 * 1 + 1 = 3 vectors' };
  if (rule === 'vectors-virtio-blk')
    return { count: 2, rule, text: 'virtio-blk-pci, one request queue assumed: 1 + 1 = 2 vectors' };
  const what = isVfio(device.driver)
    ? `${device.id} is vfio-pci: its MSI-X table size on the host is not in the topology, so no vectors are implied (declare vectors.${device.id})`
    : `${device.id} is ${device.driver}: the profile does not know how many vectors its driver allocates (declare vectors.${device.id})`;
  return { count: 0, rule, text: what };
}

/** The doorbell page's IOVA in a fresh DMA domain: the top page below 4 GiB (alloc_iova, top-down). */
export function doorbellPageIova(pageSize: GuestPageSize): bigint {
  return FOUR_GIB - BigInt(pageSize);
}

/** The implications of the declared profile for one device of the VM (as the device is placed now). */
export function implicationFor(state: VmState, device: Device, declared: GuestDeclaration): DeviceImplication {
  const profile = GUEST_PROFILES[declared.profile];
  return implicationAt(state, device, placementOf(state, device), declared, profile);
}

function implicationAt(
  state: VmState,
  device: Device,
  placement: DevicePlacement,
  declared: GuestDeclaration,
  profile: GuestProfile,
): DeviceImplication {
  const controller = msiControllerOf(state.board);
  const viommu = placement.virtioIommu !== undefined && placement.untranslated === null;
  const iommu = placement.smmu !== undefined ? 'smmuv3' : viommu ? 'virtio-iommu' : 'none';
  const base = { device: device.id, iommu, mappings: [], vectors: [], notes: [] } as const;
  if (controller !== 'its') {
    const reason =
      controller === 'gicv2m'
        ? `GICv2m: ${profile.id} describes the GICv3 ITS driver; a GICv2m MSI is an SPI that KVM maps straight to a GSI (gsi-direct), so the profile does not apply`
        : `GICv3 without an ITS: there is no MSI controller, so ${profile.id} implies no MSI-X vectors`;
    return {
      ...base,
      applies: false,
      ste: null,
      mappings: [],
      vectors: [],
      notes: [{ rule: 'gicv2m', text: reason }],
      reason,
    };
  }
  const notes: DeviceImplication['notes'] = [];
  const granule = GRANULE_OF_PAGE[declared.pageSize];
  const translated = placement.smmu !== undefined && profile.domain === 'dma';
  let ste: Ste | null = null;
  const mappings: ImpliedMapping[] = [];
  if (placement.smmu !== undefined) {
    ste = translated
      ? {
          config: 's1',
          cd: { ...DEFAULT_CD, granule, t1sz: DEFAULT_CD.t0sz },
          s2: null,
          cdAddress: null,
          ttb0: null,
          ttb1: null,
        }
      : { config: 'bypass', cd: null, s2: null, cdAddress: null, ttb0: null, ttb1: null };
    notes.push({ rule: 'ste', text: translated ? `STE.Config = s1, CD granule ${granule}` : 'STE.Config = bypass' });
  }
  let address = VITS_DOORBELL;
  if (translated) {
    const page = BigInt(declared.pageSize);
    const doorbellPage = VITS_DOORBELL - (VITS_DOORBELL % page);
    const iova = doorbellPageIova(declared.pageSize);
    mappings.push({ iova, output: doorbellPage, size: page, perm: 'rw', rule: 'msi-page' });
    notes.push({
      rule: 'msi-page',
      text: `stage 1 maps IOVA ${hex(iova)} -> the doorbell page ${hex(doorbellPage)} (${granule})`,
    });
    if (placement.smmu!.accel.value && placement.smmu!.guest.rmrHonoured.value) {
      mappings.push({ iova: SW_MSI_BASE, output: SW_MSI_BASE, size: SW_MSI_LENGTH, perm: 'rw', rule: 'rmr-identity' });
      notes.push({
        rule: 'rmr-identity',
        text: `stage 1 maps the RMR ${hex(SW_MSI_BASE)}-${hex(SW_MSI_BASE + SW_MSI_LENGTH - 1n)} 1:1`,
      });
    }
    address = iova + (VITS_DOORBELL % page);
  }
  const count = vectorCount(device, declared);
  notes.push({ rule: count.rule, text: count.text });
  const vectors = Array.from({ length: count.count }, (_, n) => ({ vector: n, address, data: BigInt(n) }));
  if (count.count > 0)
    notes.push({
      rule: viommu ? 'virtio-iommu-msi' : 'msi-address',
      text: `MSI-X address ${hex(address)}${translated ? ' (the doorbell page IOVA + 0x40)' : ' (the doorbell gPA)'}, data = EventID 0..${count.count - 1}`,
    });
  return { ...base, applies: true, ste, mappings, vectors, notes };
}

/** Every device's implications, by device id (the VM's declared profile; none without one). */
export function implicationsOf(state: VmState): DeviceImplication[] {
  const guest = state.guest;
  if (guest === null) return [];
  return [...state.devices.values()]
    .sort((a, b) => a.id.localeCompare(b.id))
    .map((device) => implicationFor(state, device, guest.declared));
}

/** Whether a device's STE is still the one of its attachment (no SteConfigured recorded). */
function steRecorded(device: Device): boolean {
  return device.ste.setBy.position !== device.attachedBy.position || device.ste.setBy.type !== 'DeviceAttached';
}

/**
 * The VM as the resolver reads it: the profile's implications where the VM has no recorded guest
 * state. The same state, untouched, when the VM declares no profile.
 */
export function withGuestProfile(state: VmState): VmState {
  if (state.guest === null) return state;
  // A sweep resolves every vector of the same state: the layer is computed once per state.
  let layered = LAYERED.get(state);
  if (layered === undefined) {
    layered = layer(state, state.guest);
    LAYERED.set(state, layered);
  }
  return layered;
}

const LAYERED = new WeakMap<VmState, VmState>();

function layer(state: VmState, guest: GuestProfileFact): VmState {
  const ref = guest.setBy;
  const devices = new Map(state.devices);
  for (const device of state.devices.values()) {
    const placement = placementOf(state, device);
    const implied = implicationAt(state, device, placement, guest.declared, GUEST_PROFILES[guest.declared.profile]);
    if (!implied.applies) continue;
    let next: Device = device;
    if (implied.ste !== null && !steRecorded(device))
      next = {
        ...next,
        ...installSte(next, implied.ste, placement.smmu, placement.streamId, ref),
        ste: { ...implied.ste, setBy: ref },
      };
    if (next.ste.config === 's1' && device.mappings[1].count === 0 && implied.mappings.length > 0) {
      let index = device.mappings[1];
      for (const m of implied.mappings)
        index = index.insert(m.iova, m.size, {
          stage: 1,
          iova: m.iova,
          output: m.output,
          size: m.size,
          perm: m.perm,
          accessFlag: true,
          setBy: ref,
        } satisfies Mapping);
      next = { ...next, mappings: { 1: index, 2: device.mappings[2] } };
    }
    if (device.vectors.size === 0 && implied.vectors.length > 0) {
      const vectors = new Map<number, MsiVector>();
      for (const v of implied.vectors) vectors.set(v.vector, { ...v, setBy: ref });
      next = { ...next, vectors };
    }
    if (next !== device) devices.set(device.id, next);
  }
  return { ...state, devices };
}

/**
 * For a trail step: when its facts rest on the profile's event, the words that say so and the
 * citations of the rules that gave them.
 */
export function assumedFrom(
  state: VmState,
  step: { events: readonly EventRef[]; input: Record<string, unknown> },
): { prefix: string; citation: string } | undefined {
  const guest = state.guest;
  if (guest === null) return undefined;
  if (!step.events.some((e) => e.type === 'GuestProfileDeclared' && e.position === guest.setBy.position))
    return undefined;
  const profile = GUEST_PROFILES[guest.declared.profile];
  // A step that reads a vector rests on the MSI-X rules; any other on the STE, CD and stage-1 rules.
  const ids: readonly GuestRuleId[] =
    'vector' in step.input
      ? [virtioIommuOf(state) === undefined ? 'msi-address' : 'virtio-iommu-msi', 'msi-data']
      : ['ste', 'cd', 'msi-page', 'rmr-identity'];
  return assumedWords(profile, ids);
}

/** The words are the same for every step of a kind: a sweep of many vectors builds them once. */
const WORDS = new Map<string, { prefix: string; citation: string }>();

function assumedWords(profile: GuestProfile, ids: readonly GuestRuleId[]): { prefix: string; citation: string } {
  const key = `${profile.id}|${profile.version}|${ids.join(',')}`;
  let words = WORDS.get(key);
  if (words === undefined) {
    const rules = ids.map((id) => ruleOf(profile, id)).filter((r) => r !== undefined);
    words = {
      prefix: `assumed from ${profile.id} (v${profile.version}, ${profile.kernels}): `,
      citation: rules.map(citationText).join('; '),
    };
    WORDS.set(key, words);
  }
  return words;
}
