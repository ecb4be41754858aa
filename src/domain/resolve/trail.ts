// Collects the steps of a resolution in order. Each step names the events it relied on, so a
// reader can go from any conclusion back to the recorded change that caused it.

import { uniqueRefs } from '../translation/topology-facts.js';
import type { EventRef } from '../topology/types.js';
import type { TrailStep } from './types.js';

export class Trail {
  private readonly steps: TrailStep[] = [];

  add(step: Omit<TrailStep, 'step' | 'events'> & { events: readonly EventRef[] }): void {
    this.steps.push({ step: this.steps.length + 1, ...step, events: uniqueRefs(step.events) });
  }

  toArray(): TrailStep[] {
    return [...this.steps];
  }
}

/** A trail that keeps nothing: for the other semantics of the comparison, where only the route matters. */
export class DiscardedTrail extends Trail {
  override add(): void {}
}
