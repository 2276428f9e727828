/**
 * Payments through a provider across real processes (SPEC §7, §8), counted at the provider rather than in our tables:
 *
 * 1. kill -9 while charges are in flight, restart, and nobody retries: the service finds every charge on its own;
 * 2. a cancel and a reject of paid orders while the provider is down, kill -9 right after: the refunds still arrive;
 * 3. (PostgreSQL) two processes, several devices per order paying with their own keys: one charge per order.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { createServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type Actor, secretKey, signToken } from '../../src/domain/auth.ts';
import { findViolations, formatViolations } from '../../src/domain/invariants.ts';
import { type Database, openDatabase } from '../../src/infra/db.ts';
import { type FakePaymentProvider, startFakePaymentProvider } from '../support/fake-payment-provider.ts';
import { backend, createScratchDatabase, DEMO } from '../support/harness.ts';
import { type ServerProcess, startServerProcess } from '../support/server-process.ts';

const JWT_SECRET = 'payments-processes-test-secret-32-chars!';
const PROVIDER_TIMEOUT_MS = 2_000;
/** Below the provider timeout: the service would have got its answer, had it lived. */
const CHARGE_DELAY_MS = 1_500;
/** SPEC §8: every charge accounted for, and every refund at the provider, within 30 s. */
const WITHIN_MS = 30_000;
const CHARGE_PATH = '/v1/payment_intents';

const CREATE = `mutation($key: String!, $quantity: Int!) {
  createOrder(input: { idempotencyKey: $key, restaurantId: "1", items: [{ menuItemId: "2", quantity: $quantity }], deliveryAddress: "1 Test Street" }) {
    __typename ... on CreateOrderSuccess { order { id databaseId version totalAmount } } ... on Error { code message } } }`;
const PAY = `mutation($id: ID!, $v: Int!, $key: String!, $method: String!, $amount: Int!) {
  payOrder(orderId: $id, expectedVersion: $v, input: { idempotencyKey: $key, paymentMethod: $method, amount: $amount }) {
    __typename ... on PayOrderSuccess { replayed order { status version } } ... on Error { code message } } }`;
const CANCEL = `mutation($id: ID!, $v: Int!) {
  cancelOrder(orderId: $id, expectedVersion: $v, input: { reason: "changed my mind" }) {
    __typename ... on CancelOrderSuccess { order { status version } } ... on Error { code message } } }`;
const REJECT = `mutation($id: ID!, $v: Int!) {
  rejectOrder(orderId: $id, expectedVersion: $v, input: { reason: "out of noodles" }) {
    __typename ... on RejectOrderSuccess { order { status version } } ... on Error { code message } } }`;
const STATUS = 'query($id: ID!) { order(id: $id) { status } }';

type Order = { id: string; databaseId: number; version: number; totalAmount: number };
type GqlBody = { data?: any; errors?: unknown[] };

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Polls until `missing()` returns null (nothing missing) and returns the time it did; past `deadline` it throws with
 * the last thing that was missing, so that a failure says what never happened.
 */
async function until(missing: () => string | null | Promise<string | null>, deadline: number, what: string): Promise<number> {
  for (;;) {
    const gap = await missing();
    if (gap === null) return Date.now();
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}: ${gap}`);
    await sleep(200);
  }
}

/**
 * A pass-through HTTP proxy in front of the fake provider that notes each request once its body has been handed on
 * (the fake's `delay` fault holds a request before the simulator sees it, so the simulator cannot tell us that a
 * charge has arrived). A request whose client went away is still forwarded and answered into the void, as a
 * provider behind a network would.
 */
async function startCountingProxy(target: string) {
  const forwarded: { method: string; path: string }[] = [];
  const sockets = new Set<Socket>();
  const hopByHop = new Set(['connection', 'keep-alive', 'transfer-encoding', 'proxy-connection', 'upgrade', 'te', 'trailer']);
  const strip = (headers: IncomingHttpHeaders) => Object.fromEntries(Object.entries(headers).filter(([name]) => !hopByHop.has(name)));
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', target);
    const upstream = httpRequest(url, { method: req.method, headers: strip(req.headers), agent: false }, (answer) => {
      if (res.destroyed) {
        answer.resume();
        return;
      }
      res.writeHead(answer.statusCode ?? 502, strip(answer.headers));
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    upstream.on('finish', () => forwarded.push({ method: req.method ?? '', path: url.pathname }));
    req.pipe(upstream);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    /** How many requests with this method and path have been handed to the provider in full. */
    count: (method: string, pathname: string) =>
      forwarded.filter((request) => request.method === method && request.path === pathname).length,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe(`payments through a provider across processes (${backend})`, () => {
  const running = new Set<ServerProcess>();
  const cleanups: (() => unknown)[] = [];

  afterAll(async () => {
    for (const server of running) await stop(server, 'SIGKILL');
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (error) {
        console.warn('cleanup failed:', error);
      }
    }
  });

  async function start(env: Record<string, string | undefined>): Promise<ServerProcess> {
    const server = await startServerProcess(env);
    running.add(server);
    return server;
  }

  async function stop(server: ServerProcess, signal: NodeJS.Signals): Promise<void> {
    server.kill(signal);
    await server.exited;
    running.delete(server);
  }

  async function fakeProvider(): Promise<FakePaymentProvider> {
    const fake = await startFakePaymentProvider();
    cleanups.push(() => fake.close());
    return fake;
  }

  /** A fresh database (a scratch PostgreSQL database, or a PGlite data dir) for processes to share in turn. */
  async function storage(name: string): Promise<{ env: Record<string, string | undefined>; open(): Promise<Database> }> {
    const scratch = backend === 'postgres' ? await createScratchDatabase() : null;
    if (scratch) cleanups.push(() => scratch.drop());
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `${name}-pglite-`));
    cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    return {
      env: {
        JWT_SECRET,
        RATE_LIMIT_PER_MINUTE: '0',
        DATABASE_URL: scratch?.url,
        EMBEDDED_DATA_DIR: dataDir,
        REDIS_URL: process.env.TEST_REDIS_URL,
        REDIS_KEY_PREFIX: `${name}-${randomUUID()}:`,
      },
      open: () => openDatabase({ url: scratch?.url, embeddedDataDir: dataDir }),
    };
  }

  const providerEnv = (url: string, fake: FakePaymentProvider) => ({
    PAYMENT_PROVIDER_URL: url,
    PAYMENT_PROVIDER_KEY: fake.secretKey,
    PAYMENT_PROVIDER_TIMEOUT_MS: String(PROVIDER_TIMEOUT_MS),
  });

  const signingKey = secretKey(JWT_SECRET);
  async function gql(server: ServerProcess, actor: Actor, query: string, variables: Record<string, unknown> = {}): Promise<GqlBody> {
    const response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await signToken(actor, signingKey, '1h')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ query, variables }),
    });
    return (await response.json()) as GqlBody;
  }

  async function createOrders(server: ServerProcess, count: number): Promise<Order[]> {
    const orders: Order[] = [];
    for (let i = 0; i < count; i++) {
      // Different quantities, so that a refund of the wrong amount or for the wrong order cannot pass unnoticed.
      const body = await gql(server, DEMO.customer1, CREATE, { key: randomUUID(), quantity: 1 + (i % 3) });
      expect(body.data?.createOrder?.__typename, JSON.stringify(body)).toBe('CreateOrderSuccess');
      orders.push(body.data.createOrder.order);
    }
    return orders;
  }

  const pay = (server: ServerProcess, order: Order, key: string, method = 'card') =>
    gql(server, DEMO.customer1, PAY, { id: order.id, v: order.version, key, method, amount: order.totalAmount });

  async function expectProviderHygiene(fake: FakePaymentProvider): Promise<void> {
    expect(fake.simulator.keyReuses()).toEqual([]);
    expect(fake.simulator.postsWithoutKey()).toBe(0);
  }

  async function expectInvariants(db: Database): Promise<void> {
    expect(formatViolations(await findViolations(db.prisma))).toBe('All invariants hold.');
  }

  it('accounts for every charge of a process killed mid-request, with nobody retrying', { timeout: 120_000 }, async () => {
    const fake = await fakeProvider();
    const proxy = await startCountingProxy(fake.url);
    cleanups.push(() => proxy.close());
    const store = await storage('pay-kill');
    const env = { ...store.env, ...providerEnv(proxy.url, fake) };
    let server = await start(env);
    const orders = await createOrders(server, 8);

    // Every charge is held 1.5 s at the provider, then made whether or not anyone is still waiting for it.
    fake.inject({ kind: 'delay', ms: CHARGE_DELAY_MS }, { method: 'POST', pathPrefix: CHARGE_PATH, times: orders.length });
    const answers = orders.map((order) => pay(server, order, randomUUID()).catch(() => null));
    await until(
      () => {
        const arrived = proxy.count('POST', CHARGE_PATH);
        return arrived >= orders.length ? null : `${arrived} of ${orders.length} charge requests arrived`;
      },
      Date.now() + 10_000,
      'every charge request reached the provider',
    );
    const madeBeforeKill = fake.simulator.paymentIntents().length;
    server.kill('SIGKILL');
    const killedAt = Date.now();
    await server.exited;
    running.delete(server);
    // Nothing had been charged yet: every charge was in flight when the process died, and no client got an answer.
    expect(madeBeforeKill).toBe(0);
    expect((await Promise.all(answers)).filter((answer) => answer !== null)).toEqual([]);

    // The provider finishes the charges nobody waits for any more (this is also what the fake's `delay` must do).
    await until(
      () => {
        const made = fake.simulator.paymentIntents().filter((intent) => intent.status === 'succeeded').length;
        return made >= orders.length ? null : `${made} of ${orders.length} charges made`;
      },
      killedAt + CHARGE_DELAY_MS + 5_000,
      'the provider made the delayed charges',
    );
    expect(fake.simulator.requests().filter((request) => request.method === 'POST' && request.path === CHARGE_PATH)).toHaveLength(
      orders.length,
    );

    // A new process on the same database, and not a single client request from here on.
    server = await start(env);
    const statusOf = async (order: Order): Promise<string | null> =>
      gql(server, DEMO.customer1, STATUS, { id: order.id }).then(
        (body) => body.data?.order?.status ?? null,
        () => null,
      );
    const settledAt = await until(
      async () => {
        for (const order of orders) {
          for (const intent of fake.succeededCharges(order.databaseId)) {
            const refunded = fake.refundsFor(intent.id).reduce((sum, refund) => sum + refund.amount, 0) === intent.amount;
            if (refunded) continue;
            const status = await statusOf(order);
            if (status === null || status === 'PENDING_PAYMENT')
              return `order ${order.databaseId} is ${status} and ${intent.id} is not refunded`;
          }
        }
        return null;
      },
      killedAt + WITHIN_MS,
      'every charge is recorded or refunded',
    );
    await stop(server, 'SIGTERM');

    // What the database said when the poll succeeded (nothing has run since): every charge accounted for exactly.
    const db = await store.open();
    try {
      const [payments, refunds, rows] = await Promise.all([
        db.prisma.payment.findMany(),
        db.prisma.refund.findMany(),
        db.prisma.order.findMany({ select: { id: true, status: true } }),
      ]);
      const statusById = new Map(rows.map((row) => [row.id, row.status]));
      const unaccounted: string[] = [];
      for (const order of orders) {
        const charges = fake.succeededCharges(order.databaseId);
        expect(charges.length, `succeeded PaymentIntents of order ${order.databaseId}`).toBeLessThanOrEqual(1);
        for (const intent of charges) {
          const recorded = payments.some(
            (payment) =>
              payment.providerPaymentId === intent.id &&
              payment.status === 'succeeded' &&
              payment.orderId === order.databaseId &&
              statusById.get(order.databaseId) !== 'pending_payment',
          );
          const refund = refunds.find((row) => row.providerPaymentId === intent.id && row.providerRefundId !== null);
          const refunded =
            refund !== undefined &&
            fake
              .refundsFor(intent.id)
              .some((atProvider) => atProvider.id === refund.providerRefundId && atProvider.amount === intent.amount);
          if (!recorded && !refunded) unaccounted.push(`${intent.id} of order ${order.databaseId} (${statusById.get(order.databaseId)})`);
        }
      }
      expect(unaccounted).toEqual([]);
      await expectInvariants(db);
    } finally {
      await db.close();
    }
    await expectProviderHygiene(fake);
    console.info(`[${backend}] kill -9 mid-charge: every charge accounted for ${settledAt - killedAt} ms after the kill`);
  });

  it('refunds a cancel and a reject made while the provider is down, although the process is killed right after', {
    timeout: 120_000,
  }, async () => {
    const fake = await fakeProvider();
    const store = await storage('refund-kill');
    const env = { ...store.env, ...providerEnv(fake.url, fake) };
    let server = await start(env);
    const [cancelled, rejected] = await createOrders(server, 2);
    for (const order of [cancelled!, rejected!]) {
      const body = await pay(server, order, randomUUID());
      expect(body.data?.payOrder, JSON.stringify(body)).toMatchObject({
        __typename: 'PayOrderSuccess',
        order: { status: 'PENDING_ACCEPTANCE', version: 2 },
      });
    }
    const charges = [cancelled!, rejected!].map((order) => {
      const intents = fake.succeededCharges(order.databaseId);
      expect(intents, `charges of order ${order.databaseId}`).toHaveLength(1);
      expect(intents[0]!.amount).toBe(order.totalAmount);
      return { order, intent: intents[0]! };
    });

    await fake.down();
    const changedAt = Date.now();
    const [cancel, reject] = await Promise.all([
      gql(server, DEMO.customer1, CANCEL, { id: cancelled!.id, v: 2 }),
      gql(server, DEMO.restaurant1, REJECT, { id: rejected!.id, v: 2 }),
    ]);
    const answeredIn = Date.now() - changedAt;
    server.kill('SIGKILL');
    await server.exited;
    running.delete(server);
    expect(cancel.data?.cancelOrder, JSON.stringify(cancel)).toMatchObject({
      __typename: 'CancelOrderSuccess',
      order: { status: 'CANCELLED', version: 3 },
    });
    expect(reject.data?.rejectOrder, JSON.stringify(reject)).toMatchObject({
      __typename: 'RejectOrderSuccess',
      order: { status: 'REJECTED', version: 3 },
    });
    // Not waiting for the provider: the SDK alone would spend at least 1 s on its two retries of a refused connection.
    expect(answeredIn).toBeLessThan(1_000);
    expect(fake.simulator.refunds()).toEqual([]);

    await fake.up();
    server = await start(env);
    const refundedAt = await until(
      () => {
        const missing = charges.filter(({ intent }) => fake.refundsFor(intent.id).length === 0);
        return missing.length
          ? `no refund yet for ${missing.map(({ order, intent }) => `${intent.id} (order ${order.databaseId})`).join(', ')}`
          : null;
      },
      changedAt + WITHIN_MS,
      'the provider has a refund for each charge',
    );
    await stop(server, 'SIGTERM');

    const db = await store.open();
    try {
      for (const { order, intent } of charges) {
        const atProvider = fake.refundsFor(intent.id);
        expect(
          atProvider.map((refund) => refund.amount),
          `refunds of ${intent.id} at the provider`,
        ).toEqual([intent.amount]);
        const rows = await db.prisma.refund.findMany({ where: { orderId: order.databaseId } });
        expect(
          rows.map((row) => ({ providerPaymentId: row.providerPaymentId, providerRefundId: row.providerRefundId, amount: row.amount })),
        ).toEqual([{ providerPaymentId: intent.id, providerRefundId: atProvider[0]!.id, amount: order.totalAmount }]);
      }
      await expectInvariants(db);
    } finally {
      await db.close();
    }
    await expectProviderHygiene(fake);
    console.info(`[${backend}] refunds after kill -9: at the provider ${refundedAt - changedAt} ms after the change`);
  });

  describe.runIf(backend === 'postgres')('two processes on one database and one Redis', () => {
    it('charges each order once when devices race with their own keys over both processes', { timeout: 120_000 }, async () => {
      const fake = await fakeProvider();
      const store = await storage('pay-race');
      const env = { ...store.env, ...providerEnv(fake.url, fake) };
      const servers = await Promise.all([start(env), start(env)]);
      const orders = await createOrders(servers[0]!, 6);

      // Six devices per order, each with its own key, alternating processes; card and wallet on both processes.
      const plan = orders.flatMap((order) =>
        Array.from({ length: 6 }, (_, i) => ({ order, server: servers[i % 2]!, method: i < 3 ? 'card' : 'wallet', key: randomUUID() })),
      );
      const results = await Promise.all(plan.map(({ order, server, method, key }) => pay(server, order, key, method)));

      const allowed = ['PayOrderSuccess', 'VersionConflictError', 'IdempotencyKeyInProgressError'];
      const outcomes = results.map((body) => body.data?.payOrder?.__typename ?? JSON.stringify(body));
      expect(outcomes.filter((outcome) => !allowed.includes(outcome))).toEqual([]);
      const db = await store.open();
      try {
        const perOrder = await Promise.all(
          orders.map(async (order) => {
            const answers = plan.flatMap((attempt, index) => (attempt.order === order ? [results[index]!.data.payOrder] : []));
            const payments = await db.prisma.payment.findMany({ where: { orderId: order.databaseId } });
            return {
              order: order.databaseId,
              successes: answers.filter((answer) => answer.__typename === 'PayOrderSuccess'),
              charges: fake
                .succeededCharges(order.databaseId)
                .map((intent) => ({ id: intent.id, method: intent.metadata.payment_method, amount: intent.amount })),
              payments: payments.map((payment) => ({ status: payment.status, providerPaymentId: payment.providerPaymentId })),
            };
          }),
        );
        // Counted at the provider: a second charge is one even if it was refunded at once.
        expect(
          perOrder.filter((row) => row.charges.length !== 1).map(({ order, charges }) => ({ order, charges })),
          'orders without exactly one succeeded PaymentIntent',
        ).toEqual([]);
        for (const row of perOrder) {
          expect(row.successes, `successes for order ${row.order}`).toEqual([
            { __typename: 'PayOrderSuccess', replayed: false, order: { status: 'PENDING_ACCEPTANCE', version: 2 } },
          ]);
          expect(row.payments, `payments of order ${row.order}`).toEqual([{ status: 'succeeded', providerPaymentId: row.charges[0]!.id }]);
        }
        await expectInvariants(db);
      } finally {
        await db.close();
      }
      await expectProviderHygiene(fake);
      for (const server of servers) await stop(server, 'SIGKILL');
    });
  });
});
