// Webhooks (admin): what an admin sends to make or change one, how one is shown (its secret only
// in the answers to create and rotate-secret), a delivery attempt, and the payload a receiver gets.

import { Type } from '@sinclair/typebox';
import { DELIVERY_OUTCOMES } from '../../db/port.js';
import { EVENT_TYPES } from '../../db/shared/event-codec.js';
import { Body, Id, Nullable, OneOf } from './common.js';

const Url = Type.String({
  maxLength: 2048,
  description:
    'where deliveries are POSTed: http or https, no credentials, a host DOORBELL_WEBHOOK_ALLOW allows (default: loopback only)',
  examples: ['http://127.0.0.1:9000/doorbell'],
});
const EventTypes = Type.Array(OneOf(EVENT_TYPES, 'an event type'), {
  uniqueItems: true,
  description: 'only events of these types (empty or absent: all)',
});
const Vms = Type.Array(Id('VM id', 'vm1'), {
  uniqueItems: true,
  description: 'only events of these VMs (empty or absent: all)',
});
const Enabled = Type.Boolean({
  description: 'false: nothing is delivered; true again: delivery resumes at the cursor',
});

export const CreateWebhookBody = Body(
  { url: Url, eventTypes: Type.Optional(EventTypes), vms: Type.Optional(Vms), enabled: Type.Optional(Enabled) },
  {
    examples: {
      all: { summary: 'every event to a receiver on this machine', value: { url: 'http://127.0.0.1:9000/doorbell' } },
      some: {
        summary: "one VM's device changes",
        value: {
          url: 'http://127.0.0.1:9000/doorbell',
          eventTypes: ['DeviceAttached', 'DeviceDetached'],
          vms: ['vm1'],
        },
      },
    },
  },
);

export const UpdateWebhookBody = Body(
  {
    url: Type.Optional(Url),
    eventTypes: Type.Optional(EventTypes),
    vms: Type.Optional(Vms),
    enabled: Type.Optional(Enabled),
  },
  { examples: { disable: { summary: 'stop delivering', value: { enabled: false } } } },
);

/** Any id-shaped text: one that names no webhook is a 404, as for every other resource. */
export const WebhookParams = Type.Object({ id: Id('webhook id (16 hex digits)', '0123456789abcdef') });

const webhookFields = {
  id: Type.String(),
  url: Type.String({ description: 'the target the deliveries are POSTed to' }),
  self: Type.String({ format: 'uri', description: 'where to GET this webhook (admin)' }),
  display: Type.String(),
  eventTypes: Type.Array(Type.String()),
  vms: Type.Array(Type.String()),
  enabled: Type.Boolean(),
  disabledReason: Nullable(Type.String({ description: 'why the service disabled it (a 410, retries exhausted)' })),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
  cursor: Type.Integer({ description: 'every matching event at or before this position was delivered (answered 2xx)' }),
  failures: Type.Integer({ description: 'failed attempts in a row at the next event' }),
  nextAttemptAt: Nullable(Type.String({ format: 'date-time', description: 'when the next retry is due' })),
  previousSecretExpiresAt: Nullable(
    Type.String({ format: 'date-time', description: 'until when the secret before the last rotation also signs' }),
  ),
};

export const WebhookSchema = Type.Object(webhookFields, {
  $id: 'Webhook',
  description: 'a webhook, without its secret',
});

export const NewWebhookSchema = Type.Object(
  {
    ...webhookFields,
    secret: Type.String({
      description: 'the signing secret (whsec_ + base64), shown in this answer only: give it to the receiver',
    }),
  },
  { description: 'a webhook with its secret' },
);

export const DeliverySchema = Type.Object(
  {
    id: Type.Integer(),
    position: Type.Integer({ description: 'the event position (0: a ping)' }),
    eventType: Type.String(),
    webhookId: Type.String({ description: 'the webhook-id header sent: the same for every attempt at one event' }),
    attempt: Type.Integer({ description: '1 for the first attempt at the event, 2 for the first retry, ...' }),
    outcome: OneOf(
      DELIVERY_OUTCOMES,
      'delivered: 2xx; failed: another answer or none; gone: 410; refused: the target is not allowed',
    ),
    status: Nullable(Type.Integer({ description: "the receiver's HTTP status" })),
    error: Nullable(Type.String()),
    attemptedAt: Type.String({ format: 'date-time' }),
    latencyMs: Type.Integer(),
    response: Nullable(Type.String({ description: "the first 512 bytes of the receiver's answer" })),
    node: Type.String({ description: 'the service node that made the attempt' }),
  },
  { $id: 'WebhookDelivery', description: 'one delivery attempt' },
);

/**
 * What a receiver gets (documented here: the document is OpenAPI 3.0, which has no `webhooks`):
 * POST with the event as GET /v1/events shows it and the three Standard Webhooks headers.
 */
export const WebhookPayloadSchema = Type.Object(
  {
    url: Type.String({ format: 'uri' }),
    display: Type.String(),
    position: Type.Integer(),
    streamId: Type.String(),
    streamVersion: Type.Integer(),
    eventId: Type.String(),
    type: Type.String(),
    schemaVersion: Type.Integer(),
    data: Type.Object({}, { additionalProperties: true }),
    metadata: Type.Object({}, { additionalProperties: true }),
  },
  {
    $id: 'WebhookPayload',
    description: [
      "The body of a webhook delivery: an HTTP POST to the hook's url, Content-Type application/json, the event",
      'exactly as GET /v1/events shows it. Headers (the Standard Webhooks scheme, https://www.standardwebhooks.com):',
      '`webhook-id` (msg_<hook id>_<position>: the same on every retry, so a receiver drops duplicates),',
      '`webhook-timestamp` (seconds since the epoch of this attempt), `webhook-signature` (`v1,<base64 HMAC-SHA256',
      'of id.timestamp.body>` with the secret after `whsec_`; two space-separated signatures during the grace period of',
      'a rotation). Deliveries to one hook come in position order, at least once. A ping (doorbell webhooks test) is',
      '`{"type":"WebhookPing","webhook":<id>,"occurredAt":...}` with the same headers.',
    ].join(' '),
  },
);
