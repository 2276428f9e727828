/**
 * `include=restaurant,rider`: the related rows of a set of orders, each once. The orders arrive with their
 * restaurant and rider already joined (itemsAndParties), so this adds at most one query: whose location the actor
 * may see.
 */
import type { Actor } from '../../src/domain/auth.ts';
import type { OrderWithParties } from '../../src/domain/orders/order.queries.ts';
import { riderViews } from '../../src/domain/riders/rider.queries.ts';
import type { PrismaClient, Restaurant } from '../../src/generated/prisma/client.ts';
import { restaurantJson, riderJson } from './serialize.ts';

export type Include = 'restaurant' | 'rider';

/** `{ restaurants?, riders? }` with only the keys asked for, each ordered by id. */
export async function loadIncluded(prisma: PrismaClient, actor: Actor, orders: readonly OrderWithParties[], include: ReadonlySet<Include>) {
  const restaurants = include.has('restaurant')
    ? [...new Map<number, Restaurant>(orders.map((order) => [order.restaurant.id, order.restaurant])).values()].sort((a, b) => a.id - b.id)
    : null;
  const riders = include.has('rider')
    ? await riderViews(
        prisma,
        actor,
        orders.flatMap((order) => (order.rider ? [order.rider] : [])),
      )
    : null;
  return {
    ...(restaurants && { restaurants: restaurants.map(restaurantJson) }),
    ...(riders && { riders: riders.map(riderJson) }),
  };
}
