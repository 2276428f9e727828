/**
 * Live order updates over SSE. Only actors who can see an order (or are the restaurant) may subscribe, and an
 * event is delivered only while the subscriber can still see the order: a rider watching a claimable order stops
 * hearing about it once another rider claims it.
 */
import { GraphQLError } from 'graphql';
import { filter, pipe } from 'graphql-yoga';
import type { Actor } from '../../domain/auth.ts';
import { canSee, canWatchRestaurant } from '../../domain/orders/order-access.ts';
import type { OrderChanged, RiderLocationEvent } from '../../infra/pubsub.ts';
import { builder, unauthenticated } from '../builder.ts';
import type { GraphQLContext } from '../context.ts';
import { parseId } from '../ids.ts';

builder.subscriptionType({});

const notFound = (what: string) => new GraphQLError(`${what} was not found`, { extensions: { code: 'NOT_FOUND' } });

/** The subscriber; without a valid token, the same refusal as every other field gives. */
function requireActor(ctx: GraphQLContext): Actor {
  if (ctx.actor) return ctx.actor;
  throw unauthenticated(ctx);
}

/** The subscriber and the order it asks to watch (id and status); NOT_FOUND when it may not see that order. */
async function watchedOrder(ctx: GraphQLContext, rawId: string | number) {
  const actor = requireActor(ctx);
  const orderId = parseId(String(rawId), 'Order');
  const order = orderId === null ? null : await ctx.queries.visibleOrder(actor, orderId, { select: { id: true, status: true } });
  if (!order) throw notFound(`Order ${rawId}`);
  return { actor, order };
}

/** The order as it is when the event is delivered, loaded as the subscriber's selection asks. */
const changedOrder = (query: object, event: OrderChanged, _args: unknown, ctx: GraphQLContext) =>
  ctx.queries.orderById(event.orderId, query);

builder.subscriptionField('orderUpdated', (t) =>
  t.prismaField({
    type: 'Order',
    description: 'The order after each change, as it is when the event is delivered.',
    authScopes: { authenticated: true },
    args: { orderId: t.arg.id({ required: true }) },
    subscribe: async (_root, args, ctx) => {
      const { actor, order } = await watchedOrder(ctx, args.orderId);
      // Each event carries the order's parties and status after the change: visibility is decided without a query.
      const stillVisible = (event: OrderChanged) => canSee(actor, event);
      return pipe(ctx.pubsub.orderChanges(order.id), filter(stillVisible));
    },
    resolve: changedOrder,
  }),
);

builder.subscriptionField('restaurantOrderUpdated', (t) =>
  t.prismaField({
    type: 'Order',
    description: "Every change of the restaurant's orders (for the restaurant itself and admins).",
    authScopes: { authenticated: true },
    args: { restaurantId: t.arg.id({ required: true }) },
    subscribe: async (_root, args, ctx) => {
      const actor = requireActor(ctx);
      const restaurantId = parseId(String(args.restaurantId), 'Restaurant');
      if (
        restaurantId === null ||
        !canWatchRestaurant(actor, restaurantId) ||
        !(await ctx.queries.restaurant(restaurantId, { select: { id: true } }))
      )
        throw notFound(`Restaurant ${args.restaurantId}`);
      return ctx.pubsub.restaurantOrderChanges(restaurantId);
    },
    resolve: changedOrder,
  }),
);

type TrackedLocation = Extract<RiderLocationEvent, { kind: 'location' }>;

const RiderLocationRef = builder.objectRef<TrackedLocation>('RiderLocation').implement({
  description: 'Where the rider carrying an order is, as it reported it.',
  fields: (t) => ({
    lat: t.exposeFloat('lat'),
    lng: t.exposeFloat('lng'),
    at: t.field({ type: 'DateTime', resolve: (event) => new Date(event.at) }),
  }),
});

/** The locations a subscriber may hear, until tracking ends (the order is delivered). */
async function* untilDelivered(source: AsyncIterable<RiderLocationEvent>, actor: Actor): AsyncGenerator<TrackedLocation> {
  for await (const event of source) {
    if (event.kind === 'end') return;
    // The rider's location is for whoever may see the order it is carrying (SPEC §3), decided from the event.
    if (canSee(actor, event)) yield event;
  }
}

builder.subscriptionField('riderLocationUpdated', (t) =>
  t.field({
    type: RiderLocationRef,
    description: 'Each location the assigned rider reports while the order is ready for pickup or in transit; ends at delivery.',
    authScopes: { authenticated: true },
    args: { orderId: t.arg.id({ required: true }) },
    subscribe: async (_root, args, ctx) => {
      const { actor, order } = await watchedOrder(ctx, args.orderId);
      // A delivered order is tracked no more: the stream ends at once.
      if (order.status === 'delivered') return (async function* () {})();
      return untilDelivered(ctx.pubsub.riderLocations(order.id), actor);
    },
    resolve: (event) => event,
  }),
);
