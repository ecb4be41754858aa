// Loading what a request names, with the 404s a client should see.

import { parseHex } from '../domain/address';
import { DomainError } from '../domain/errors';
import type { VmState } from '../domain/topology/types';
import type { Stores } from '../db/stores';

/** The VM now, or as of a version; 404 when either does not exist. */
export function loadVm(stores: Stores, vmId: string, asOf?: number): VmState {
  const latest = stores.vms.load(vmId);
  if (latest === undefined) throw new DomainError('VM_NOT_FOUND', `VM ${vmId} does not exist`);
  if (asOf === undefined) return latest;
  const state = stores.vms.loadAsOf(vmId, asOf);
  if (state === undefined) {
    throw new DomainError('VERSION_NOT_FOUND', `asOf: VM ${vmId} has versions 1 to ${latest.version}, not ${asOf}`, '/asOf');
  }
  return state;
}

/** A hex field the route schema already validated. */
export function u64(text: string): bigint {
  const value = parseHex(text);
  if (value === undefined) throw new Error(`schema let through a value that is not hex: ${text}`);
  return value;
}

export function optionalU64(text: string | undefined): bigint | undefined {
  return text === undefined ? undefined : u64(text);
}

export function page<T>(items: T[], total: number, limit: number, offset: number, path: string) {
  const link = (o: number) => `${path}${path.includes('?') ? '&' : '?'}limit=${limit}&offset=${o}`;
  return {
    count: total,
    next: offset + limit < total ? link(offset + limit) : null,
    previous: offset > 0 ? link(Math.max(0, offset - limit)) : null,
    results: items,
  };
}
