// Webhooks (admin scope): make, list, read, change, delete; rotate the secret; read the delivery
// attempts; replay from a position; send a ping. Each route parses, calls one function of
// src/app/webhooks.ts (or the deliverer), and represents the answer.

import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { WebhookDeliverer } from '../../app/webhook-deliverer.js';
import type { TargetPolicy } from '../../app/webhook-targets.js';
import {
  createWebhook,
  deleteWebhook,
  deliveryView,
  listDeliveries,
  listWebhooks,
  findWebhook,
  redeliver,
  rotateSecret,
  updateWebhook,
  type WebhookView,
  webhookView,
} from '../../app/webhooks.js';
import { page, type RouteOptions, sendJson } from '../http.js';
import { baseUrlOf } from '../links.js';
import { listLink } from '../lists.js';
import { errorResponses, ListQuery, Page, Query } from '../schemas/common.js';
import { CreateWebhookBody, NewWebhookSchema, UpdateWebhookBody, WebhookParams } from '../schemas/webhook.js';

export interface WebhookRouteOptions extends RouteOptions {
  webhooks: { policy: TargetPolicy; secretGraceMs: number; deliverer: WebhookDeliverer };
}

const WebhookRef = Type.Ref('Webhook');
const json = (schema: object, description: string) => ({ description, content: { 'application/json': { schema } } });
const admin = { scope: 'admin' as const };

/** The delivery a hook's receiver gets, as an OpenAPI callback of createWebhook (3.0 has no `webhooks`). */
const DELIVERY_CALLBACK = {
  delivery: {
    '{$request.body#/url}': {
      post: {
        requestBody: {
          description:
            'the event as GET /v1/events shows it, with the headers webhook-id, webhook-timestamp, webhook-signature (see WebhookPayload)',
          content: { 'application/json': { schema: Type.Ref('WebhookPayload') } },
        },
        responses: {
          '2XX': { description: 'delivered: the hook moves on to its next event' },
          '410': { description: 'the receiver is gone: the hook is disabled at once' },
          default: { description: 'not delivered: retried with back-off (the same webhook-id) for up to a day' },
        },
      },
    },
  },
};

const webhookResource = <T extends WebhookView>(base: string, { id, url, ...view }: T) => ({
  id,
  url,
  self: `${base}/v1/webhooks/${id}`,
  display: `${url}${view.enabled ? '' : ' (disabled)'}`,
  ...view,
});

export const webhookRoutes: FastifyPluginAsyncTypebox<WebhookRouteOptions> = async (app, options) => {
  const { publicUrl } = options;
  const { stores } = options.services;
  const { policy, secretGraceMs, deliverer } = options.webhooks;

  app.post(
    '/v1/webhooks',
    {
      config: admin,
      schema: {
        operationId: 'createWebhook',
        tags: ['webhooks'],
        summary: 'Create a webhook (admin); its secret is shown once',
        description:
          'Each matching event appended from now on is POSTed to `url`, signed (see the WebhookPayload schema for the body and headers). A url whose scheme is not http(s), that carries credentials, or whose host DOORBELL_WEBHOOK_ALLOW does not allow (default: loopback only) is a 422 WEBHOOK_URL_REFUSED.',
        body: CreateWebhookBody,
        callbacks: DELIVERY_CALLBACK,
        response: {
          201: json(NewWebhookSchema, 'the webhook with its secret: give it to the receiver, it is not shown again'),
          ...errorResponses(400, 415, 422),
        },
      },
    },
    async (request, reply) => {
      const created = await createWebhook(stores, policy, request.body);
      deliverer.wake();
      const resource = webhookResource(baseUrlOf(request, publicUrl), created);
      return sendJson(reply.code(201).header('location', resource.self), resource);
    },
  );

  app.get(
    '/v1/webhooks',
    {
      config: admin,
      schema: {
        operationId: 'listWebhooks',
        tags: ['webhooks'],
        summary: 'List the webhooks (admin), oldest first, without their secrets',
        querystring: Query(ListQuery),
        response: { 200: json(Page(WebhookRef, 'webhooks'), 'webhooks'), ...errorResponses(400) },
      },
    },
    async (request, reply) => {
      const { limit = 50, offset = 0 } = request.query;
      const { views, total } = await listWebhooks(stores, limit, offset);
      const base = baseUrlOf(request, publicUrl);
      const items = views.map((view) => webhookResource(base, view));
      return sendJson(reply, page(items, total, limit, offset, listLink(request, publicUrl)));
    },
  );

  app.get(
    '/v1/webhooks/:id',
    {
      config: admin,
      schema: {
        operationId: 'getWebhook',
        tags: ['webhooks'],
        summary: 'Read a webhook (admin), without its secret',
        params: WebhookParams,
        response: { 200: json(WebhookRef, 'the webhook'), ...errorResponses(400, 404) },
      },
    },
    async (request, reply) =>
      sendJson(
        reply,
        webhookResource(baseUrlOf(request, publicUrl), webhookView(await findWebhook(stores, request.params.id))),
      ),
  );

  app.patch(
    '/v1/webhooks/:id',
    {
      config: admin,
      schema: {
        operationId: 'updateWebhook',
        tags: ['webhooks'],
        summary: 'Change a webhook (admin): url, eventTypes, vms, enabled',
        description:
          'Fields left out stay. `enabled: true` on a hook the service disabled clears its reason and retries at once from the cursor.',
        params: WebhookParams,
        body: UpdateWebhookBody,
        response: { 200: json(WebhookRef, 'the webhook'), ...errorResponses(400, 404, 415, 422) },
      },
    },
    async (request, reply) => {
      const view = await updateWebhook(stores, policy, request.params.id, request.body);
      deliverer.wake();
      return sendJson(reply, webhookResource(baseUrlOf(request, publicUrl), view));
    },
  );

  app.delete(
    '/v1/webhooks/:id',
    {
      config: admin,
      schema: {
        operationId: 'deleteWebhook',
        tags: ['webhooks'],
        summary: 'Delete a webhook (admin) and its delivery records',
        params: WebhookParams,
        response: { 200: json(WebhookRef, 'the deleted webhook'), ...errorResponses(400, 404) },
      },
    },
    async (request, reply) =>
      sendJson(reply, webhookResource(baseUrlOf(request, publicUrl), await deleteWebhook(stores, request.params.id))),
  );

  app.post(
    '/v1/webhooks/:id/rotate-secret',
    {
      config: admin,
      schema: {
        operationId: 'rotateWebhookSecret',
        tags: ['webhooks'],
        summary: 'A new secret for a webhook (admin), shown once; the old one also signs for a grace period',
        description:
          'During the grace period (DOORBELL_WEBHOOK_SECRET_GRACE_MS, default a day; previousSecretExpiresAt) each delivery carries two signatures, one per secret, so the receiver can switch at its own pace.',
        params: WebhookParams,
        response: { 200: json(NewWebhookSchema, 'the webhook with its new secret'), ...errorResponses(400, 404) },
      },
    },
    async (request, reply) =>
      sendJson(
        reply,
        webhookResource(baseUrlOf(request, publicUrl), await rotateSecret(stores, request.params.id, secretGraceMs)),
      ),
  );

  app.get(
    '/v1/webhooks/:id/deliveries',
    {
      config: admin,
      schema: {
        operationId: 'listWebhookDeliveries',
        tags: ['webhooks'],
        summary: "A webhook's delivery attempts (admin), newest first",
        params: WebhookParams,
        querystring: Query(ListQuery),
        response: {
          200: json(Page(Type.Ref('WebhookDelivery'), 'attempts'), 'delivery attempts'),
          ...errorResponses(400, 404),
        },
      },
    },
    async (request, reply) => {
      const { limit = 50, offset = 0 } = request.query;
      const { views, total } = await listDeliveries(stores, request.params.id, limit, offset);
      return sendJson(reply, page(views, total, limit, offset, listLink(request, publicUrl)));
    },
  );

  app.post(
    '/v1/webhooks/:id/redeliver',
    {
      config: admin,
      schema: {
        operationId: 'redeliverWebhook',
        tags: ['webhooks'],
        summary: 'Deliver again every matching event after a position (admin)',
        description:
          "Moves the hook's cursor to `after`: the matching events after it are delivered again, in order, with the same webhook-id as before.",
        params: WebhookParams,
        querystring: Query({
          after: Type.Integer({
            minimum: 0,
            maximum: Number.MAX_SAFE_INTEGER,
            description: 'the position to deliver after',
            examples: [0],
          }),
        }),
        response: { 200: json(WebhookRef, 'the webhook, its cursor moved'), ...errorResponses(400, 404) },
      },
    },
    async (request, reply) => {
      const view = await redeliver(stores, request.params.id, request.query.after);
      deliverer.wake();
      return sendJson(reply, webhookResource(baseUrlOf(request, publicUrl), view));
    },
  );

  app.post(
    '/v1/webhooks/:id/ping',
    {
      config: admin,
      schema: {
        operationId: 'pingWebhook',
        tags: ['webhooks'],
        summary: 'Send a signed ping to a webhook now (admin) and answer how it went',
        description:
          'The body is `{"type":"WebhookPing","webhook":<id>,"occurredAt":...}`; the attempt is recorded with the deliveries (position 0) and moves nothing.',
        params: WebhookParams,
        response: { 200: json(Type.Ref('WebhookDelivery'), 'the attempt'), ...errorResponses(400, 404) },
      },
    },
    async (request, reply) => {
      const hook = await findWebhook(stores, request.params.id);
      const attempt = await deliverer.ping(hook);
      return sendJson(reply, deliveryView({ ...attempt, seq: 0 }));
    },
  );
};
