/** Order events (SPEC §9): `events(first, after): EventConnection!`, the feed a partner catches up from. */

import { GraphQLError } from 'graphql';
import { EVENT_TYPES, FEED_PAGE, type FeedEvent } from '../../domain/events/events.ts';
import { builder } from '../builder.ts';
import { checkPageSize } from './order.ts';

const EventType = builder.enumType('EventType', {
  description: 'What happened: one per history entry of an order, plus ORDER_REFUNDED when the provider confirms a refund.',
  values: Object.fromEntries(EVENT_TYPES.map((type) => [type.replace('.', '_').toUpperCase(), { value: type }])),
});

const EventRef = builder.objectRef<FeedEvent>('Event').implement({
  description: 'One event; `id` (evt_…) is the same in the REST feed and in webhook deliveries, and never changes.',
  fields: (t) => ({
    id: t.exposeID('id'),
    type: t.field({ type: EventType, resolve: (event) => event.type }),
    createdAt: t.field({ type: 'DateTime', resolve: (event) => event.createdAt }),
    order: t.prismaField({
      type: 'Order',
      description: 'The order as it is now (the REST feed carries it as the event left it).',
      resolve: (query, event, _args, ctx) => ctx.queries.orderById(event.orderId, query),
    }),
  }),
});

builder.queryField('events', (t) =>
  t.connection(
    {
      type: EventRef,
      description: `Events of the orders the viewer may see, oldest first; \`first\` 1–${FEED_PAGE.max} (default ${FEED_PAGE.default}), \`after\` an event's cursor.`,
      authScopes: { authenticated: true },
      resolve: async (_root, args, ctx) => {
        checkPageSize(args.first);
        if (args.after != null && !/^evt_[1-9][0-9]{0,17}$/.test(args.after)) {
          throw new GraphQLError('after must be an event cursor (evt_…)', { extensions: { code: 'BAD_USER_INPUT' } });
        }
        const page = await ctx.queries.events(ctx.actor!, { after: args.after ?? undefined, limit: args.first ?? undefined });
        return {
          edges: page.events.map((event) => ({ cursor: event.id, node: event })),
          pageInfo: {
            hasNextPage: page.hasMore,
            hasPreviousPage: args.after != null,
            startCursor: page.events[0]?.id ?? null,
            endCursor: page.events.at(-1)?.id ?? null,
          },
        };
      },
    },
    { name: 'EventConnection' },
    { name: 'EventEdge' },
  ),
);
