/** Restaurant and MenuItem; restaurant queries. */

import { PAGE_SIZE, visibleOrdersNewestFirst } from '../../domain/orders/order.queries.ts';
import { builder } from '../builder.ts';
import { byIdField, loadById, NODE_BY_ID } from '../ids.ts';
import { checkPageSize } from './order.ts';

builder.prismaNode('Restaurant', {
  ...NODE_BY_ID,
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
  ...NODE_BY_ID,
  fields: (t) => ({
    databaseId: t.exposeInt('id'),
    name: t.exposeString('name'),
    price: t.exposeInt('price', { description: 'Integer KRW.' }),
    available: t.exposeBoolean('available'),
    restaurant: t.relation('restaurant'),
  }),
});

builder.queryFields((t) => ({
  restaurant: t.prismaField({ type: 'Restaurant', ...byIdField(t), resolve: loadById('Restaurant', (ctx) => ctx.queries.restaurant) }),
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
