/**
 * What an action asks of Redis (issue 14), counted where it arrives: a private `redis-server` watched with MONITOR.
 * An action whose only effects are in the database leaves its idempotency key to the database (no lock, no cache):
 * its one Redis round trip is the change's publish (two PUBLISHes, pipelined). A payment still takes and releases
 * the key's lock around the charge. Runs only with the real servers (TEST_REDIS_URL set).
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backend, DEMO, setUpTestService } from '../support/harness.ts';
import { orderIn } from '../support/orders.ts';
import { PrivateRedis } from '../support/private-redis.ts';
import { freePort } from '../support/server-process.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.runIf(Boolean(process.env.TEST_REDIS_URL))(`Redis commands per keyed action (${backend})`, () => {
  let redis: PrivateRedis;
  beforeAll(async () => {
    redis = new PrivateRedis(await freePort());
    await redis.start();
  });
  afterAll(() => redis?.kill());
  const service = setUpTestService(() => ({ REDIS_URL: redis.url }));

  /**
   * The commands clients sent Redis while `work` ran, as [name, first argument], in the order Redis ran them. Publishing is
   * fire-and-forget: after `work` this waits for `publishes` PUBLISHes, then for a marker sent after them, so that
   * nothing the service sent before is still on its way to the monitor.
   */
  async function commandsDuring(work: () => Promise<unknown>, publishes: number): Promise<string[][]> {
    const client = new Redis(redis.url);
    const monitor = await client.monitor();
    const seen: string[][] = [];
    // Commands a script runs are listed too, from the source `lua`: they are part of their EVAL's round trip.
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (source !== 'lua') seen.push([args[0]!.toLowerCase(), args[1] ?? '']);
    });
    const marker = `marker-${randomUUID()}`;
    const until = async (done: () => boolean) => {
      for (const deadline = Date.now() + 5_000; !done() && Date.now() < deadline; ) await sleep(10);
    };
    try {
      await work();
      await until(() => seen.filter(([name]) => name === 'publish').length >= publishes);
      await client.echo(marker);
      await until(() => seen.some(([, argument]) => argument === marker));
      expect(seen.some(([, argument]) => argument === marker)).toBe(true);
      return seen.filter(([, argument]) => argument !== marker);
    } finally {
      monitor.disconnect();
      client.disconnect();
    }
  }

  it('a keyed acceptOrder sends Redis only the publish of its change', async () => {
    expect(service.container.redis.kind).toBe('redis');
    const order = await orderIn(service, 'pending_acceptance');
    const prefix = service.config.redisKeyPrefix;
    const commands = await commandsDuring(
      () =>
        service.container.orders.acceptOrder({
          actor: DEMO.restaurant1,
          orderId: order.id,
          expectedVersion: order.version,
          idempotencyKey: randomUUID(),
        }),
      2,
    );
    expect(commands).toEqual([
      ['publish', `${prefix}order:${order.id}`],
      ['publish', `${prefix}restaurant:${order.restaurantId}`],
    ]);
  });

  it('a payment still takes and releases its key in Redis around the charge, then publishes', async () => {
    const order = await orderIn(service, 'pending_payment');
    const commands = await commandsDuring(
      () =>
        service.container.orders.payOrder({
          actor: DEMO.customer1,
          orderId: order.id,
          expectedVersion: order.version,
          idempotencyKey: randomUUID(),
          paymentMethod: 'card',
          amount: order.totalAmount,
        }),
      2,
    );
    expect(commands.map(([name]) => name)).toEqual(['eval', 'eval', 'publish', 'publish']);
  });
});
