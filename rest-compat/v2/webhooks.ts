/** REST v2 webhook endpoints (SPEC §9): register, list, delete, and the log of delivery attempts. Translation only. */
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { EVENT_TYPES } from '../../src/domain/events/events.ts';
import type { DeliveryAttemptView, WebhookEndpointView, Webhooks } from '../../src/domain/webhooks/webhooks.ts';
import { actorOf } from '../context.ts';
import type { RestEnv } from '../env.ts';
import { CursorParam, IdParams, LimitParam } from '../schemas.ts';
import { pickProblems } from './schemas.ts';

const security = [{ bearerAuth: [] }];
const tags = ['v2 webhooks'];

const EndpointSchema = z
  .object({
    id: z.number().int().openapi({ example: 7 }),
    url: z.string().openapi({ example: 'https://pos.example.com/quickeats' }),
    events: z.array(z.string()).openapi({ example: ['order.accepted', 'order.cancelled'] }),
    created_at: z.string(),
    status: z.enum(['enabled', 'disabled']).openapi({ description: 'disabled: every attempt failed for days; nothing more is sent' }),
    disabled_at: z.string().nullable(),
  })
  .openapi('WebhookEndpoint');

const CreatedEndpointSchema = EndpointSchema.extend({
  secret: z.string().openapi({ description: 'The signing secret (whsec_…). Shown only in this response: store it now.' }),
}).openapi('CreatedWebhookEndpoint');

const CreateEndpointBody = z
  .strictObject({
    url: z.string().min(1).max(2048).openapi({ description: 'http(s); in production https to a public address only' }),
    events: z
      .array(z.enum(['*', ...EVENT_TYPES]))
      .min(1)
      .max(EVENT_TYPES.length)
      .openapi({ description: 'Event types to receive, or ["*"] for all', example: ['order.accepted'] }),
  })
  .openapi('CreateWebhookEndpoint');

const AttemptSchema = z
  .object({
    id: z.string(),
    event_id: z.string().openapi({ example: 'evt_42' }),
    attempted_at: z.string(),
    status_code: z.number().int().nullable().openapi({ description: 'The HTTP status answered; null when there was no answer' }),
    error: z.string().nullable().openapi({ example: 'timed out after 10000 ms' }),
    duration_ms: z.number().int(),
    next_retry_at: z.string().nullable().openapi({ description: 'When the event is sent again; null once delivered or abandoned' }),
  })
  .openapi('WebhookDeliveryAttempt');

const endpointJson = (endpoint: WebhookEndpointView) => ({
  id: endpoint.id,
  url: endpoint.url,
  events: endpoint.events,
  created_at: endpoint.createdAt.toISOString(),
  status: endpoint.disabledAt ? ('disabled' as const) : ('enabled' as const),
  disabled_at: endpoint.disabledAt?.toISOString() ?? null,
});

const attemptJson = (attempt: DeliveryAttemptView) => ({
  id: attempt.id,
  event_id: attempt.eventId,
  attempted_at: attempt.attemptedAt.toISOString(),
  status_code: attempt.statusCode,
  error: attempt.error,
  duration_ms: attempt.durationMs,
  next_retry_at: attempt.nextRetryAt?.toISOString() ?? null,
});

/** Adds the webhook endpoint routes to the v2 app. */
export function webhookRoutes(app: OpenAPIHono<RestEnv>, webhooks: Webhooks) {
  app.openapi(
    createRoute({
      method: 'post',
      path: '/webhook-endpoints',
      operationId: 'v2_createWebhookEndpoint',
      summary: 'Register a URL for signed events: a restaurant gets its orders’ events, an admin every order’s',
      tags,
      security,
      request: { body: { content: { 'application/json': { schema: CreateEndpointBody } }, required: true } },
      responses: {
        201: {
          description: 'Registered; the secret is shown only here',
          content: { 'application/json': { schema: CreatedEndpointSchema } },
        },
        ...pickProblems(400, 401, 403, 413, 415),
      },
    }),
    async (c) => {
      const { endpoint, secret } = await webhooks.create(actorOf(c), c.req.valid('json'));
      return c.json({ ...endpointJson(endpoint), secret }, 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/webhook-endpoints',
      operationId: 'v2_listWebhookEndpoints',
      summary: 'One’s own endpoints (an admin: all), without secrets',
      tags,
      security,
      responses: {
        200: { description: 'The endpoints', content: { 'application/json': { schema: z.object({ results: z.array(EndpointSchema) }) } } },
        ...pickProblems(401, 403),
      },
    }),
    async (c) => c.json({ results: (await webhooks.list(actorOf(c))).map(endpointJson) }, 200),
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/webhook-endpoints/{id}',
      operationId: 'v2_deleteWebhookEndpoint',
      summary: 'Delete an endpoint: nothing more is sent to it',
      tags,
      security,
      request: { params: IdParams },
      responses: { 204: { description: 'Deleted' }, ...pickProblems(401, 403, 404) },
    }),
    async (c) => {
      await webhooks.delete(actorOf(c), c.req.valid('param').id);
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/webhook-endpoints/{id}/deliveries',
      operationId: 'v2_listWebhookDeliveries',
      summary: 'The endpoint’s delivery attempts, newest first',
      tags,
      security,
      request: { params: IdParams, query: z.strictObject({ limit: LimitParam.optional(), cursor: CursorParam.optional() }) },
      responses: {
        200: {
          description: 'One page of attempts',
          content: {
            'application/json': {
              schema: z
                .object({ results: z.array(AttemptSchema), next_cursor: z.string().nullable() })
                .openapi('WebhookDeliveryAttemptPage'),
            },
          },
        },
        ...pickProblems(400, 401, 403, 404),
      },
    }),
    async (c) => {
      const { limit, cursor } = c.req.valid('query');
      const page = await webhooks.attempts(actorOf(c), c.req.valid('param').id, { limit, before: cursor });
      return c.json({ results: page.attempts.map(attemptJson), next_cursor: page.nextCursor }, 200);
    },
  );
}
