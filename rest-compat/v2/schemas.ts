/** v2 request and response schemas (they generate the OpenAPI document). */

import { z } from '@hono/zod-openapi';
import { EVENT_TYPES } from '../../src/domain/events/events.ts';
import { AssignRiderInput, ReasonInput, RiderLocationInput } from '../../src/domain/orders/commands.ts';
import { orderSchema, paymentBody } from '../schemas.ts';
import { V2_ACTION_PATHS } from './serialize.ts';

export const OrderV2 = orderSchema('Order');

export const RestaurantSchema = z.object({ id: z.number().int(), name: z.string(), address: z.string() }).openapi('Restaurant');

export const MenuItemSchema = z
  .object({
    id: z.number().int(),
    name: z.string(),
    price: z.number().int().openapi({ description: 'Integer KRW' }),
    available: z.boolean(),
  })
  .openapi('MenuItem');

export const RestaurantWithMenuSchema = RestaurantSchema.extend({ menu: z.array(MenuItemSchema) }).openapi('RestaurantWithMenu');

export const RiderSchema = z
  .object({
    id: z.number().int(),
    name: z.string(),
    current_location: z.object({ lat: z.number(), lng: z.number() }).nullable().openapi({
      description: 'Visible to the rider, admins, and the customer and restaurant of an order the rider is assigned to; else null',
    }),
  })
  .openapi('Rider');

export const IncludedSchema = z
  .object({ restaurants: z.array(RestaurantSchema).optional(), riders: z.array(RiderSchema).optional() })
  .openapi('Included', { description: 'Related rows asked for with `include`, each once' });

export const OrderWithIncludedSchema = OrderV2.extend({ included: IncludedSchema.optional() }).openapi('OrderWithIncluded');

export const OrderPageSchema = z
  .object({ results: z.array(OrderV2), next_cursor: z.string().nullable(), included: IncludedSchema.optional() })
  .openapi('OrderPage');

export const EventSchema = z
  .object({
    id: z.string().openapi({ example: 'evt_42' }),
    type: z.enum(EVENT_TYPES),
    created_at: z.string(),
    data: z.object({
      order: OrderV2.openapi({ description: 'The order as this version left it' }),
      refund: z.object({ id: z.string(), amount: z.number().int() }).optional().openapi({ description: 'order.refunded only' }),
    }),
  })
  .openapi('Event');

export const EventPageSchema = z
  .object({
    results: z.array(EventSchema),
    next_cursor: z.string().nullable().openapi({ description: 'The last event id: poll with ?after=<it> to catch up' }),
  })
  .openapi('EventPage');

export const RestaurantPageSchema = z
  .object({ results: z.array(RestaurantSchema), next_cursor: z.string().nullable() })
  .openapi('RestaurantPage');

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.string().openapi({ description: 'Same values as GraphQL error codes (VERSION_CONFLICT, INVALID_TRANSITION, …)' }),
    current_version: z.number().int().optional(),
    current_status: z.string().optional(),
    allowed_actions: z.array(z.enum(Object.values(V2_ACTION_PATHS) as [string, ...string[]])).optional(),
    fields: z.array(z.object({ path: z.array(z.string()), message: z.string() })).optional(),
    request_id: z.string().optional(),
  })
  .openapi('Problem');

export const PaymentBody = paymentBody('PaymentRequest');

export const ReasonBody = z.strictObject(ReasonInput.shape).openapi('ReasonRequest');

export const RiderAssignmentBody = z
  .strictObject({
    rider_id: AssignRiderInput.shape.riderId.describe('Required for an admin; a rider claims for itself and must not send it'),
  })
  .openapi('RiderAssignmentRequest');

export const EmptyBody = z.strictObject({}).openapi('EmptyRequest');

export const LocationBody = z.strictObject(RiderLocationInput.shape).openapi('LocationRequest');

const problem = (description: string) => ({ description, content: { 'application/problem+json': { schema: ProblemSchema } } });

/** The error responses a route can give, documented once. */
export const PROBLEMS = {
  400: problem('Malformed request: JSON syntax, headers, body schema, or a business rule (VALIDATION_FAILED)'),
  401: problem('No valid bearer token (UNAUTHENTICATED)'),
  403: problem('The actor sees the order but the action is not its to run (FORBIDDEN)'),
  404: problem('No such resource, or not visible to the actor (NOT_FOUND)'),
  409: problem(
    'Illegal transition, with current_status and allowed_actions (INVALID_TRANSITION); or the idempotency key is in use (IDEMPOTENCY_KEY_IN_PROGRESS, Retry-After: 1) (also while another payment of the same order is with the provider)',
  ),
  412: problem('If-Match does not match the current version; carries current_version and current_status (VERSION_CONFLICT)'),
  413: problem('Request body too large (PAYLOAD_TOO_LARGE)'),
  415: problem('Body not sent as application/json (UNSUPPORTED_MEDIA_TYPE)'),
  422: problem('Idempotency key already used for a different request (IDEMPOTENCY_KEY_REUSED)'),
  428: problem('If-Match missing (PRECONDITION_REQUIRED)'),
  503: problem(
    'The payment provider is unavailable (PAYMENT_PROVIDER_UNAVAILABLE, Retry-After in seconds): nothing was charged or recorded; retry with the same Idempotency-Key',
  ),
} as const;

export const pickProblems = <K extends keyof typeof PROBLEMS>(...statuses: K[]) =>
  Object.fromEntries(statuses.map((status) => [status, PROBLEMS[status]])) as Pick<typeof PROBLEMS, K>;

export const ETAG_HEADER = {
  ETag: { description: 'Strong tag of this order version, e.g. "o42-v3"', schema: { type: 'string' as const } },
};
export const REPLAY_HEADER = {
  'Idempotent-Replayed': {
    description: '`true` when this replays the first outcome of the Idempotency-Key',
    schema: { type: 'string' as const },
  },
};
