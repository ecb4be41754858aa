// An event as GET /v1/events shows it: written once for the HTTP log, the change feed and the
// webhook deliverer (which sends these same bytes as a delivery's body).

import type { StoredEvent } from '../db/port.js';
import { eventPagePath } from './links.js';

/** An event's link: the one-event page of the log that holds it. */
export const eventUrl = (base: string, position: number) => `${base}${eventPagePath(position)}`;

export const eventDisplay = (e: StoredEvent) => `#${e.position} ${e.type} (${e.streamId}, version ${e.streamVersion})`;

/** An event without its `url`: what every reader shares, so the change feed serializes it once per node. */
export function eventBody(event: StoredEvent) {
  return {
    display: eventDisplay(event),
    position: event.position,
    streamId: event.streamId,
    streamVersion: event.streamVersion,
    eventId: event.eventId,
    type: event.type,
    schemaVersion: event.schemaVersion,
    data: event.data,
    metadata: event.metadata,
  };
}

export function eventResource(event: StoredEvent, base: string) {
  return { url: eventUrl(base, event.position), ...eventBody(event) };
}

/** The JSON of eventResource, built from the JSON of eventBody: the same bytes GET /v1/events sends. */
export const eventJson = (base: string, position: number, bodyJson: string) =>
  `{"url":${JSON.stringify(eventUrl(base, position))},${bodyJson.slice(1)}`;
