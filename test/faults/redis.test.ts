/**
 * Real Redis faults (SPEC §7): a payment with one idempotency key executes at most once whatever happens to Redis,
 * readiness reports an outage, and the service recovers by itself when Redis comes back.
 *
 * The shared Redis (TEST_REDIS_URL) is never touched: each run starts a private `redis-server` on a free loopback
 * port, points a test service at it, and flushes, kills (SIGKILL) and restarts only that process. The database is
 * the harness's (TEST_DATABASE_URL when set). Runs only when TEST_REDIS_URL is set, i.e. with the real servers.
 *
 * The payment gateway is wrapped with latency (a slow provider) so a request is still executing when the fault
 * hits: that is the window in which a lost Redis lock lets a second request with the same key execute too, and
 * only the database's unique index on idempotency_records may stop a double charge.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Actor } from '../../src/domain/auth.ts';
import { findViolations, formatViolations } from '../../src/domain/invariants.ts';
import { type ChargeRequest, PaymentProvider } from '../../src/domain/payments/payment-provider.ts';
import { backend, DEMO, setUpTestService } from '../support/harness.ts';
import { orderIn } from '../support/orders.ts';
import { PrivateRedis } from '../support/private-redis.ts';
import { freePort } from '../support/server-process.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let redis: PrivateRedis;
/** Gateway latency for the current test, and every charge that reached the gateway. */
let gatewayDelayMs = 0;
let charges: ChargeRequest[] = [];
/** Unhandled rejections seen while a test ran: a Redis call nobody guards (it would end a server process). */
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

/** A slow payment provider (the built-in simulator behind `gatewayDelayMs`) that counts every charge. */
class SlowProvider extends PaymentProvider {
  override async charge(request: ChargeRequest) {
    charges.push(request);
    if (gatewayDelayMs) await sleep(gatewayDelayMs);
    return super.charge(request);
  }
}

/** Longer than ioredis' default retry budget (maxRetriesPerRequest 20 → ~31 s with the service's backoff). */
const OUTAGE_MS = 35_000;

const runIfRedis = describe.runIf(Boolean(process.env.TEST_REDIS_URL));

runIfRedis(`Redis faults on a private redis-server (${backend})`, () => {
  beforeAll(async () => {
    redis = new PrivateRedis(await freePort());
    await redis.start();
  });
  afterAll(() => redis?.kill());
  const service = setUpTestService(() => ({ REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: '500' }), {
    resetEach: false,
    container: { paymentProvider: new SlowProvider({ remote: undefined, timeoutMs: 5_000 }) },
  });
  beforeAll(() => {
    expect(service.container.redis.kind).toBe('redis');
    process.on('unhandledRejection', onUnhandled);
  });
  afterAll(() => process.off('unhandledRejection', onUnhandled));

  beforeEach(async () => {
    if (!redis.running) await redis.start();
    await waitForReadiness(200, 15_000);
    await service.reset();
    gatewayDelayMs = 0;
    charges = [];
    unhandled.length = 0;
  }, 60_000);

  afterEach(() => {
    expect(unhandled.map(String), 'unhandled promise rejections (an unguarded Redis call)').toEqual([]);
  });

  /** Polls /readyz until it answers `status`; returns how long that took. */
  async function waitForReadiness(status: number, timeoutMs: number): Promise<number> {
    const started = Date.now();
    let last = '';
    while (Date.now() - started < timeoutMs) {
      const response = await service.app.request('/readyz');
      last = `${response.status} ${await response.text()}`;
      if (response.status === status) return Date.now() - started;
      await sleep(100);
    }
    throw new Error(`/readyz did not answer ${status} within ${timeoutMs} ms; last: ${last}`);
  }

  type Outcome = { transport: 'graphql' | 'rest'; status: number; result: 'executed' | 'replayed' | 'in progress' | string };

  const PAY = `mutation Pay($id: ID!, $input: PayOrderInput!) {
    payOrder(orderId: $id, expectedVersion: 1, input: $input) {
      __typename
      ... on PayOrderSuccess { replayed order { status version } }
      ... on Error { code message }
    }
  }`;

  /** One payment attempt with `key`: GraphQL payOrder, or REST v2 POST /payment with If-Match of version 1. */
  async function pay(
    transport: 'graphql' | 'rest',
    orderId: number,
    amount: number,
    key: string,
    actor: Actor = DEMO.customer1,
  ): Promise<Outcome> {
    const authorization = `Bearer ${await service.token(actor)}`;
    if (transport === 'graphql') {
      const response = await service.app.request('/graphql', {
        method: 'POST',
        headers: { authorization, 'content-type': 'application/json' },
        body: JSON.stringify({
          query: PAY,
          variables: { id: String(orderId), input: { idempotencyKey: key, paymentMethod: 'card', amount } },
        }),
      });
      const text = await response.text();
      const result = (JSON.parse(text) as { data?: { payOrder?: { __typename: string; replayed?: boolean; code?: string } } }).data
        ?.payOrder;
      const kind =
        result?.__typename === 'PayOrderSuccess'
          ? result.replayed
            ? 'replayed'
            : 'executed'
          : result?.code === 'IDEMPOTENCY_KEY_IN_PROGRESS'
            ? 'in progress'
            : `unexpected: ${text.slice(0, 300)}`;
      return { transport, status: response.status, result: kind };
    }
    const response = await service.app.request(`/api/v2/orders/${orderId}/payment`, {
      method: 'POST',
      headers: { authorization, 'content-type': 'application/json', 'if-match': `"o${orderId}-v1"`, 'idempotency-key': key },
      body: JSON.stringify({ payment_method: 'card', amount }),
    });
    const text = await response.text();
    const body = JSON.parse(text) as { code?: string };
    const kind =
      response.status === 200
        ? response.headers.get('idempotent-replayed') === 'true'
          ? 'replayed'
          : 'executed'
        : response.status === 409 && body.code === 'IDEMPOTENCY_KEY_IN_PROGRESS'
          ? 'in progress'
          : `unexpected: ${text.slice(0, 300)}`;
    return { transport, status: response.status, result: kind };
  }

  const transportOf = (index: number) => (index % 2 === 0 ? 'graphql' : 'rest');

  /** Payments stored for the order, and the database invariants. */
  async function expectExactlyOnePayment(orderId: number, outcomes: Outcome[]) {
    const summary = JSON.stringify(outcomes);
    for (const outcome of outcomes) {
      expect(outcome.status, summary).toBeLessThan(500);
      expect(['executed', 'replayed', 'in progress'], summary).toContain(outcome.result);
    }
    expect(
      outcomes.filter((outcome) => outcome.result === 'executed'),
      summary,
    ).toHaveLength(1);
    const payments = await service.container.db.prisma.payment.findMany({ where: { orderId } });
    expect(payments, summary).toHaveLength(1);
    expect(payments[0]!.status).toBe('succeeded');
    const order = await service.container.db.prisma.order.findUniqueOrThrow({ where: { id: orderId } });
    expect(order).toMatchObject({ status: 'pending_acceptance', version: 2 });
    const violations = await findViolations(service.container.db.prisma);
    expect(violations, formatViolations(violations)).toEqual([]);
  }

  /**
   * 20 concurrent payments with one key (GraphQL and REST alternating): ten start, and once the lock holder is
   * inside the (slow) gateway `fault` runs; then ten more start, spread over the next 600 ms.
   */
  async function payTwentyTimesAround(fault: () => Promise<void>) {
    const order = await orderIn(service, 'pending_payment');
    const key = `fault-${randomUUID()}`;
    gatewayDelayMs = 700;
    const first = Array.from({ length: 10 }, (_, index) => pay(transportOf(index), order.id, order.totalAmount, key));
    const deadline = Date.now() + 5_000;
    while (charges.length === 0 && Date.now() < deadline) await sleep(5);
    expect(charges.length, 'the first payment reached the gateway').toBeGreaterThan(0);
    await fault();
    const second = Array.from({ length: 10 }, async (_, index) => {
      await sleep(index * 60);
      return pay(transportOf(index + 1), order.id, order.totalAmount, key);
    });
    const outcomes = await Promise.all([...first, ...second]);
    return { order, outcomes };
  }

  it('FLUSHALL while a payment holds its lock: 20 same-key payments still charge exactly once', async () => {
    const { order, outcomes } = await payTwentyTimesAround(() => redis.command((client) => client.flushall()).then(() => {}));
    // The fault took effect: with the lock gone, a second request with the key executed up to the gateway…
    expect(charges.length, JSON.stringify(outcomes)).toBeGreaterThan(1);
    expect(new Set(charges.map((charge) => charge.idempotencyKey)).size).toBe(1);
    // …and the database still let exactly one of them commit.
    await expectExactlyOnePayment(order.id, outcomes);
  }, 60_000);

  it('redis-server killed (SIGKILL) while a payment holds its lock: 20 same-key payments still charge exactly once', async () => {
    const { order, outcomes } = await payTwentyTimesAround(() => redis.kill());
    await expectExactlyOnePayment(order.id, outcomes);
    expect(redis.running).toBe(false);
  }, 90_000);

  it('readiness: 503 during a 35 s outage, 200 again by itself within 10 s of a restart; payments work throughout', async () => {
    const during = await orderIn(service, 'pending_payment');
    const raced = await orderIn(service, 'pending_payment');
    const after = await orderIn(service, 'pending_payment');
    const again = await orderIn(service, 'pending_payment');
    await waitForReadiness(200, 5_000);

    await redis.kill();
    const killedAt = Date.now();
    const downAfter = await waitForReadiness(503, 5_000);
    expect(downAfter).toBeLessThan(5_000);
    const readyz = await service.app.request('/readyz');
    expect(readyz.status).toBe(503);
    expect(await readyz.json()).toMatchObject({ status: 'not ready', database: 'ok', redis: expect.stringMatching(/^down/) });

    // During the outage idempotency falls back to the database: payments go through, never twice, never a 5xx.
    const paidAt = Date.now();
    const single = await pay('rest', during.id, during.totalAmount, `outage-${randomUUID()}`);
    const outagePaymentMs = Date.now() - paidAt;
    expect(single).toMatchObject({ status: 200, result: 'executed' });
    const key = `outage-${randomUUID()}`;
    const racing = await Promise.all(Array.from({ length: 6 }, (_, index) => pay(transportOf(index), raced.id, raced.totalAmount, key)));
    await expectExactlyOnePayment(raced.id, racing);
    expect((await service.app.request('/readyz')).status).toBe(503);

    // Outlast the retry budget of the pub/sub connections (20 reconnection attempts, ~31 s): the change
    // notifications queued above are then rejected, and nothing may leave that rejection unhandled.
    await sleep(Math.max(0, killedAt + OUTAGE_MS - Date.now()));
    expect(unhandled.map(String), 'unhandled rejections during the outage').toEqual([]);
    expect((await service.app.request('/readyz')).status).toBe(503);

    // Same port, new process, empty data; nobody touches the service.
    await redis.start();
    const recoveredAfter = await waitForReadiness(200, 10_000);
    expect(recoveredAfter).toBeLessThan(10_000);
    console.info(
      `[faults/redis] /readyz 503 ${downAfter} ms after the kill; a payment during the outage took ${outagePaymentMs} ms; ` +
        `/readyz 200 again ${recoveredAfter} ms after the restart`,
    );

    // Payments work again, and through Redis: the lock is back (a concurrent duplicate is told "in progress")…
    gatewayDelayMs = 500;
    const afterKey = `after-${randomUUID()}`;
    const pair = await Promise.all([
      pay('rest', after.id, after.totalAmount, afterKey),
      (async () => {
        await sleep(100);
        return pay('graphql', after.id, after.totalAmount, afterKey);
      })(),
    ]);
    expect(pair.map((outcome) => outcome.result)).toEqual(['executed', 'in progress']);
    // …and so is the replay cache.
    const cached = await redis.command((client) => client.keys(`${service.config.redisKeyPrefix}idem:*`));
    expect(cached.length).toBeGreaterThan(0);
    gatewayDelayMs = 0;
    expect(await pay('graphql', after.id, after.totalAmount, afterKey)).toMatchObject({ status: 200, result: 'replayed' });
    expect(await pay('graphql', again.id, again.totalAmount, `again-${randomUUID()}`)).toMatchObject({ status: 200, result: 'executed' });

    for (const id of [during.id, after.id, again.id]) {
      expect(await service.container.db.prisma.payment.count({ where: { orderId: id } })).toBe(1);
    }
    const violations = await findViolations(service.container.db.prisma);
    expect(violations, formatViolations(violations)).toEqual([]);
  }, 120_000);
});
