/**
 * REST v2 (SPEC §5): action-oriented, conditional (If-Match / ETag), idempotent. Handlers only translate:
 * parse → one domain call → serialize. Precedence of failures: 401 (requireActor) → 400/413 (body limit, header
 * middleware, zod) → 428 (expectedVersionOf) → the service's own 404 → 403 → idempotency → 412 → 409 → 400.
 */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { basePath } from 'hono/route';
import { listEvents } from '../../src/domain/events/events.ts';
import { getVisibleOrder, itemsAndParties } from '../../src/domain/orders/order.queries.ts';
import type { ActionResult, OrderCommand } from '../../src/domain/orders/order.service.ts';
import type { OrderStatusName } from '../../src/domain/orders/order-state-machine.ts';
import { getRestaurantWithMenu, listRestaurants } from '../../src/domain/restaurants/restaurant.queries.ts';
import { getRider, reportRiderLocation } from '../../src/domain/riders/rider.queries.ts';
import { actorOf } from '../context.ts';
import type { RestEnv, RestServices, VersionOptions } from '../env.ts';
import { idempotencyKey } from '../middleware/idempotency-key.ts';
import { ifMatch, ifNoneMatch, noneMatchFails } from '../middleware/if-match.ts';
import { requestBody } from '../middleware/request-body.ts';
import { requireActor } from '../middleware/require-actor.ts';
import { problemHandler, rejectInvalid, unmatchedRoute } from '../render.ts';
import { CreateOrderBody, CursorParam, commaList, IdempotencyKeyHeader, IdParams, LimitParam, StatusListParam } from '../schemas.ts';
import { expectedVersionOf } from './conditional.ts';
import { type Include, loadIncluded } from './included.ts';
import { orderPage } from './order-list.ts';
import {
  EmptyBody,
  ETAG_HEADER,
  EventPageSchema,
  LocationBody,
  OrderPageSchema,
  OrderV2,
  OrderWithIncludedSchema,
  PaymentBody,
  pickProblems,
  REPLAY_HEADER,
  ReasonBody,
  RestaurantPageSchema,
  RestaurantWithMenuSchema,
  RiderAssignmentBody,
  RiderSchema,
} from './schemas.ts';
import {
  etagOf,
  etagOpaque,
  eventJson,
  orderJson,
  restaurantJson,
  restaurantWithMenuJson,
  riderJson,
  V2_ACTION_PATHS,
} from './serialize.ts';
import { webhookRoutes } from './webhooks.ts';

const security = [{ bearerAuth: [] }];
const tags = ['v2'];

const IncludeParam = z
  .string()
  .regex(/^(restaurant|rider)(,(restaurant|rider))*$/, 'must be restaurant, rider, or both, comma-separated')
  .openapi({ description: 'Related rows to return once each under `included`', example: 'restaurant,rider' });

const ActionHeaders = z.object({
  'if-match': z.string().optional().openapi({
    description: 'Required (428 when missing): the ETag last read, a list of tags, or * for whatever version is current',
    example: '"o42-v3"',
  }),
  'idempotency-key': IdempotencyKeyHeader.optional(),
});

const orderResponse = (description: string) => ({
  description,
  headers: { ...ETAG_HEADER, ...REPLAY_HEADER },
  content: { 'application/json': { schema: OrderV2 } },
});

/** `POST /orders/{id}/<action>`: the route of one action, its body optional unless `bodyRequired`. */
function actionRoute<B extends z.ZodType>(
  action: keyof typeof V2_ACTION_PATHS,
  summary: string,
  body: B,
  options: { keyRequired?: boolean; bodyRequired?: boolean; providerCall?: boolean } = {},
) {
  return createRoute({
    method: 'post',
    path: `/orders/{id}/${V2_ACTION_PATHS[action]}`,
    operationId: `v2_${action}`,
    summary,
    tags,
    security,
    middleware: [ifMatch(), idempotencyKey({ required: options.keyRequired ?? false })] as const,
    request: {
      params: IdParams,
      headers: options.keyRequired ? ActionHeaders.extend({ 'idempotency-key': IdempotencyKeyHeader }) : ActionHeaders,
      body: { content: { 'application/json': { schema: body } }, required: options.bodyRequired ?? false },
    },
    responses: {
      200: orderResponse('The order after the action (or the first outcome, replayed)'),
      ...pickProblems(400, 401, 403, 404, 409, 412, 413, 415, 422, 428),
      ...(options.providerCall ? pickProblems(503) : {}),
    },
  });
}

/**
 * Body and headers of an executed (or replayed) command, built from its stored outcome: a replay repeats the first
 * body, ETag and Location. The status follows the outcome too: `created` is only ever POST /orders' 201.
 */
function outcomeResponse(c: Context<RestEnv>, result: ActionResult) {
  const order = orderJson(result.outcome.order);
  const headers: Record<string, string> = { ETag: etagOf(order) };
  if (result.outcome.result === 'created') headers.Location = `${basePath(c)}/orders/${order.id}`;
  if (result.replayed) headers['Idempotent-Replayed'] = 'true';
  return { order, headers };
}

/** An action on order `orderId`: its command from the headers (If-Match, Idempotency-Key), one service call, 200. */
async function respondToAction(c: Context<RestEnv>, orderId: number, act: (command: OrderCommand) => Promise<ActionResult>) {
  const expectedVersion = expectedVersionOf(c.get('ifMatch'), orderId);
  const result = await act({ actor: actorOf(c), orderId, expectedVersion, idempotencyKey: c.get('idempotencyKey') });
  const { order, headers } = outcomeResponse(c, result);
  return c.json(order, 200, headers);
}

/** The v2 app, mounted by createRestApi at /api/v2. */
export function createV2({ orders, webhooks, prisma, readRows, logger }: RestServices, options: VersionOptions) {
  const app = new OpenAPIHono<RestEnv>({ defaultHook: rejectInvalid });
  app.onError(problemHandler({ logger, actionName: (action) => V2_ACTION_PATHS[action] }));
  app.use('*', requireActor());
  app.use('*', options.limitRate);
  app.use('*', requestBody({ maxBytes: options.maxBodyBytes }));

  app.openapi(
    createRoute({
      method: 'get',
      path: '/orders',
      operationId: 'v2_listOrders',
      summary: 'Orders the actor can see, newest first',
      tags,
      security,
      request: {
        query: z.strictObject({
          status: StatusListParam.optional(),
          limit: LimitParam.optional(),
          cursor: CursorParam.optional(),
          include: IncludeParam.optional(),
        }),
      },
      responses: {
        200: { description: 'One page', content: { 'application/json': { schema: OrderPageSchema } } },
        ...pickProblems(400, 401),
      },
    }),
    async (c) => {
      const query = c.req.valid('query');
      const actor = actorOf(c);
      const include = new Set(commaList<Include>(query.include));
      const options = { limit: query.limit, cursor: query.cursor, statuses: commaList<OrderStatusName>(query.status) };
      // One statement for the page, `included` too (order-list.ts).
      return c.json(await orderPage(readRows, actor, options, include), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/events',
      operationId: 'v2_listEvents',
      summary: 'Events of the orders the actor can see, oldest first (SPEC §9)',
      tags,
      security,
      request: {
        query: z.strictObject({
          after: z.string().min(1).max(40).optional().openapi({ description: 'An event id: only later events' }),
          limit: LimitParam.optional(),
        }),
      },
      responses: {
        200: { description: 'One page', content: { 'application/json': { schema: EventPageSchema } } },
        ...pickProblems(400, 401),
      },
    }),
    async (c) => {
      const { after, limit } = c.req.valid('query');
      const page = await listEvents(prisma, actorOf(c), { after, limit });
      return c.json({ results: page.events.map(eventJson), next_cursor: page.nextCursor }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/orders/{id}',
      operationId: 'v2_getOrder',
      summary: 'One order; a strong ETag unless `include` is used; If-None-Match → 304',
      tags,
      security,
      middleware: [ifNoneMatch()] as const,
      request: {
        params: IdParams,
        query: z.strictObject({ include: IncludeParam.optional() }),
        headers: z.object({
          'if-none-match': z.string().optional().openapi({ description: 'The ETag last read; 304 when still current' }),
        }),
      },
      responses: {
        200: { description: 'The order', headers: ETAG_HEADER, content: { 'application/json': { schema: OrderWithIncludedSchema } } },
        304: { description: 'Not modified: the If-None-Match tag is current', headers: ETAG_HEADER },
        ...pickProblems(400, 401, 404),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const { include } = c.req.valid('query');
      const actor = actorOf(c);
      if (include) {
        const order = await getVisibleOrder(prisma, actor, id, itemsAndParties);
        return c.json(
          { ...orderJson(order), included: await loadIncluded(prisma, actor, [order], new Set(commaList<Include>(include))) },
          200,
        );
      }
      const order = await getVisibleOrder(prisma, actor, id);
      if (noneMatchFails(c.get('ifNoneMatch'), etagOpaque(order))) return c.body(null, 304, { ETag: etagOf(order) });
      return c.json(orderJson(order), 200, { ETag: etagOf(order) });
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/orders',
      operationId: 'v2_createOrder',
      summary: 'Place an order (customer); Idempotency-Key required',
      tags,
      security,
      middleware: [idempotencyKey({ required: true })] as const,
      request: {
        headers: z.object({ 'idempotency-key': IdempotencyKeyHeader }),
        body: { content: { 'application/json': { schema: CreateOrderBody } }, required: true },
      },
      responses: {
        201: {
          description: 'Created (or the first outcome, replayed)',
          headers: { ...ETAG_HEADER, ...REPLAY_HEADER, Location: { description: 'The new order', schema: { type: 'string' } } },
          content: { 'application/json': { schema: OrderV2 } },
        },
        ...pickProblems(400, 401, 403, 409, 413, 415, 422),
      },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const result = await orders.createOrder({
        actor: actorOf(c),
        idempotencyKey: c.get('idempotencyKey'),
        restaurantId: body.restaurant_id,
        items: body.items.map((item) => ({ menuItemId: item.menu_item_id, quantity: item.quantity })),
        deliveryAddress: body.delivery_address,
      });
      const { order, headers } = outcomeResponse(c, result);
      return c.json(order, 201, headers);
    },
  );

  app.openapi(
    actionRoute('pay', 'Pay the exact total (customer); Idempotency-Key required', PaymentBody, {
      keyRequired: true,
      bodyRequired: true,
      providerCall: true,
    }),
    (c) => {
      const { payment_method, amount } = c.req.valid('json');
      return respondToAction(c, c.req.valid('param').id, (command) =>
        orders.payOrder({ ...command, paymentMethod: payment_method, amount }),
      );
    },
  );

  app.openapi(actionRoute('cancel', 'Cancel before the restaurant accepts (customer); refunds a payment', ReasonBody), (c) => {
    const { reason } = c.req.valid('json');
    return respondToAction(c, c.req.valid('param').id, (command) => orders.cancelOrder({ ...command, reason }));
  });

  app.openapi(actionRoute('accept', 'Accept a paid order (restaurant)', EmptyBody), (c) =>
    respondToAction(c, c.req.valid('param').id, (command) => orders.acceptOrder(command)),
  );

  app.openapi(actionRoute('reject', 'Reject a paid order (restaurant); refunds the payment', ReasonBody), (c) => {
    const { reason } = c.req.valid('json');
    return respondToAction(c, c.req.valid('param').id, (command) => orders.rejectOrder({ ...command, reason }));
  });

  app.openapi(actionRoute('complete_preparation', 'Mark the food ready for pickup (restaurant)', EmptyBody), (c) =>
    respondToAction(c, c.req.valid('param').id, (command) => orders.completeOrderPreparation(command)),
  );

  app.openapi(actionRoute('assign_rider', 'A rider claims the order (no body); an admin names the rider', RiderAssignmentBody), (c) => {
    const { rider_id } = c.req.valid('json');
    return respondToAction(c, c.req.valid('param').id, (command) => orders.assignRider({ ...command, riderId: rider_id }));
  });

  app.openapi(actionRoute('pick_up', 'The assigned rider picks the food up', EmptyBody), (c) =>
    respondToAction(c, c.req.valid('param').id, (command) => orders.pickUpOrder(command)),
  );

  app.openapi(actionRoute('deliver', 'The assigned rider hands the food over', EmptyBody), (c) =>
    respondToAction(c, c.req.valid('param').id, (command) => orders.deliverOrder(command)),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/restaurants',
      operationId: 'v2_listRestaurants',
      summary: 'Restaurants in id order',
      tags,
      security,
      request: { query: z.strictObject({ limit: LimitParam.optional(), cursor: CursorParam.optional() }) },
      responses: {
        200: { description: 'One page', content: { 'application/json': { schema: RestaurantPageSchema } } },
        ...pickProblems(400, 401),
      },
    }),
    async (c) => {
      const { limit, cursor } = c.req.valid('query');
      const page = await listRestaurants(prisma, { limit, cursor });
      return c.json({ results: page.restaurants.map(restaurantJson), next_cursor: page.nextCursor }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/restaurants/{id}',
      operationId: 'v2_getRestaurant',
      summary: 'A restaurant with its menu',
      tags,
      security,
      request: { params: IdParams },
      responses: {
        200: { description: 'The restaurant', content: { 'application/json': { schema: RestaurantWithMenuSchema } } },
        ...pickProblems(400, 401, 404),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      return c.json(restaurantWithMenuJson(await getRestaurantWithMenu(prisma, id)), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/riders/{id}',
      operationId: 'v2_getRider',
      summary: 'A rider; its location only where SPEC §3 allows',
      tags,
      security,
      request: { params: IdParams },
      responses: {
        200: { description: 'The rider', content: { 'application/json': { schema: RiderSchema } } },
        ...pickProblems(400, 401, 404),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      return c.json(riderJson(await getRider(prisma, actorOf(c), id)), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'put',
      path: '/riders/{id}/location',
      operationId: 'v2_updateRiderLocation',
      summary: 'A rider reports where it is (only the rider itself)',
      tags,
      security,
      request: { params: IdParams, body: { content: { 'application/json': { schema: LocationBody } }, required: true } },
      responses: {
        200: { description: 'The rider with its new location', content: { 'application/json': { schema: RiderSchema } } },
        ...pickProblems(400, 401, 403, 404, 413, 415),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const { lat, lng } = c.req.valid('json');
      return c.json(riderJson(await reportRiderLocation({ prisma, orders }, { actor: actorOf(c), riderId: id, lat, lng })), 200);
    },
  );

  webhookRoutes(app, webhooks);

  app.all('*', (c) => {
    throw unmatchedRoute(c, app.routes);
  });
  return app;
}
