/**
 * Order change notifications for subscriptions: through Redis pub/sub when configured (so a change made on any
 * process reaches subscribers on every process), in-process otherwise.
 */
import { createRedisEventTarget } from '@graphql-yoga/redis-event-target';
import { createPubSub } from 'graphql-yoga';
import type { RiderMoved } from '../domain/orders/order.service.ts';
import type { Order } from '../generated/prisma/client.ts';
import type { Redis, RedisConnection } from './redis.ts';

/** The changed order's parties and status: enough for a subscriber to know, without a query, whether it may see it. */
export type OrderChanged = { orderId: number } & Pick<Order, 'customerId' | 'restaurantId' | 'riderId' | 'status'>;

/** A tracked rider's location for one order (`at` as ISO text: it crosses Redis as JSON), or the end of tracking. */
export type RiderLocationEvent = ({ kind: 'location'; lat: number; lng: number; at: string } & OrderChanged) | { kind: 'end' };

type PubSubEvent = OrderChanged | RiderLocationEvent;

export type OrderPubSub = ReturnType<typeof createOrderPubSub>['pubsub'];

/** Creates the pub/sub; close() releases its Redis connections. */
export function createOrderPubSub(redis: RedisConnection, channelPrefix: string) {
  if (redis.kind === 'redis') {
    // An order change publishes to its order's and its restaurant's topics in the same tick: one round trip.
    const publishClient = redis.duplicate({ autoPipelining: true });
    const subscribeClient = redis.duplicate();
    const pubsub = createPubSub<{ [topic: string]: [PubSubEvent] }>({
      eventTarget: createRedisEventTarget({
        publishClient: handlingRejections(publishClient, ['publish']),
        subscribeClient: handlingRejections(subscribeClient, ['subscribe', 'unsubscribe']),
      }),
    });
    return {
      pubsub: typed(pubsub, channelPrefix),
      close: async () => {
        publishClient.disconnect();
        subscribeClient.disconnect();
      },
    };
  }
  return { pubsub: typed(createPubSub<{ [topic: string]: [PubSubEvent] }>(), channelPrefix), close: async () => {} };
}

/**
 * createRedisEventTarget drops the promises of publish/subscribe/unsubscribe. While Redis is away they reject
 * (MaxRetriesPerRequestError, ~30 s into the outage), and an unhandled rejection ends a Node process: every process
 * that changed an order during a long Redis outage would exit. A lost change notification is acceptable, a crash is
 * not, so the event target sees `client` through a view whose `commands` handle their promise (callers that await it
 * still see the failure). The client itself stays as it is: a live connection is shared state.
 */
function handlingRejections(client: Redis, commands: readonly ('publish' | 'subscribe' | 'unsubscribe')[]): Redis {
  return new Proxy(client, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      if (!commands.includes(property as never)) return value.bind(target);
      return (...args: unknown[]) => {
        const result = value.apply(target, args) as Promise<unknown>;
        result.catch(() => {});
        return result;
      };
    },
  });
}

/** Topic names carry the deployment's prefix, so services sharing one Redis never hear each other. */
function typed(pubsub: ReturnType<typeof createPubSub<{ [topic: string]: [PubSubEvent] }>>, prefix: string) {
  return {
    publishOrderChanged({ id, customerId, restaurantId, riderId, status }: { id: number } & Omit<OrderChanged, 'orderId'>) {
      const event: OrderChanged = { orderId: id, customerId, restaurantId, riderId, status };
      pubsub.publish(`${prefix}order:${id}`, event);
      pubsub.publish(`${prefix}restaurant:${restaurantId}`, event);
      // Live tracking ends when the food has arrived.
      if (status === 'delivered') pubsub.publish(`${prefix}order-location:${id}`, { kind: 'end' });
    },
    publishRiderLocation({ order, lat, lng, at }: RiderMoved) {
      const { id, customerId, restaurantId, riderId, status } = order;
      const event: RiderLocationEvent = {
        kind: 'location',
        orderId: id,
        customerId,
        restaurantId,
        riderId,
        status,
        lat,
        lng,
        at: at.toISOString(),
      };
      pubsub.publish(`${prefix}order-location:${id}`, event);
    },
    orderChanges: (orderId: number) => pubsub.subscribe(`${prefix}order:${orderId}`) as AsyncIterable<OrderChanged>,
    riderLocations: (orderId: number) => pubsub.subscribe(`${prefix}order-location:${orderId}`) as AsyncIterable<RiderLocationEvent>,
    restaurantOrderChanges: (restaurantId: number) =>
      pubsub.subscribe(`${prefix}restaurant:${restaurantId}`) as AsyncIterable<OrderChanged>,
  };
}
