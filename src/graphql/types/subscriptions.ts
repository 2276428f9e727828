/**
 * Live order updates over SSE. Only actors who can see an order (or are the restaurant) may subscribe, and an
 * event is delivered only while the subscriber can still see the order: a rider watching a claimable order stops
 * hearing about it once another rider claims it.
 */
import { GraphQLError } from 'graphql';
import { filter, pipe } from 'graphql-yoga';
import type { Actor } from '../../domain/auth.ts';
import { loadOrder } from '../../domain/orders/order.queries.ts';
import { canSee, visibleOrdersWhere } from '../../domain/orders/order-access.ts';
import type { OrderChanged } from '../../infra/pubsub.ts';
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

builder.subscriptionField('orderUpdated', (t) =>
  t.prismaField({
    type: 'Order',
    description: 'The order after each change, as it is when the event is delivered.',
    authScopes: { authenticated: true },
    args: { orderId: t.arg.id({ required: true }) },
    subscribe: async (_root, args, ctx) => {
      const actor = requireActor(ctx);
      const orderId = parseId(String(args.orderId), 'Order');
      const order = orderId === null ? null : await loadOrder(ctx.prisma, orderId);
      if (!order || !canSee(actor, order)) throw notFound(`Order ${args.orderId}`);
      const stillVisible = async (event: OrderChanged) =>
        (await ctx.prisma.order.count({ where: { id: event.orderId, AND: [visibleOrdersWhere(actor)] } })) > 0;
      return pipe(ctx.container.pubsub.orderChanges(order.id) as AsyncIterable<OrderChanged>, filter(stillVisible));
    },
    resolve: (query, event: OrderChanged, _args, ctx) => ctx.prisma.order.findUniqueOrThrow({ ...query, where: { id: event.orderId } }),
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
      const allowed = restaurantId !== null && (actor.role === 'admin' || (actor.role === 'restaurant' && actor.id === restaurantId));
      if (!allowed) throw notFound(`Restaurant ${args.restaurantId}`);
      if (!(await ctx.prisma.restaurant.findUnique({ where: { id: restaurantId }, select: { id: true } })))
        throw notFound(`Restaurant ${args.restaurantId}`);
      return ctx.container.pubsub.restaurantOrderChanges(restaurantId) as AsyncIterable<OrderChanged>;
    },
    resolve: (query, event: OrderChanged, _args, ctx) => ctx.prisma.order.findUniqueOrThrow({ ...query, where: { id: event.orderId } }),
  }),
);
