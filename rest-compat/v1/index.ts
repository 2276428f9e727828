/**
 * REST v1 (SPEC §6), deprecated and kept working for old app builds: flat orders, `PUT {"status"}` mapped to the
 * actions (src/domain/orders/legacy-status.ts), no If-Match. Every response, errors included, says so in its
 * Deprecation, Sunset and Link headers.
 */
import { randomUUID } from 'node:crypto';
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { setOrderStatus } from '../../src/domain/orders/legacy-status.ts';
import { getVisibleOrder, listVisibleOrders } from '../../src/domain/orders/order.queries.ts';
import type { ActionResult } from '../../src/domain/orders/order.service.ts';
import type { OrderStatusName } from '../../src/domain/orders/order-state-machine.ts';
import { actorOf } from '../context.ts';
import type { RestEnv, RestServices, VersionOptions } from '../env.ts';
import { deprecation } from '../middleware/deprecation.ts';
import { idempotencyKey } from '../middleware/idempotency-key.ts';
import { requestBody } from '../middleware/request-body.ts';
import { requireActor } from '../middleware/require-actor.ts';
import { describeAndLog, rejectInvalid, unmatchedRoute } from '../render.ts';
import {
  CreateOrderBody,
  CursorParam,
  commaList,
  IdempotencyKeyHeader,
  IdParams,
  LimitParam,
  orderSchema,
  paymentBody,
  StatusListParam,
} from '../schemas.ts';
import { legacyError, legacyOrderJson } from './serialize.ts';

/** When v1 was deprecated, and the earliest date it may be switched off. */
export const V1_DEPRECATED_AT = new Date('2026-06-01T00:00:00Z');
export const V1_SUNSET_AT = new Date('2027-06-30T23:59:59Z');

/** The v2 resource that replaces a v1 path: same resource, `/pay` became `/payment`. */
export function v2Successor(path: string): string {
  const successor = path.replace('/v1/', '/v2/').replace(/\/pay\/?$/, '/payment');
  return successor.includes('/v2/') ? successor : '/api/v2/orders';
}

const security = [{ bearerAuth: [] }];
const tags = ['v1 (deprecated)'];
const deprecated = true;

const OrderV1 = orderSchema('LegacyOrder');
const LegacyErrorSchema = z
  .object({
    error: z.string(),
    code: z.string(),
    current_status: z.string().optional(),
    fields: z.array(z.object({ path: z.array(z.string()), message: z.string() })).optional(),
    request_id: z.string().optional(),
  })
  .openapi('LegacyError');
const OrderListV1 = z.object({ orders: z.array(OrderV1), next_cursor: z.string().nullable() }).openapi('LegacyOrderList');
const StatusBody = z
  .strictObject({
    status: z.string().openapi({
      description: 'Target status: cancelled, preparing, rejected, ready_for_pickup, in_transit or delivered',
      example: 'preparing',
    }),
  })
  .openapi('LegacyStatusRequest');
const PayBody = paymentBody('LegacyPaymentRequest');

const DEPRECATION_HEADERS = {
  Deprecation: { description: 'RFC 9745: when v1 was deprecated', schema: { type: 'string' as const } },
  Sunset: { description: 'RFC 8594: when v1 may stop answering', schema: { type: 'string' as const } },
  Link: { description: '`<…/api/v2/…>; rel="successor-version"`', schema: { type: 'string' as const } },
};

const errors = (...statuses: number[]) =>
  Object.fromEntries(
    statuses.map((status) => [
      status,
      { description: `Error (${status})`, headers: DEPRECATION_HEADERS, content: { 'application/json': { schema: LegacyErrorSchema } } },
    ]),
  );
const orderResponse = (description: string) => ({
  description,
  headers: DEPRECATION_HEADERS,
  content: { 'application/json': { schema: OrderV1 } },
});

/** The v1 app, mounted by createRestApi at /api/v1. */
export function createV1({ orders, prisma, logger }: RestServices, options: VersionOptions) {
  const app = new OpenAPIHono<RestEnv>({ defaultHook: rejectInvalid });
  app.onError((error, c) => {
    const problem = describeAndLog(error, c, logger);
    const { status, body } = legacyError(problem, c.get('requestId'));
    return c.json(body, status as 400, problem.headers);
  });
  app.use('*', deprecation({ deprecatedAt: V1_DEPRECATED_AT, sunsetAt: V1_SUNSET_AT, successor: v2Successor }));
  app.use('*', requireActor());
  app.use('*', options.limitRate);
  app.use('*', requestBody({ maxBytes: options.maxBodyBytes }));

  /** Legacy clients send no Idempotency-Key: each such request is its own attempt, exactly as before keys existed. */
  const keyOrFresh = (c: Context<RestEnv>) => c.get('idempotencyKey') ?? randomUUID();
  const replayHeaders = (result: ActionResult): Record<string, string> => (result.replayed ? { 'Idempotent-Replayed': 'true' } : {});

  app.openapi(
    createRoute({
      method: 'get',
      path: '/orders',
      operationId: 'v1_listOrders',
      summary: 'Orders the actor can see, newest first',
      deprecated,
      tags,
      security,
      request: { query: z.object({ status: StatusListParam.optional(), limit: LimitParam.optional(), cursor: CursorParam.optional() }) },
      responses: {
        200: { description: 'One page', headers: DEPRECATION_HEADERS, content: { 'application/json': { schema: OrderListV1 } } },
        ...errors(400, 401),
      },
    }),
    async (c) => {
      const { status, limit, cursor } = c.req.valid('query');
      const page = await listVisibleOrders(prisma, actorOf(c), { limit, cursor, statuses: commaList<OrderStatusName>(status) });
      return c.json({ orders: page.orders.map(legacyOrderJson), next_cursor: page.nextCursor }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/orders/{id}',
      operationId: 'v1_getOrder',
      summary: 'One order',
      deprecated,
      tags,
      security,
      request: { params: IdParams },
      responses: { 200: orderResponse('The order'), ...errors(400, 401, 404) },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      return c.json(legacyOrderJson(await getVisibleOrder(prisma, actorOf(c), id)), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/orders',
      operationId: 'v1_createOrder',
      summary: 'Place an order (customer); the v2 body; Idempotency-Key honoured when sent',
      deprecated,
      tags,
      security,
      middleware: [idempotencyKey({ required: false })] as const,
      request: {
        headers: z.object({ 'idempotency-key': IdempotencyKeyHeader.optional() }),
        body: { content: { 'application/json': { schema: CreateOrderBody } }, required: true },
      },
      responses: { 201: orderResponse('Created (or the first outcome, replayed)'), ...errors(400, 401, 403, 409, 413, 415, 422) },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const result = await orders.createOrder({
        actor: actorOf(c),
        idempotencyKey: keyOrFresh(c),
        restaurantId: body.restaurant_id,
        items: body.items.map((item) => ({ menuItemId: item.menu_item_id, quantity: item.quantity })),
        deliveryAddress: body.delivery_address,
      });
      const order = legacyOrderJson(result.outcome.order);
      return c.json(order, 201, { Location: `${c.req.path}/${order.id}`, ...replayHeaders(result) });
    },
  );

  for (const method of ['put', 'patch'] as const) {
    app.openapi(
      createRoute({
        method,
        path: '/orders/{id}',
        operationId: `v1_${method}OrderStatus`,
        summary: 'Move the order to a target status (the target picks the action); the current status → 200 unchanged',
        deprecated,
        tags,
        security,
        request: { params: IdParams, body: { content: { 'application/json': { schema: StatusBody } }, required: true } },
        responses: {
          200: orderResponse('The order (unchanged when it already had the target status)'),
          ...errors(400, 401, 403, 404, 409, 413, 415),
        },
      }),
      async (c) => {
        const { id } = c.req.valid('param');
        const { status } = c.req.valid('json');
        const order = await setOrderStatus({ prisma, orders }, { actor: actorOf(c), orderId: id, status });
        return c.json(legacyOrderJson(order), 200);
      },
    );
  }

  app.openapi(
    createRoute({
      method: 'post',
      path: '/orders/{id}/pay',
      operationId: 'v1_payOrder',
      summary: 'Pay the exact total (customer); Idempotency-Key honoured when sent',
      deprecated,
      tags,
      security,
      middleware: [idempotencyKey({ required: false })] as const,
      request: {
        params: IdParams,
        headers: z.object({ 'idempotency-key': IdempotencyKeyHeader.optional() }),
        body: { content: { 'application/json': { schema: PayBody } }, required: true },
      },
      responses: {
        200: orderResponse('The order after the payment (declined → payment_failed)'),
        ...errors(400, 401, 403, 404, 409, 413, 415, 422, 503),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const body = c.req.valid('json');
      const result = await orders.payOrder({
        actor: actorOf(c),
        orderId: id,
        expectedVersion: null,
        idempotencyKey: keyOrFresh(c),
        paymentMethod: body.payment_method,
        amount: body.amount,
      });
      return c.json(legacyOrderJson(result.outcome.order), 200, replayHeaders(result));
    },
  );

  app.all('*', (c) => {
    throw unmatchedRoute(c, app.routes);
  });
  return app;
}
