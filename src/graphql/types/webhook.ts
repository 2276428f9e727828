/**
 * Webhook endpoints (SPEC §9), mirroring REST: `createWebhookEndpoint`, `deleteWebhookEndpoint`, `webhookEndpoints`,
 * and each endpoint's delivery attempts. The rules (who may, which URLs) are the domain's (domain/webhooks).
 */
import { encodeGlobalID } from '@pothos/plugin-relay';
import { ForbiddenError, NotFoundError, ValidationError } from '../../domain/errors.ts';
import { EVENT_TYPES } from '../../domain/events/events.ts';
import type { DeliveryAttemptView, WebhookEndpointView } from '../../domain/webhooks/webhooks.ts';
import { builder } from '../builder.ts';
import { parseId } from '../ids.ts';

const DeliveryAttemptRef = builder.objectRef<DeliveryAttemptView>('WebhookDeliveryAttempt').implement({
  description: 'One POST of an event to the endpoint.',
  fields: (t) => ({
    eventId: t.exposeString('eventId', { description: 'The event sent (evt_…), as the feed shows it.' }),
    attemptedAt: t.field({ type: 'DateTime', resolve: (attempt) => attempt.attemptedAt }),
    statusCode: t.exposeInt('statusCode', { nullable: true, description: 'The HTTP status answered; null when there was no answer.' }),
    error: t.exposeString('error', { nullable: true }),
    durationMs: t.exposeInt('durationMs'),
    nextRetryAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When the event is sent again; null once delivered or abandoned.',
      resolve: (attempt) => attempt.nextRetryAt,
    }),
  }),
});

const WebhookEndpointRef = builder.objectRef<WebhookEndpointView>('WebhookEndpoint').implement({
  description: 'A URL that receives signed events. The secret is only in createWebhookEndpoint’s result.',
  fields: (t) => ({
    id: t.id({ resolve: (endpoint) => encodeGlobalID('WebhookEndpoint', endpoint.id) }),
    databaseId: t.exposeInt('id', { description: 'The id REST uses.' }),
    url: t.exposeString('url'),
    events: t.exposeStringList('events', { description: 'Event types it receives (order.accepted, …), or ["*"].' }),
    createdAt: t.field({ type: 'DateTime', resolve: (endpoint) => endpoint.createdAt }),
    disabled: t.boolean({
      description: 'Every attempt failed for days; nothing more is sent.',
      resolve: (endpoint) => endpoint.disabledAt !== null,
    }),
    disabledAt: t.field({ type: 'DateTime', nullable: true, resolve: (endpoint) => endpoint.disabledAt }),
    deliveries: t.field({
      type: [DeliveryAttemptRef],
      description: 'The latest delivery attempts, newest first; `first` 1–100 (default 20).',
      args: { first: t.arg.int() },
      resolve: async (endpoint, args, ctx) =>
        (await ctx.webhooks.attempts(ctx.actor!, endpoint.id, { limit: args.first ?? undefined })).attempts,
    }),
  }),
});

builder.queryField('webhookEndpoints', (t) =>
  t.field({
    type: [WebhookEndpointRef],
    description: 'The viewer’s webhook endpoints (an admin: all); restaurants and admins only.',
    authScopes: { authenticated: true },
    resolve: (_root, _args, ctx) => ctx.webhooks.list(ctx.actor!),
  }),
);

const CreateWebhookEndpointInput = builder.inputType('CreateWebhookEndpointInput', {
  fields: (t) => ({
    url: t.string({ required: true, description: 'http(s); in production https to a public address only.' }),
    events: t.stringList({ required: true, description: `Event types (${EVENT_TYPES.join(', ')}), or ["*"] for all.` }),
  }),
});

const CreateWebhookEndpointSuccess = builder
  .objectRef<{ endpoint: WebhookEndpointView; secret: string }>('CreateWebhookEndpointSuccess')
  .implement({
    isTypeOf: (value) => typeof value === 'object' && value !== null && 'secret' in value,
    fields: (t) => ({
      endpoint: t.field({ type: WebhookEndpointRef, resolve: (result) => result.endpoint }),
      secret: t.exposeString('secret', { description: 'The signing secret (whsec_…), shown only here: store it now.' }),
    }),
  });

builder.mutationField('createWebhookEndpoint', (t) =>
  t.field({
    type: CreateWebhookEndpointSuccess,
    description: 'Registers a URL for signed events: a restaurant gets its orders’ events, an admin every order’s.',
    authScopes: { authenticated: true },
    errors: { types: [ValidationError, ForbiddenError], directResult: true, union: { name: 'CreateWebhookEndpointResult' } },
    args: { input: t.arg({ type: CreateWebhookEndpointInput, required: true }) },
    resolve: (_root, { input }, ctx) => ctx.webhooks.create(ctx.actor!, input),
  }),
);

const DeleteWebhookEndpointSuccess = builder.objectRef<{ deletedId: number }>('DeleteWebhookEndpointSuccess').implement({
  isTypeOf: (value) => typeof value === 'object' && value !== null && 'deletedId' in value,
  fields: (t) => ({
    deletedId: t.id({ resolve: (result) => encodeGlobalID('WebhookEndpoint', result.deletedId) }),
  }),
});

builder.mutationField('deleteWebhookEndpoint', (t) =>
  t.field({
    type: DeleteWebhookEndpointSuccess,
    description: 'Deletes an endpoint: nothing more is sent to it.',
    authScopes: { authenticated: true },
    errors: { types: [NotFoundError, ForbiddenError], directResult: true, union: { name: 'DeleteWebhookEndpointResult' } },
    args: { id: t.arg.id({ required: true, description: 'The endpoint’s id, or its databaseId.' }) },
    resolve: async (_root, { id }, ctx) => {
      const databaseId = parseId(String(id), 'WebhookEndpoint');
      if (databaseId === null) throw new NotFoundError('WebhookEndpoint', String(id));
      await ctx.webhooks.delete(ctx.actor!, databaseId);
      return { deletedId: databaseId };
    },
  }),
);
