/** Live order updates over SSE. Only actors who can see an order (or are the restaurant) may subscribe. */
import { GraphQLError } from 'graphql';
import { canSee } from '../../domain/orders/order-access.ts';
import { loadOrder } from '../../domain/orders/order.queries.ts';
import type { OrderChanged } from '../../infra/pubsub.ts';
import { builder } from '../builder.ts';
import { parseId } from '../ids.ts';

builder.subscriptionType({});

const notFound = (what: string) => new GraphQLError(`${what} was not found`, { extensions: { code: 'NOT_FOUND' } });

builder.subscriptionField('orderUpdated', (t) =>
  t.prismaField({
    type: 'Order',
    description: 'The order after each change, as it is when the event is delivered.',
    authScopes: { authenticated: true },
    args: { orderId: t.arg.id({ required: true }) },
    subscribe: async (_root, args, ctx) => {
      const orderId = parseId(String(args.orderId), 'Order');
      const order = orderId === null ? null : await loadOrder(ctx.prisma, orderId);
      if (!order || !ctx.actor || !canSee(ctx.actor, order)) throw notFound(`Order ${args.orderId}`);
      return ctx.container.pubsub.orderChanges(order.id) as AsyncIterable<OrderChanged>;
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
      const restaurantId = parseId(String(args.restaurantId), 'Restaurant');
      const actor = ctx.actor;
      const allowed = actor && restaurantId !== null && (actor.role === 'admin' || (actor.role === 'restaurant' && actor.id === restaurantId));
      if (!allowed) throw notFound(`Restaurant ${args.restaurantId}`);
      if (!(await ctx.prisma.restaurant.findUnique({ where: { id: restaurantId }, select: { id: true } }))) throw notFound(`Restaurant ${args.restaurantId}`);
      return ctx.container.pubsub.restaurantOrderChanges(restaurantId) as AsyncIterable<OrderChanged>;
    },
    resolve: (query, event: OrderChanged, _args, ctx) => ctx.prisma.order.findUniqueOrThrow({ ...query, where: { id: event.orderId } }),
  }),
);
