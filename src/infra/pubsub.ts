/**
 * Order change notifications for subscriptions: through Redis pub/sub when configured (so a change made on any
 * process reaches subscribers on every process), in-process otherwise.
 */
import { createRedisEventTarget } from '@graphql-yoga/redis-event-target';
import { createPubSub } from 'graphql-yoga';
import type { Redis, RedisConnection } from './redis.ts';

export type OrderChanged = { orderId: number };

export type OrderPubSub = ReturnType<typeof createOrderPubSub>['pubsub'];

/** Creates the pub/sub; close() releases its Redis connections. */
export function createOrderPubSub(redis: RedisConnection, channelPrefix: string) {
  if (redis.kind === 'redis') {
    const publishClient = guardCommands(redis.duplicate(), ['publish']);
    const subscribeClient = guardCommands(redis.duplicate(), ['subscribe', 'unsubscribe']);
    const pubsub = createPubSub<{ [topic: string]: [OrderChanged] }>({
      eventTarget: createRedisEventTarget({ publishClient, subscribeClient }),
    });
    return {
      pubsub: typed(pubsub, channelPrefix),
      close: async () => {
        publishClient.disconnect();
        subscribeClient.disconnect();
      },
    };
  }
  return { pubsub: typed(createPubSub<{ [topic: string]: [OrderChanged] }>(), channelPrefix), close: async () => {} };
}

/**
 * createRedisEventTarget drops the promises of publish/subscribe/unsubscribe. While Redis is away they reject
 * (MaxRetriesPerRequestError, ~30 s into the outage), and an unhandled rejection ends a Node process: every process
 * that changed an order during a long Redis outage would exit. A lost change notification is acceptable, a crash is
 * not, so each promise gets a handler (callers that await it still see the failure).
 */
function guardCommands(client: Redis, commands: ('publish' | 'subscribe' | 'unsubscribe')[]): Redis {
  for (const command of commands) {
    const original = (client[command] as (...args: unknown[]) => Promise<unknown>).bind(client);
    Object.assign(client, {
      [command]: (...args: unknown[]) => {
        const result = original(...args);
        result.catch(() => {});
        return result;
      },
    });
  }
  return client;
}

/** Topic names carry the deployment's prefix, so services sharing one Redis never hear each other. */
function typed(pubsub: ReturnType<typeof createPubSub<{ [topic: string]: [OrderChanged] }>>, prefix: string) {
  return {
    publishOrderChanged(order: { id: number; restaurantId: number }) {
      pubsub.publish(`${prefix}order:${order.id}`, { orderId: order.id });
      pubsub.publish(`${prefix}restaurant:${order.restaurantId}`, { orderId: order.id });
    },
    orderChanges: (orderId: number) => pubsub.subscribe(`${prefix}order:${orderId}`),
    restaurantOrderChanges: (restaurantId: number) => pubsub.subscribe(`${prefix}restaurant:${restaurantId}`),
  };
}
