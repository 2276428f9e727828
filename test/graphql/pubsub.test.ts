/**
 * The order pub/sub over Redis: it hands createRedisEventTarget its two connections without changing them (it once
 * overwrote their methods with Object.assign), and a command that fails while Redis is away ends no process.
 */
import RedisMock from 'ioredis-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { createOrderPubSub } from '../../src/infra/pubsub.ts';
import type { Redis, RedisConnection } from '../../src/infra/redis.ts';

const CHANGE = { id: 7, customerId: 1, restaurantId: 2, riderId: null, status: 'preparing' } as const;
const COMMANDS = ['publish', 'subscribe', 'unsubscribe'] as const;

/** A Redis connection whose duplicates are recorded with their commands as made; `Client` makes each duplicate. */
function connection(Client: typeof RedisMock = RedisMock) {
  const server = { host: `pubsub-test-${Math.random().toString(36).slice(2)}`, port: 6379 };
  const duplicates: { client: Redis; commands: unknown[] }[] = [];
  const redis: RedisConnection = {
    kind: 'redis',
    client: new Client(server) as unknown as Redis,
    duplicate: () => {
      const client = new Client(server) as unknown as Redis;
      duplicates.push({ client, commands: COMMANDS.map((command) => client[command]) });
      return client;
    },
    ping: async () => {},
    close: async () => {},
  };
  return { redis, duplicates };
}

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

describe('order pub/sub over Redis', () => {
  it('uses its connections as they are: no command of theirs is replaced', async () => {
    const { redis, duplicates } = connection();
    const { pubsub, close } = createOrderPubSub(redis, 'test:');
    closers.push(close);
    expect(duplicates).toHaveLength(2);
    for (const { client, commands } of duplicates) expect(COMMANDS.map((command) => client[command])).toEqual(commands);

    const changes = pubsub.orderChanges(CHANGE.id)[Symbol.asyncIterator]();
    const next = changes.next();
    await new Promise((resolve) => setTimeout(resolve, 50));
    pubsub.publishOrderChanged(CHANGE);
    expect((await next).value).toEqual({ orderId: 7, customerId: 1, restaurantId: 2, riderId: null, status: 'preparing' });
    await changes.return?.();
  });

  it('a publish that fails while Redis is away is no unhandled rejection', async () => {
    class Unreachable extends RedisMock {
      override publish(): Promise<number> {
        return Promise.reject(new Error('Redis is away'));
      }
    }
    const unhandled: unknown[] = [];
    const record = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', record);
    try {
      const { redis } = connection(Unreachable as typeof RedisMock);
      const { pubsub, close } = createOrderPubSub(redis, 'test:');
      closers.push(close);
      pubsub.publishOrderChanged(CHANGE);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', record);
    }
  });
});
