/** What every resolver receives: the caller, the services it calls and per-request loaders. Nothing framework-specific. */
import DataLoader from 'dataloader';
import type { Actor } from '../domain/auth.ts';
import { listEvents } from '../domain/events/events.ts';
import { findVisibleOrder, findVisibleOrders, orderById } from '../domain/orders/order.queries.ts';
import type { OrderService } from '../domain/orders/order.service.ts';
import { findRestaurant, findRestaurants } from '../domain/restaurants/restaurant.queries.ts';
import { findRider, riderLocationsVisibleTo } from '../domain/riders/rider.queries.ts';
import type { Webhooks } from '../domain/webhooks/webhooks.ts';
import type { PrismaClient } from '../generated/prisma/client.ts';
import type { OrderPubSub } from '../infra/pubsub.ts';

/** The client of the Pothos prisma plugin (relations, nodes); resolvers read through `queries`, never through it. */
export const PRISMA_PLUGIN_CLIENT = Symbol('prisma plugin client');

export type GraphQLContext = {
  actor: Actor | null;
  /** Set when a token was sent but refused; resolvers that need an actor report it. */
  authError: Error | null;
  requestId: string;
  orders: OrderService;
  webhooks: Webhooks;
  queries: ReadQueries;
  pubsub: OrderPubSub;
  loaders: ReturnType<typeof createLoaders>;
  [PRISMA_PLUGIN_CLIENT]: PrismaClient;
};

export type ReadQueries = ReturnType<typeof createReadQueries>;

/** The domain's read functions that resolvers call, over one database; each takes Pothos's `query` (the selection). */
export function createReadQueries(prisma: PrismaClient) {
  const over =
    <Args extends unknown[], Result>(read: (prisma: PrismaClient, ...args: Args) => Result) =>
    (...args: Args) =>
      read(prisma, ...args);
  return {
    visibleOrder: over(findVisibleOrder),
    visibleOrders: over(findVisibleOrders),
    orderById: over(orderById),
    restaurant: over(findRestaurant),
    restaurants: over(findRestaurants),
    rider: over(findRider),
    riderLocationsVisibleTo: over(riderLocationsVisibleTo),
    events: over(listEvents),
  };
}

/** Per-request DataLoaders: batch what many objects of one response ask for. */
export function createLoaders(queries: ReadQueries, actor: Actor | null) {
  return {
    /** Whether the actor may see a rider's location (the domain's rule), for many riders in one query. */
    riderLocationVisible: new DataLoader<number, boolean>(async (riderIds) => {
      if (!actor) return riderIds.map(() => false);
      const visible = await queries.riderLocationsVisibleTo(actor, riderIds);
      return riderIds.map((id) => visible.has(id));
    }),
  };
}
