/** Restaurant and MenuItem; restaurant queries. */

import { PAGE_SIZE, visibleOrdersNewestFirst } from '../../domain/orders/order.queries.ts';
import { builder } from '../builder.ts';
import { parseId } from '../ids.ts';
import { checkPageSize } from './order.ts';

builder.prismaNode('Restaurant', {
  id: { field: 'id' },
  // A missing row is null for node(id:), not findUniqueOrThrow's internal error.
  nullable: true,
  fields: (t) => ({
    databaseId: t.exposeInt('id'),
    name: t.exposeString('name'),
    address: t.exposeString('address'),
    menu: t.relation('menuItems', { query: { orderBy: { id: 'asc' } } }),
    orders: t.relatedConnection('orders', {
      cursor: 'id',
      defaultSize: PAGE_SIZE.default,
      maxSize: PAGE_SIZE.max,
      description: "The restaurant's orders that the viewer can see, newest first.",
      query: (args, ctx) => {
        checkPageSize(args.first as number | null | undefined);
        return visibleOrdersNewestFirst(ctx.actor);
      },
    }),
  }),
});

builder.prismaNode('MenuItem', {
  id: { field: 'id' },
  // A missing row is null for node(id:), not findUniqueOrThrow's internal error.
  nullable: true,
  fields: (t) => ({
    databaseId: t.exposeInt('id'),
    name: t.exposeString('name'),
    price: t.exposeInt('price', { description: 'Integer KRW.' }),
    available: t.exposeBoolean('available'),
    restaurant: t.relation('restaurant'),
  }),
});

builder.queryFields((t) => ({
  restaurant: t.prismaField({
    type: 'Restaurant',
    nullable: true,
    authScopes: { authenticated: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, args, ctx) => {
      const id = parseId(String(args.id), 'Restaurant');
      return id === null ? null : ctx.queries.restaurant(id, query);
    },
  }),
  restaurants: t.prismaConnection({
    type: 'Restaurant',
    cursor: 'id',
    defaultSize: PAGE_SIZE.default,
    maxSize: PAGE_SIZE.max,
    authScopes: { authenticated: true },
    resolve: (query, _root, args, ctx) => {
      checkPageSize(args.first);
      return ctx.queries.restaurants(query);
    },
  }),
}));
