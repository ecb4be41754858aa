// Why a fleet sweep judged a VM as it did (issue 19, "the fleet view answers"): the verdict enum
// is the contract's and stays as it is; the reason says what the verdict rests on, so that a VM
// whose build is unknown, or that has no vector to judge, is shown as what it is and never read
// as a plain `ok`. Pure: the VM's state and the counts in, words out.

import { implicationsOf } from '../guest/implied.js';
import type { QemuBuildClassification } from '../qemu-build/classify.js';
import { describeBuild } from '../qemu-build/semantics.js';
import type { Semantics } from '../resolve/types.js';
import type { VmState } from '../topology/types.js';
import type { FleetCounts, FleetVerdict } from './verdict.js';

/** Where the vectors a fleet sweep resolved came from. */
export interface VectorSources {
  /** Programmed by a recorded MsiVectorProgrammed. */
  recorded: number;
  /** Implied by the declared guest profile (GuestProfileDeclared), for a device with none recorded. */
  assumed: number;
  /** The declared guest profile, or null. */
  profile: string | null;
}

/** Counts the vectors of the VM as the resolver reads it (its profile's layer applied) by where each came from. */
export function vectorSourcesOf(layered: VmState): VectorSources {
  let recorded = 0;
  let assumed = 0;
  const profileEvent = layered.guest?.setBy.position;
  for (const device of layered.devices.values())
    for (const v of device.vectors.values()) {
      if (v.setBy.type === 'GuestProfileDeclared' && v.setBy.position === profileEvent) assumed++;
      else recorded++;
    }
  return { recorded, assumed, profile: layered.guest?.declared.profile ?? null };
}

export interface ReasonInput {
  /** The VM as stored (the profile's layer not applied). */
  state: VmState;
  build: QemuBuildClassification;
  verdict: FleetVerdict;
  own: Semantics;
  target: Semantics;
  counts: FleetCounts;
  countsUnderTarget: FleetCounts;
  sources: VectorSources;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** What the build part of the verdict rests on. */
function buildReason({ build, state }: ReasonInput): string | undefined {
  if (build.behaviour === 'none')
    return `${describeBuild(build)} has behaviour none (${build.basis}): no accel SMMUv3, so the MSI fix does not apply`;
  if (build.behaviour !== 'unknown') return undefined;
  const declare = `declare it (qemu on the import, doorbell import --probe-qemu, doorbell probe-qemu --vm ${state.id}, or PUT /v1/vms/${state.id}/qemu)`;
  if (build.version === null && build.package === null && build.smmuProperties === null)
    return `no QEMU build declared, so its MSI behaviour is unknown and the counts are made as upstream routes them; ${declare}`;
  return `${describeBuild(build)}: its MSI behaviour is unknown (${build.basis}), so the counts are made as upstream routes them; ${declare}`;
}

/** Why there is nothing to judge: no devices, no profile, or a profile that implies no vectors here. */
function noVectorsReason({ state, sources }: ReasonInput): string {
  if (state.devices.size === 0) return 'no devices, so no vectors: nothing was judged';
  if (sources.profile === null)
    return `no programmed vectors and no guest profile to imply them: nothing was judged (declare one: guest on the import, doorbell import --guest-profile, or PUT /v1/vms/${state.id}/guest)`;
  const why = implicationsOf(state)
    .map((i) => (i.applies ? i.notes.find((n) => n.rule.startsWith('vectors-'))?.text : i.reason))
    .filter((t): t is string => t !== undefined);
  return `no programmed vectors, and the guest profile ${sources.profile} implies none here: nothing was judged (${[...new Set(why)].join('; ')})`;
}

function sourcesText(sources: VectorSources): string {
  const parts = [];
  if (sources.recorded > 0) parts.push(`${sources.recorded} recorded`);
  if (sources.assumed > 0) parts.push(`${sources.assumed} assumed from ${sources.profile}`);
  return parts.join(', ');
}

/** What the counts say, under the VM's own semantics and the target's. */
function countsReason(input: ReasonInput): string {
  const { counts, countsUnderTarget, own, target, sources } = input;
  const vectors = `${plural(counts.vectors, 'vector')} (${sourcesText(sources)})`;
  const lost = (n: number, semantics: Semantics) =>
    n === 0
      ? `none loses its interrupts under ${semantics}`
      : `${n} ${n === 1 ? 'loses its' : 'lose their'} interrupts under ${semantics}`;
  if (own === target) return `${vectors}: ${lost(counts.interruptsLost, own)}, its own behaviour and the target's`;
  return `${vectors}: ${lost(counts.interruptsLost, own)} (its own), ${lost(countsUnderTarget.interruptsLost, target)} (the target)`;
}

/** One sentence, the parts joined by "; ": the build's part, then the vectors'. */
export function fleetReasonOf(input: ReasonInput): string {
  const parts = [buildReason(input), input.counts.vectors === 0 ? noVectorsReason(input) : countsReason(input)];
  return parts.filter((p) => p !== undefined).join('; ');
}
