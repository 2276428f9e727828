/** `include=restaurant,rider`: the related rows of a set of orders, each once, in a fixed number of queries. */
import type { Actor } from '../../src/domain/auth.ts';
import type { OrderWithItems } from '../../src/domain/orders/order.queries.ts';
import { restaurantsByIds } from '../../src/domain/restaurants/restaurant.queries.ts';
import { ridersByIds } from '../../src/domain/riders/rider.queries.ts';
import type { PrismaClient } from '../../src/generated/prisma/client.ts';
import { restaurantJson, riderJson } from './serialize.ts';

export type Include = 'restaurant' | 'rider';

/** `{ restaurants?, riders? }` with only the keys asked for. */
export async function loadIncluded(prisma: PrismaClient, actor: Actor, orders: readonly OrderWithItems[], include: ReadonlySet<Include>) {
  const [restaurants, riders] = await Promise.all([
    include.has('restaurant')
      ? restaurantsByIds(
          prisma,
          orders.map((order) => order.restaurantId),
        )
      : null,
    include.has('rider')
      ? ridersByIds(
          prisma,
          actor,
          orders.flatMap((order) => (order.riderId === null ? [] : [order.riderId])),
        )
      : null,
  ]);
  return {
    ...(restaurants && { restaurants: restaurants.map(restaurantJson) }),
    ...(riders && { riders: riders.map(riderJson) }),
  };
}
