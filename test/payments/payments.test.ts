/**
 * SPEC §8 against a Stripe-subset provider over real HTTP (test/support/fake-payment-provider.ts), with faults on
 * demand, counted at the provider: one charge per order, every charge accounted for, refunds that arrive, and an
 * outage that is a clear answer. The service runs in this process (its job worker too); the provider does not.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { findViolations, formatViolations } from '../../src/domain/invariants.ts';
import { reconcilePayments } from '../../src/domain/payments/reconcile.ts';
import { type FakePaymentProvider, startFakePaymentProvider } from '../support/fake-payment-provider.ts';
import { backend, DEMO, graphql, setUpTestService } from '../support/harness.ts';
import { placeOrder } from '../support/orders.ts';
import { rest } from '../support/rest-client.ts';

let provider: FakePaymentProvider;
/** How long the provider works on a charge while holding its key (a second request with the key meets 409). */
let chargeProcessingMs = 0;
const removeFaults: (() => void)[] = [];

beforeAll(async () => {
  provider = await startFakePaymentProvider({ processingDelayMs: ({ path }) => (path === '/v1/payment_intents' ? chargeProcessingMs : 0) });
});
afterAll(() => provider?.close());
// A short timeout keeps the attempt lease (3 × timeout + 5 s) and so the recovery tests short.
const service = setUpTestService(() => ({
  PAYMENT_PROVIDER_URL: provider.url,
  PAYMENT_PROVIDER_KEY: provider.secretKey,
  PAYMENT_PROVIDER_TIMEOUT_MS: '1000',
}));
let firstOrderId = 0;
beforeEach(async () => {
  // The provider outlives reset(), which restarts ids: give every test fresh order ids, so that charges of an
  // earlier test's order 1 are never taken for this test's.
  firstOrderId += 1_000;
  await prisma().$executeRawUnsafe(`ALTER SEQUENCE orders_id_seq RESTART WITH ${firstOrderId}`);
});
afterEach(async () => {
  for (const remove of removeFaults.splice(0)) remove();
  chargeProcessingMs = 0;
  await provider.up();
  // Whatever a test did, the provider never saw a key reused with other parameters, nor a POST without a key.
  expect(provider.simulator.keyReuses()).toEqual([]);
  expect(provider.simulator.postsWithoutKey()).toBe(0);
});

const prisma = () => service.container.db.prisma;
const reconcileDeps = () => ({ prisma: prisma(), payments: service.container.payments, orders: service.container.orders });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const inject = (...args: Parameters<FakePaymentProvider['inject']>) => removeFaults.push(provider.inject(...args));
const CHARGES = { method: 'POST', pathPrefix: '/v1/payment_intents' } as const;

/** Polls until `check` returns a truthy value (or the time is up: then the last value, for the assertion to show). */
async function eventually<T>(check: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value || Date.now() > deadline) return value;
    await sleep(200);
  }
}

const PAY = `mutation($id: ID!, $v: Int!, $input: PayOrderInput!) {
  payOrder(orderId: $id, expectedVersion: $v, input: $input) {
    __typename
    ... on PayOrderSuccess { replayed order { status version } }
    ... on Error { code message }
    ... on PaymentProviderUnavailableError { retryAfterSeconds }
  } }`;
const metrics = async () => (await service.app.request('/metrics')).text();
/** One sample of the Prometheus text (0 when the series does not exist yet). */
const sample = (text: string, series: string) =>
  Number(
    text
      .split('\n')
      .find((line) => line.startsWith(`${series} `))
      ?.split(' ')[1] ?? 0,
  );
/** A charge made straight at the provider, as another database sharing the account would; returns its id. */
async function chargeBehindTheServicesBack(orderId: number, amount: number): Promise<string> {
  const response = await fetch(`${provider.url}/v1/payment_intents`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${provider.secretKey}`,
      'idempotency-key': randomUUID(),
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({
      amount: String(amount),
      currency: 'krw',
      confirm: 'true',
      payment_method: 'pm_card_visa',
      'metadata[order_id]': String(orderId),
    }),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { id: string }).id;
}
const orderGid = (id: number) => Buffer.from(`Order:${id}`).toString('base64');

function payRest(orderId: number, key: string, amount: number, method = 'card', ifMatch = '"o' + orderId + '-v1"') {
  return rest(service, DEMO.customer1, 'POST', `/api/v2/orders/${orderId}/payment`, {
    json: { payment_method: method, amount },
    headers: { 'idempotency-key': key, 'if-match': ifMatch },
  });
}

/** Every succeeded charge of the order at the provider is recorded on it, or refunded in full with a refunds row. */
async function accountedFor(orderId: number, notOurs: string[] = []): Promise<boolean> {
  for (const intent of provider.succeededCharges(orderId).filter((candidate) => !notOurs.includes(candidate.id))) {
    const payment = await prisma().payment.findUnique({ where: { providerPaymentId: intent.id }, include: { order: true } });
    const recorded = payment?.status === 'succeeded' && payment.order.status !== 'pending_payment';
    const refund = await prisma().refund.findUnique({ where: { providerPaymentId: intent.id } });
    const refundedAtProvider = provider.refundsFor(intent.id).reduce((sum, r) => sum + r.amount, 0) === intent.amount;
    const refunded = Boolean(refund?.providerRefundId) && refundedAtProvider;
    if (!recorded && !refunded) return false;
  }
  return true;
}

describe(`payments through a provider (${backend})`, () => {
  it('charges at the provider with the SPEC §8 parameters and records the PaymentIntent id', async () => {
    const order = await placeOrder(service);
    const paid = await payRest(order.id, randomUUID(), order.totalAmount, 'wallet');
    expect(paid.status).toBe(200);
    const [intent] = provider.succeededCharges(order.id);
    expect(intent).toMatchObject({
      amount: order.totalAmount,
      currency: 'krw',
      metadata: { order_id: String(order.id), payment_method: 'wallet' },
    });
    const charge = provider.simulator.requests().find((request) => request.method === 'POST' && request.path === '/v1/payment_intents');
    expect(charge?.params).toMatchObject({ confirm: 'true', payment_method: 'pm_card_visa', currency: 'krw' });
    expect(await prisma().payment.findMany({ where: { orderId: order.id } })).toMatchObject([
      { status: 'succeeded', providerPaymentId: intent!.id, amount: order.totalAmount },
    ]);
    expect(await prisma().paymentAttempt.findMany({ where: { orderId: order.id } })).toMatchObject([
      { state: 'recorded', providerPaymentId: intent!.id },
    ]);
  });

  it('a decline is pm_card_chargeDeclined at the provider, recorded with its PaymentIntent', async () => {
    const order = await placeOrder(service);
    const declined = await payRest(order.id, randomUUID(), order.totalAmount, 'test_decline');
    expect(declined.status).toBe(200);
    expect(declined.body.status).toBe('payment_failed');
    const intents = provider.simulator.paymentIntents().filter((intent) => intent.metadata.order_id === String(order.id));
    expect(intents).toMatchObject([{ status: 'requires_payment_method' }]);
    expect(await prisma().payment.findMany({ where: { orderId: order.id } })).toMatchObject([
      { status: 'declined', providerPaymentId: intents[0]!.id },
    ]);
  });

  it('two devices paying one order with different keys (and methods) make one charge at the provider', async () => {
    for (const methods of [
      ['card', 'card', 'card', 'card', 'card', 'card'],
      ['card', 'wallet', 'bank_transfer', 'card', 'wallet', 'bank_transfer'],
    ]) {
      const order = await placeOrder(service);
      // Slow charges keep the first attempt in flight while the others arrive.
      inject({ kind: 'delay', ms: 300 }, { ...CHARGES, times: 20 });
      const answers = await Promise.all(methods.map((method) => payRest(order.id, randomUUID(), order.totalAmount, method)));
      const statuses = answers.map((answer) => answer.status);
      expect(
        statuses.filter((status) => status === 200),
        JSON.stringify(statuses),
      ).toHaveLength(1);
      // The losers get 412 (the version moved) or 409 (another payment of the order is with the provider).
      for (const loser of answers.filter((answer) => answer.status !== 200)) {
        expect([409, 412]).toContain(loser.status);
        expect(['VERSION_CONFLICT', 'IDEMPOTENCY_KEY_IN_PROGRESS']).toContain(loser.body.code);
      }
      expect(provider.succeededCharges(order.id)).toHaveLength(1);
      expect(await prisma().payment.count({ where: { orderId: order.id } })).toBe(1);
      for (const remove of removeFaults.splice(0)) remove();
    }
  });

  it('the legacy v1 pay, double-submitted without a key, is one charge at the provider', async () => {
    const order = await placeOrder(service);
    inject({ kind: 'delay', ms: 300 }, { ...CHARGES, times: 5 });
    const answers = await Promise.all(
      [1, 2].map(() =>
        rest(service, DEMO.customer1, 'POST', `/api/v1/orders/${order.id}/pay`, {
          json: { payment_method: 'card', amount: order.totalAmount },
        }),
      ),
    );
    expect(answers.map((answer) => answer.status).sort()).toEqual([200, 409]);
    expect(provider.succeededCharges(order.id)).toHaveLength(1);
    expect(await prisma().payment.count({ where: { orderId: order.id } })).toBe(1);
  });

  it('provider down: REST 503 problem+json with Retry-After, nothing recorded; the same key executes once it is back', async () => {
    const order = await placeOrder(service);
    const key = randomUUID();
    await provider.down();
    const refused = await payRest(order.id, key, order.totalAmount);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(refused.body).toMatchObject({ status: 503, code: 'PAYMENT_PROVIDER_UNAVAILABLE' });
    expect(await prisma().order.findUnique({ where: { id: order.id } })).toMatchObject({ status: 'pending_payment', version: 1 });
    expect(await prisma().payment.count()).toBe(0);
    expect(await prisma().idempotencyRecord.count({ where: { operation: 'pay' } })).toBe(0);
    await provider.up();
    const paid = await payRest(order.id, key, order.totalAmount);
    expect(paid.status).toBe(200);
    expect(paid.headers.get('idempotent-replayed')).toBeNull();
    expect(provider.succeededCharges(order.id)).toHaveLength(1);
  });

  it('provider answering 503: GraphQL PaymentProviderUnavailableError, then the same key succeeds with one charge', async () => {
    const order = await placeOrder(service);
    const before = await metrics();
    const input = { idempotencyKey: randomUUID(), paymentMethod: 'card', amount: order.totalAmount };
    inject({ kind: 'status', status: 503 }, { ...CHARGES, times: 3 }); // the SDK sends it three times
    const refused = await graphql(service, DEMO.customer1, PAY, { id: orderGid(order.id), v: 1, input });
    expect(refused.data?.payOrder).toMatchObject({ __typename: 'PaymentProviderUnavailableError', code: 'PAYMENT_PROVIDER_UNAVAILABLE' });
    expect(refused.data?.payOrder.retryAfterSeconds).toBeGreaterThan(0);
    expect(await prisma().payment.count()).toBe(0);
    const paid = await graphql(service, DEMO.customer1, PAY, { id: orderGid(order.id), v: 1, input });
    expect(paid.data?.payOrder).toMatchObject({
      __typename: 'PayOrderSuccess',
      replayed: false,
      order: { status: 'PENDING_ACCEPTANCE', version: 2 },
    });
    expect(provider.succeededCharges(order.id)).toHaveLength(1);
    const after = await metrics();
    const calls = (text: string, outcome: string) => sample(text, `payment_provider_calls_total{operation="charge",outcome="${outcome}"}`);
    expect(calls(after, 'unavailable') - calls(before, 'unavailable')).toBe(1);
    expect(calls(after, 'ok') - calls(before, 'ok')).toBe(1);
    expect(sample(after, 'payment_attempts_in_flight')).toBe(0);
    expect((await service.app.request('/readyz')).status).toBe(200);
  });

  it('a lost response: the retry with the same key records the first charge, never a second', async () => {
    const order = await placeOrder(service);
    const key = randomUUID();
    // The charge happens, then every answer about it is lost (the SDK's own resends included).
    inject({ kind: 'drop-after-processing' }, { ...CHARGES, times: 3 });
    const lost = await payRest(order.id, key, order.totalAmount);
    expect(lost.status).toBe(503);
    expect(provider.succeededCharges(order.id)).toHaveLength(1);
    const retried = await payRest(order.id, key, order.totalAmount);
    expect(retried.status).toBe(200);
    expect(provider.succeededCharges(order.id)).toHaveLength(1);
    const [intent] = provider.succeededCharges(order.id);
    expect(await prisma().payment.findMany({ where: { orderId: order.id } })).toMatchObject([{ providerPaymentId: intent!.id }]);
  });

  it('a lost response nobody retries: recovery records the charge on its own, and the client’s retry replays it', async () => {
    const order = await placeOrder(service);
    // Another database sharing the provider account has charged an order with the same id: not ours to touch.
    const foreign = await chargeBehindTheServicesBack(order.id, order.totalAmount);
    const key = randomUUID();
    inject({ kind: 'drop-after-processing' }, { ...CHARGES, times: 3 });
    expect((await payRest(order.id, key, order.totalAmount)).status).toBe(503);
    const started = Date.now();
    expect(await eventually(() => accountedFor(order.id, [foreign]))).toBe(true);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(await prisma().order.findUnique({ where: { id: order.id } })).toMatchObject({ status: 'pending_acceptance', version: 2 });
    const replay = await payRest(order.id, key, order.totalAmount);
    expect(replay.status).toBe(200);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    const ours = provider.succeededCharges(order.id).filter((intent) => intent.id !== foreign);
    expect(ours).toHaveLength(1);
    expect(await prisma().payment.findFirst({ where: { orderId: order.id } })).toMatchObject({ providerPaymentId: ours[0]!.id });
    expect(provider.refundsFor(foreign)).toEqual([]);
  });

  it('a provider slower than the timeout: 503 (not 409), then the charge it did make is recorded, never a second', async () => {
    const order = await placeOrder(service);
    const key = randomUUID();
    // Longer than the SDK's three tries (1 s timeout each); its resends meet the key still in progress.
    chargeProcessingMs = 6_000;
    const slow = await payRest(order.id, key, order.totalAmount);
    expect(slow.status).toBe(503);
    expect(slow.body.code).toBe('PAYMENT_PROVIDER_UNAVAILABLE');
    // A retry while the provider still works on it is told so, and charges nothing new.
    const early = await payRest(order.id, key, order.totalAmount);
    expect([409, 503]).toContain(early.status);
    // Nobody retries after that: recovery asks again once the provider has finished, and records that charge.
    expect(await eventually(async () => (await prisma().payment.count({ where: { orderId: order.id } })) === 1)).toBe(true);
    expect(await accountedFor(order.id)).toBe(true);
    const late = await payRest(order.id, key, order.totalAmount);
    expect(late.status).toBe(200);
    expect(provider.succeededCharges(order.id)).toHaveLength(1);
  });

  it('a charge that lands after the order was cancelled is refunded in full', async () => {
    const order = await placeOrder(service);
    inject({ kind: 'delay', ms: 600 }, { ...CHARGES, times: 1 });
    const paying = payRest(order.id, randomUUID(), order.totalAmount);
    await sleep(200);
    const cancelled = await rest(service, DEMO.customer1, 'POST', `/api/v2/orders/${order.id}/cancellation`, {
      json: {},
      headers: { 'if-match': '*' },
    });
    expect(cancelled.status).toBe(200);
    expect((await paying).status).toBe(412); // the payment's If-Match named version 1; the order moved on
    expect(provider.succeededCharges(order.id)).toHaveLength(1);
    expect(await eventually(() => accountedFor(order.id))).toBe(true);
    expect(await prisma().refund.findMany({ where: { orderId: order.id } })).toMatchObject([
      { paymentId: null, amount: order.totalAmount },
    ]);
    expect(formatViolations(await findViolations(prisma()))).toBe('All invariants hold.');
  });

  it.each(['cancellation', 'rejection'])(
    '%s of a paid order: exactly one full refund at the provider, also when it is down then',
    async (action) => {
      for (const providerDown of [false, true]) {
        const order = await placeOrder(service);
        expect((await payRest(order.id, randomUUID(), order.totalAmount)).status).toBe(200);
        const [intent] = provider.succeededCharges(order.id);
        if (providerDown) await provider.down();
        const actor = action === 'cancellation' ? DEMO.customer1 : DEMO.restaurant1;
        const changed = await rest(service, actor, 'POST', `/api/v2/orders/${order.id}/${action}`, {
          json: { reason: 'test' },
          headers: { 'if-match': '"o' + order.id + '-v2"' },
        });
        // The change neither waits for the provider nor fails because of it.
        expect(changed.status).toBe(200);
        if (providerDown) {
          await sleep(1_500);
          expect(provider.refundsFor(intent!.id)).toHaveLength(0);
          await provider.up();
        }
        const refund = await eventually(() => prisma().refund.findFirst({ where: { orderId: order.id, providerRefundId: { not: null } } }));
        expect(refund).toMatchObject({ amount: order.totalAmount, providerPaymentId: intent!.id });
        expect(provider.refundsFor(intent!.id)).toEqual([
          expect.objectContaining({ id: refund!.providerRefundId, amount: order.totalAmount }),
        ]);
      }
      expect(await prisma().refund.count({ where: { providerRefundId: null } })).toBe(0);
    },
  );

  it('the OpenAPI document and the GraphQL schema name the outage answer of the payment routes', async () => {
    const document = await (await service.app.request('/api/openapi.json')).json();
    expect(Object.keys(document.paths['/v2/orders/{id}/payment'].post.responses)).toContain('503');
    expect(Object.keys(document.paths['/v1/orders/{id}/pay'].post.responses)).toContain('503');
    expect(document.paths['/v2/orders/{id}/cancellation'].post.responses['503']).toBeUndefined();
    const union = await graphql(service, DEMO.customer1, '{ __type(name: "PayOrderResult") { possibleTypes { name } } }');
    expect(union.data?.__type.possibleTypes.map((type: { name: string }) => type.name)).toContain('PaymentProviderUnavailableError');
  });

  it('reconciliation reports a charge none of our attempts made, and leaves it to a person', async () => {
    const order = await placeOrder(service);
    await chargeBehindTheServicesBack(order.id, order.totalAmount);
    const window = { since: new Date(Date.now() - 60_000), until: new Date(Date.now() + 60_000) };
    const report = await reconcilePayments(reconcileDeps(), { ...window, fix: false });
    expect(report.differences).toMatchObject([
      { kind: 'unaccounted_charge', orderId: order.id, detail: expect.stringContaining('by hand') },
    ]);
    const fixed = await reconcilePayments(reconcileDeps(), { ...window, fix: true });
    expect(fixed.differences[0]?.fixed).toBeUndefined();
    expect(await prisma().refund.count()).toBe(0);
  });

  it('reconciliation finds a refund the provider never got, and --fix sends it', async () => {
    const order = await placeOrder(service);
    expect((await payRest(order.id, randomUUID(), order.totalAmount)).status).toBe(200);
    await provider.down();
    const cancelled = await rest(service, DEMO.customer1, 'POST', `/api/v2/orders/${order.id}/cancellation`, {
      json: {},
      headers: { 'if-match': '*' },
    });
    expect(cancelled.status).toBe(200);
    // Once the refund job has met the outage and waits for its next try, it is lost (say, someone cleared the
    // queue): only reconciliation can notice.
    const waiting = () =>
      prisma().$queryRawUnsafe<{ n: number }[]>(
        "SELECT count(*)::int AS n FROM graphile_worker.jobs WHERE task_identifier = 'send_refund' AND locked_at IS NULL AND run_at > now()",
      );
    expect(await eventually(async () => (await waiting())[0]!.n === 1)).toBe(true);
    await prisma().$executeRawUnsafe('DELETE FROM graphile_worker._private_jobs');
    await provider.up();
    const window = { since: new Date(Date.now() - 60_000), until: new Date(Date.now() + 60_000) };
    const report = await reconcilePayments(reconcileDeps(), { ...window, fix: false });
    expect(report.differences).toMatchObject([{ kind: 'refund_not_at_provider', orderId: order.id }]);
    const fixed = await reconcilePayments(reconcileDeps(), { ...window, fix: true });
    expect(fixed.differences[0]?.fixed).toBe('refund sent');
    expect(await accountedFor(order.id)).toBe(true);
    expect((await reconcilePayments(reconcileDeps(), { ...window, fix: false })).differences).toEqual([]);
  });
});
