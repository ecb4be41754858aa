// Collects the steps of a resolution in order. Each step names the events it relied on, so a
// reader can go from any conclusion back to the recorded change that caused it.

import { uniqueRefs } from '../translation/topology-facts.js';
import type { EventRef } from '../topology/types.js';
import type { TrailStep } from './types.js';

/** Says a step's facts were assumed (from a guest profile), with the citation, when they were. */
export type Assumption = (step: {
  events: readonly EventRef[];
  input: Record<string, unknown>;
}) => { prefix: string; citation: string } | undefined;

export class Trail {
  private readonly steps: TrailStep[] = [];

  constructor(private readonly assumption?: Assumption) {}

  add(step: Omit<TrailStep, 'step' | 'events'> & { events: readonly EventRef[] }): void {
    const assumed = this.assumption?.(step);
    const said = assumed
      ? {
          ...step,
          action: `${assumed.prefix}${step.action}`,
          source: step.source === undefined ? assumed.citation : `${step.source}; ${assumed.citation}`,
        }
      : step;
    this.steps.push({ step: this.steps.length + 1, ...said, events: uniqueRefs(step.events) });
  }

  toArray(): TrailStep[] {
    return [...this.steps];
  }
}

/** A trail that keeps nothing: for the other semantics of the comparison, where only the route matters. */
export class DiscardedTrail extends Trail {
  override add(): void {}
}
