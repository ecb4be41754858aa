// Reading the event log: one VM's events in stream order, or every event after a global position
// (filtered by VM and type) with how many there are.

import type { EventFilter, Stores, StoredEvent } from '../db/port.js';
import type { VmState } from '../domain/topology/types.js';
import { loadVm } from './load-vm.js';
import type { Services } from './services.js';

/** A page of a VM's events after `offset` (stream versions run 1..version without gaps); 404 when there is no VM. */
export async function vmEvents(
  services: Services,
  vmId: string,
  page: { limit: number; offset: number },
): Promise<{ state: VmState; events: StoredEvent[] }> {
  const state = await loadVm(services, vmId);
  const events = await services.stores.events.readStream(vmId, {
    afterVersion: page.offset,
    toVersion: state.version,
    limit: page.limit,
  });
  return { state, events };
}

/** A page of the events after `after` that pass the filter, and how many pass it. */
export async function logEvents(
  stores: Pick<Stores, 'events'>,
  after: number,
  filter: EventFilter,
  page: { limit: number; offset: number },
): Promise<{ events: StoredEvent[]; total: number }> {
  const total = await stores.events.countAfter(after, filter);
  const events = await stores.events.readAfter(after, filter, page);
  return { events, total };
}

/** The log's last position: where a change feed that asks for nothing older starts. */
export const lastPosition = (stores: Pick<Stores, 'events'>): Promise<number> => stores.events.lastPosition();
