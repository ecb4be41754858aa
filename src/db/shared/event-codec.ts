// How event data is stored: JSON whose 64-bit values are fixed-width hex strings. Which fields are
// 64-bit is listed per event type, so decoding never has to guess from a string's look (a client's
// id may well look like hex).

import { hexFixed } from '../../domain/address.js';
import type { DomainEvent, EventDataByType, EventType } from '../../domain/topology/types.js';

type BigintKeys<T> = {
  [K in keyof T]-?: Exclude<T[K], undefined> extends bigint | null ? (bigint extends T[K] ? K : never) : never;
}[keyof T];

const BIGINT_FIELDS: { [T in EventType]: readonly BigintKeys<EventDataByType[T]>[] } = {
  VmDefined: ['ramSize', 'hostItsBase'],
  BusAdded: [],
  SmmuAdded: [],
  SmmuAccelModeChanged: [],
  SmmuGuestStateChanged: [],
  DeviceAttached: [],
  DeviceDetached: [],
  BusRemoved: [],
  SmmuRemoved: [],
  BoardChanged: ['ramSize'],
  SteConfigured: ['cdAddress', 'ttb0', 'ttb1'],
  IovaMapped: ['iova', 'output', 'size'],
  IovaUnmapped: ['iova'],
  MsiVectorProgrammed: ['address', 'data'],
  QemuBuildDeclared: [],
  GuestProfileDeclared: [],
  VmDecommissioned: [],
};

/** Every event type the log can hold, in the order the domain lists them. */
export const EVENT_TYPES = Object.keys(BIGINT_FIELDS) as EventType[];

/** The schema version written with every event; bump it when an event's data changes shape. */
export const EVENT_SCHEMA_VERSION = 1;

export function encodeEventData(event: DomainEvent): string {
  return JSON.stringify(event.data, (_key, value: unknown) => (typeof value === 'bigint' ? hexFixed(value) : value));
}

export function decodeEventData<T extends EventType>(type: T, json: string): EventDataByType[T] {
  const fields = BIGINT_FIELDS[type] as readonly string[] | undefined;
  if (fields === undefined) throw new Error(`unknown event type in the store: ${type}`);
  const data = JSON.parse(json) as Record<string, unknown>;
  for (const field of fields) {
    const value = data[field];
    if (typeof value === 'string') data[field] = BigInt(value);
  }
  return data as EventDataByType[T];
}
