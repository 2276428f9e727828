/**
 * Conformance of the provider simulator (SPEC §8) with the official `stripe` SDK, over real HTTP, including the
 * faults of test/support/fake-payment-provider.ts. Everything is counted at the provider (the simulator's own
 * inspection methods), not inferred from what the client saw.
 *
 * Each test gets a fresh provider, so the counts start at zero. The SDK runs with maxNetworkRetries 0, which is
 * NOT "no retries": it still retries a reset connection (ECONNRESET / EPIPE) once, with the same idempotency key
 * (stripe/esm/RequestSender.js, _shouldRetry). The drop tests below pin that behaviour down.
 */
import Stripe from 'stripe';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createProviderSimulator } from '../../src/domain/payments/provider-simulator.ts';
import { type FakePaymentProvider, startFakePaymentProvider } from '../support/fake-payment-provider.ts';

const {
  StripeAPIError,
  StripeAuthenticationError,
  StripeCardError,
  StripeConnectionError,
  StripeIdempotencyError,
  StripeInvalidRequestError,
} = Stripe.errors;

const started: FakePaymentProvider[] = [];

/** A provider that afterEach closes. */
async function startProvider(options?: Parameters<typeof startFakePaymentProvider>[0]): Promise<FakePaymentProvider> {
  const provider = await startFakePaymentProvider(options);
  started.push(provider);
  return provider;
}

/** The SDK pointed at the fake, with the SDK's own retries off (apart from the one it always makes, see above). */
function sdkFor(provider: FakePaymentProvider, overrides: { apiKey?: string; timeout?: number } = {}): Stripe {
  return new Stripe(overrides.apiKey ?? provider.secretKey, {
    host: '127.0.0.1',
    port: Number(new URL(provider.url).port),
    protocol: 'http',
    maxNetworkRetries: 0,
    timeout: overrides.timeout ?? 5000,
  });
}

/** The charge §8 sends, for an order. */
function chargeParams(orderId: number, overrides: Partial<Stripe.PaymentIntentCreateParams> = {}): Stripe.PaymentIntentCreateParams {
  return {
    amount: 15_000,
    currency: 'krw',
    confirm: true,
    payment_method: 'pm_card_visa',
    metadata: { order_id: String(orderId), payment_method: 'card' },
    ...overrides,
  };
}

/** The error a promise rejects with; fails the test if it resolves. */
async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `condition` holds (for effects that land after the client gave up). */
async function eventually(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(20);
  }
}

let provider: FakePaymentProvider;
let stripe: Stripe;

beforeEach(async () => {
  provider = await startProvider();
  stripe = sdkFor(provider);
});

afterEach(async () => {
  await Promise.all(started.splice(0).map((p) => p.close()));
});

describe('charges', () => {
  it('a confirmed charge succeeds and is one succeeded PaymentIntent at the provider', async () => {
    const intent = await stripe.paymentIntents.create(chargeParams(42));

    expect(intent).toMatchObject({ object: 'payment_intent', amount: 15_000, currency: 'krw', status: 'succeeded' });
    expect(intent.id).toMatch(/^pi_[A-Za-z0-9]{24}$/);
    expect(intent.metadata).toEqual({ order_id: '42', payment_method: 'card' });
    expect(provider.simulator.paymentIntents()).toEqual([
      expect.objectContaining({ id: intent.id, status: 'succeeded', amount: 15_000, metadata: { order_id: '42', payment_method: 'card' } }),
    ]);
    expect(provider.succeededCharges(42).map((pi) => pi.id)).toEqual([intent.id]);
    // The SDK keys every POST by itself (stripe-node-retry-<uuid>) even when the caller passes no key.
    const [request] = provider.simulator.requests();
    expect(request).toMatchObject({ method: 'POST', path: '/v1/payment_intents', status: 200 });
    expect(request?.key).toMatch(/^stripe-node-retry-/);
    expect(request?.params).toMatchObject({ amount: '15000', confirm: 'true', 'metadata[order_id]': '42' });
    expect(provider.simulator.postsWithoutKey()).toBe(0);
  });

  it('pm_card_chargeDeclined is a 402 StripeCardError carrying the PaymentIntent in requires_payment_method', async () => {
    const error = await rejectionOf(stripe.paymentIntents.create(chargeParams(43, { payment_method: 'pm_card_chargeDeclined' })));

    expect(error).toBeInstanceOf(StripeCardError);
    const cardError = error as InstanceType<typeof StripeCardError>;
    expect(cardError.statusCode).toBe(402);
    expect(cardError.code).toBe('card_declined');
    expect(cardError.payment_intent?.status).toBe('requires_payment_method');
    expect(cardError.payment_intent?.id).toMatch(/^pi_/);
    expect(provider.simulator.paymentIntents()).toEqual([
      expect.objectContaining({ id: cardError.payment_intent?.id, status: 'requires_payment_method' }),
    ]);
    expect(provider.succeededCharges(43)).toEqual([]);
  });

  it('refuses a charge without a valid amount (400), and a wrong API key (401), creating nothing', async () => {
    const invalid = await rejectionOf(stripe.paymentIntents.create(chargeParams(44, { amount: -5 })));
    expect(invalid).toBeInstanceOf(StripeInvalidRequestError);
    expect((invalid as InstanceType<typeof StripeInvalidRequestError>).statusCode).toBe(400);
    expect((invalid as InstanceType<typeof StripeInvalidRequestError>).param).toBe('amount');

    const unauthorized = await rejectionOf(sdkFor(provider, { apiKey: 'sk_test_wrong' }).paymentIntents.create(chargeParams(44)));
    expect(unauthorized).toBeInstanceOf(StripeAuthenticationError);
    expect((unauthorized as InstanceType<typeof StripeAuthenticationError>).statusCode).toBe(401);

    expect(provider.simulator.paymentIntents()).toEqual([]);
    expect(provider.simulator.requests().map((r) => r.status)).toEqual([400, 401]);
  });
});

describe('idempotency', () => {
  it('the same key with the same parameters replays the first response: one PaymentIntent', async () => {
    const first = await stripe.paymentIntents.create(chargeParams(42), { idempotencyKey: 'charge-42' });
    const second = await stripe.paymentIntents.create(chargeParams(42), { idempotencyKey: 'charge-42' });

    expect(second.id).toBe(first.id);
    expect(first.lastResponse.headers['idempotent-replayed']).toBeUndefined();
    expect(second.lastResponse.headers['idempotent-replayed']).toBe('true');
    expect(provider.simulator.paymentIntents()).toHaveLength(1);
    expect(provider.simulator.requests().map((r) => [r.key, r.status])).toEqual([
      ['charge-42', 200],
      ['charge-42', 200],
    ]);
  });

  it('a decline is replayed too, not retried into a second PaymentIntent', async () => {
    const params = chargeParams(43, { payment_method: 'pm_card_chargeDeclined' });
    const first = await rejectionOf(stripe.paymentIntents.create(params, { idempotencyKey: 'decline-43' }));
    const second = await rejectionOf(stripe.paymentIntents.create(params, { idempotencyKey: 'decline-43' }));

    expect(second).toBeInstanceOf(StripeCardError);
    expect((second as InstanceType<typeof StripeCardError>).payment_intent?.id).toBe(
      (first as InstanceType<typeof StripeCardError>).payment_intent?.id,
    );
    expect(provider.simulator.paymentIntents()).toHaveLength(1);
  });

  it('a validation error is stored like any endpoint response and replayed', async () => {
    const params = chargeParams(44, { currency: 'not-a-currency' });
    await rejectionOf(stripe.paymentIntents.create(params, { idempotencyKey: 'bad-44' }));
    const replay = await rejectionOf(stripe.paymentIntents.create(params, { idempotencyKey: 'bad-44' }));

    expect(replay).toBeInstanceOf(StripeInvalidRequestError);
    expect((replay as InstanceType<typeof StripeInvalidRequestError>).headers?.['idempotent-replayed']).toBe('true');
  });

  it('the same key with other parameters or another path is a 400 StripeIdempotencyError, counted in keyReuses()', async () => {
    const first = await stripe.paymentIntents.create(chargeParams(42), { idempotencyKey: 'charge-42' });

    const otherAmount = await rejectionOf(
      stripe.paymentIntents.create(chargeParams(42, { amount: 16_000 }), { idempotencyKey: 'charge-42' }),
    );
    expect(otherAmount).toBeInstanceOf(StripeIdempotencyError);
    expect((otherAmount as InstanceType<typeof StripeIdempotencyError>).statusCode).toBe(400);

    const otherPath = await rejectionOf(stripe.refunds.create({ payment_intent: first.id }, { idempotencyKey: 'charge-42' }));
    expect(otherPath).toBeInstanceOf(StripeIdempotencyError);

    expect(provider.simulator.keyReuses()).toEqual([
      { key: 'charge-42', path: '/v1/payment_intents' },
      { key: 'charge-42', path: '/v1/refunds' },
    ]);
    expect(provider.simulator.paymentIntents()).toHaveLength(1);
    expect(provider.simulator.refunds()).toEqual([]);
    // The rejected reuses stored nothing: the key still replays the first charge.
    const replay = await stripe.paymentIntents.create(chargeParams(42), { idempotencyKey: 'charge-42' });
    expect(replay.id).toBe(first.id);
  });

  it('a duplicate while the first request is in flight gets 409 idempotency_error (a StripeAPIError, not StripeIdempotencyError)', async () => {
    const slow = await startProvider({ processingDelayMs: 1000 });
    const slowStripe = sdkFor(slow);

    const first = slowStripe.paymentIntents.create(chargeParams(42), { idempotencyKey: 'charge-42' });
    // Logged means reserved: the simulator reserves the key before it yields to any other I/O.
    await eventually(() => slow.simulator.requests().length === 1);
    const duplicate = await rejectionOf(slowStripe.paymentIntents.create(chargeParams(42), { idempotencyKey: 'charge-42' }));
    const intent = await first;

    // stripe-node maps only 400/404 idempotency errors to StripeIdempotencyError; a 409 falls through to StripeAPIError.
    expect(duplicate).toBeInstanceOf(StripeAPIError);
    expect(duplicate).not.toBeInstanceOf(StripeIdempotencyError);
    expect((duplicate as InstanceType<typeof StripeAPIError>).statusCode).toBe(409);
    expect((duplicate as InstanceType<typeof StripeAPIError>).rawType).toBe('idempotency_error');
    expect(slow.simulator.paymentIntents().map((pi) => pi.id)).toEqual([intent.id]);
    expect(slow.simulator.requests().map((r) => r.status)).toEqual([200, 409]); // in arrival order, each with the status it got
    expect(slow.simulator.keyReuses()).toEqual([]);

    // Once the first has finished, the key replays it.
    const replay = await slowStripe.paymentIntents.create(chargeParams(42), { idempotencyKey: 'charge-42' });
    expect(replay.id).toBe(intent.id);
  });

  it('keys are scoped per API key, and a POST without Idempotency-Key is counted', async () => {
    // Straight on the app: the fake server admits one secret key only.
    const simulator = createProviderSimulator();
    const post = (bearer: string, key: string | null, amount: number) =>
      simulator.app.fetch(
        new Request('http://provider/v1/payment_intents', {
          method: 'POST',
          headers: {
            Authorization: `Bearer ${bearer}`,
            'Content-Type': 'application/x-www-form-urlencoded',
            ...(key === null ? {} : { 'Idempotency-Key': key }),
          },
          body: `amount=${amount}&currency=krw&confirm=true&payment_method=pm_card_visa&metadata[order_id]=7`,
        }),
      );

    expect((await post('sk_test_a', 'same-key', 1000)).status).toBe(200);
    expect((await post('sk_test_b', 'same-key', 2000)).status).toBe(200);
    expect((await post('sk_test_a', null, 3000)).status).toBe(200);

    expect(simulator.paymentIntents().map((pi) => pi.amount)).toEqual([1000, 2000, 3000]);
    expect(simulator.keyReuses()).toEqual([]);
    expect(simulator.postsWithoutKey()).toBe(1);
    expect(simulator.paymentIntents()[0]?.metadata).toEqual({ order_id: '7' });
  });

  it('counts a POST without Idempotency-Key over HTTP (plain fetch; the SDK always sends one)', async () => {
    const response = await fetch(`${provider.url}/v1/payment_intents`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${provider.secretKey}`, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        amount: '5000',
        currency: 'krw',
        confirm: 'true',
        payment_method: 'pm_card_visa',
        'metadata[order_id]': '9',
      }),
    });

    expect(response.status).toBe(200);
    expect(provider.simulator.postsWithoutKey()).toBe(1);
    expect(provider.simulator.requests()).toEqual([
      expect.objectContaining({ method: 'POST', key: null, status: 200, params: expect.objectContaining({ 'metadata[order_id]': '9' }) }),
    ]);
    await stripe.paymentIntents.create(chargeParams(9));
    expect(provider.simulator.postsWithoutKey()).toBe(1);
  });
});

describe('look-ups', () => {
  it('retrieves a PaymentIntent, and answers 404 resource_missing for an unknown one', async () => {
    const created = await stripe.paymentIntents.create(chargeParams(42));

    const retrieved = await stripe.paymentIntents.retrieve(created.id);
    expect(retrieved).toMatchObject({ id: created.id, status: 'succeeded', amount: 15_000, metadata: { order_id: '42' } });

    const missing = await rejectionOf(stripe.paymentIntents.retrieve('pi_doesnotexist000000000000'));
    expect(missing).toBeInstanceOf(StripeInvalidRequestError);
    expect((missing as InstanceType<typeof StripeInvalidRequestError>).statusCode).toBe(404);
    expect((missing as InstanceType<typeof StripeInvalidRequestError>).code).toBe('resource_missing');
  });

  it("searches by metadata['order_id'], newest first, in either quote style; an unparsable query is a 400", async () => {
    const older = await stripe.paymentIntents.create(chargeParams(42));
    await stripe.paymentIntents.create(chargeParams(43));
    const declined = await rejectionOf(stripe.paymentIntents.create(chargeParams(42, { payment_method: 'pm_card_chargeDeclined' })));
    const newer = (declined as InstanceType<typeof StripeCardError>).payment_intent!;

    const result = await stripe.paymentIntents.search({ query: "metadata['order_id']:'42'" });
    expect(result.object).toBe('search_result');
    expect(result.data.map((pi) => pi.id)).toEqual([newer.id, older.id]);
    expect(result.has_more).toBe(false);

    const doubleQuoted = await stripe.paymentIntents.search({ query: 'metadata["order_id"]:"42"' });
    expect(doubleQuoted.data.map((pi) => pi.id)).toEqual([newer.id, older.id]);

    const succeededOnly = await stripe.paymentIntents.search({ query: "metadata['order_id']:'42' AND status:'succeeded'" });
    expect(succeededOnly.data.map((pi) => pi.id)).toEqual([older.id]);

    expect((await stripe.paymentIntents.search({ query: "metadata['order_id']:'999'" })).data).toEqual([]);

    const unparsable = await rejectionOf(stripe.paymentIntents.search({ query: 'order_id = 42' }));
    expect(unparsable).toBeInstanceOf(StripeInvalidRequestError);
    expect((unparsable as InstanceType<typeof StripeInvalidRequestError>).statusCode).toBe(400);
  });
});

describe('refunds', () => {
  it('refunds in full by default; a second refund is refused with charge_already_refunded', async () => {
    const intent = await stripe.paymentIntents.create(chargeParams(42));

    const refund = await stripe.refunds.create({ payment_intent: intent.id });
    expect(refund).toMatchObject({ object: 'refund', payment_intent: intent.id, amount: 15_000, status: 'succeeded' });
    expect(refund.id).toMatch(/^re_[A-Za-z0-9]{24}$/);

    const again = await rejectionOf(stripe.refunds.create({ payment_intent: intent.id }));
    expect(again).toBeInstanceOf(StripeInvalidRequestError);
    expect((again as InstanceType<typeof StripeInvalidRequestError>).code).toBe('charge_already_refunded');

    expect(provider.refundsFor(intent.id)).toEqual([expect.objectContaining({ id: refund.id, amount: 15_000 })]);
  });

  it('refunds partially up to the charge, refuses an over-refund, and lists refunds newest first', async () => {
    const intent = await stripe.paymentIntents.create(chargeParams(42));
    const other = await stripe.paymentIntents.create(chargeParams(43));

    const first = await stripe.refunds.create({ payment_intent: intent.id, amount: 4_000 });
    const overRefund = await rejectionOf(stripe.refunds.create({ payment_intent: intent.id, amount: 11_001 }));
    expect(overRefund).toBeInstanceOf(StripeInvalidRequestError);
    expect((overRefund as InstanceType<typeof StripeInvalidRequestError>).statusCode).toBe(400);
    const rest = await stripe.refunds.create({ payment_intent: intent.id });
    expect(rest.amount).toBe(11_000);
    await stripe.refunds.create({ payment_intent: other.id, amount: 1 });

    expect(provider.refundsFor(intent.id).map((r) => r.amount)).toEqual([4_000, 11_000]);
    const list = await stripe.refunds.list({ payment_intent: intent.id });
    expect(list.object).toBe('list');
    expect(list.data.map((r) => r.id)).toEqual([rest.id, first.id]);
    expect(list.has_more).toBe(false);
  });

  it('refuses to refund a declined or unknown PaymentIntent', async () => {
    const declined = await rejectionOf(stripe.paymentIntents.create(chargeParams(43, { payment_method: 'pm_card_chargeDeclined' })));
    const declinedId = (declined as InstanceType<typeof StripeCardError>).payment_intent!.id;

    const notSucceeded = await rejectionOf(stripe.refunds.create({ payment_intent: declinedId }));
    expect((notSucceeded as InstanceType<typeof StripeInvalidRequestError>).statusCode).toBe(400);
    const unknown = await rejectionOf(stripe.refunds.create({ payment_intent: 'pi_doesnotexist000000000000' }));
    expect((unknown as InstanceType<typeof StripeInvalidRequestError>).statusCode).toBe(404);
    expect((unknown as InstanceType<typeof StripeInvalidRequestError>).code).toBe('resource_missing');
    expect(provider.simulator.refunds()).toEqual([]);
  });
});

describe('faults', () => {
  it('a 503 fault surfaces as StripeAPIError 503 and charges nothing; the same key then executes', async () => {
    provider.inject({ kind: 'status', status: 503 }, { method: 'POST', pathPrefix: '/v1/payment_intents' });

    const error = await rejectionOf(stripe.paymentIntents.create(chargeParams(42), { idempotencyKey: 'charge-42' }));
    expect(error).toBeInstanceOf(StripeAPIError);
    expect((error as InstanceType<typeof StripeAPIError>).statusCode).toBe(503);
    expect(provider.simulator.paymentIntents()).toEqual([]);

    const intent = await stripe.paymentIntents.create(chargeParams(42), { idempotencyKey: 'charge-42' });
    expect(intent.lastResponse.headers['idempotent-replayed']).toBeUndefined();
    expect(provider.succeededCharges(42).map((pi) => pi.id)).toEqual([intent.id]);
  });

  it('drop-after-processing charges but the SDK call fails with a connection error (after its one automatic retry)', async () => {
    // times: 2, because the SDK retries a reset connection once even with maxNetworkRetries 0.
    provider.inject({ kind: 'drop-after-processing' }, { method: 'POST', pathPrefix: '/v1/payment_intents', times: 2 });

    const error = await rejectionOf(stripe.paymentIntents.create(chargeParams(42)));
    expect(error).toBeInstanceOf(StripeConnectionError);
    expect(provider.succeededCharges(42)).toHaveLength(1);
    // The retry carried the same key and was a replay, not a second charge.
    const requests = provider.simulator.requests();
    expect(requests).toHaveLength(2);
    expect(requests[1]?.key).toBe(requests[0]?.key);
    expect(provider.simulator.paymentIntents()).toHaveLength(1);
  });

  it('a single lost response is hidden by the SDK: its automatic retry gets the replay', async () => {
    provider.inject({ kind: 'drop-after-processing' }, { method: 'POST', pathPrefix: '/v1/payment_intents' });

    const intent = await stripe.paymentIntents.create(chargeParams(42));
    expect(intent.lastResponse.headers['idempotent-replayed']).toBe('true');
    expect(provider.succeededCharges(42).map((pi) => pi.id)).toEqual([intent.id]);
  });

  it('drop-before-processing fails the call and charges nothing', async () => {
    provider.inject({ kind: 'drop-before-processing' }, { method: 'POST', times: 2 });

    const error = await rejectionOf(stripe.paymentIntents.create(chargeParams(42)));
    expect(error).toBeInstanceOf(StripeConnectionError);
    expect(provider.simulator.paymentIntents()).toEqual([]);
    expect(provider.simulator.requests()).toEqual([]);
  });

  it('a delay past the client timeout fails the call, yet the charge happens', async () => {
    provider.inject({ kind: 'delay', ms: 600 }, { method: 'POST' });

    const error = await rejectionOf(sdkFor(provider, { timeout: 200 }).paymentIntents.create(chargeParams(42)));
    expect(error).toBeInstanceOf(StripeConnectionError);
    expect((error as InstanceType<typeof StripeConnectionError>).message).toMatch(/timeout/);
    await eventually(() => provider.succeededCharges(42).length === 1);
  });

  it('down() refuses connections (StripeConnectionError); up() serves again on the same URL with the same state', async () => {
    const intent = await stripe.paymentIntents.create(chargeParams(42)); // leaves a keep-alive connection open
    const url = provider.url;

    await provider.down();
    const error = await rejectionOf(stripe.paymentIntents.retrieve(intent.id));
    expect(error).toBeInstanceOf(StripeConnectionError);
    const refused = await rejectionOf(fetch(`${url}/v1/payment_intents/${intent.id}`));
    expect(((refused as Error).cause as NodeJS.ErrnoException | undefined)?.code).toBe('ECONNREFUSED');

    await provider.up();
    expect(provider.url).toBe(url);
    const retrieved = await stripe.paymentIntents.retrieve(intent.id);
    expect(retrieved.id).toBe(intent.id);
  });

  it('down() cuts a request in flight at once instead of waiting for it', async () => {
    const intent = await stripe.paymentIntents.create(chargeParams(42));
    provider.inject({ kind: 'delay', ms: 3000 }, { method: 'GET' });

    const inFlight = rejectionOf(stripe.paymentIntents.retrieve(intent.id));
    await sleep(100);
    const startedAt = Date.now();
    await provider.down();
    expect(Date.now() - startedAt).toBeLessThan(1000);
    expect(await inFlight).toBeInstanceOf(StripeConnectionError);

    await provider.up();
    const retrieved = await stripe.paymentIntents.retrieve(intent.id);
    expect(retrieved.id).toBe(intent.id);
  });

  it('a fault applies only to matching requests, the given number of times, and can be removed', async () => {
    const remove = provider.inject({ kind: 'status', status: 500 }, { method: 'POST', pathPrefix: '/v1/refunds', times: 5 });

    const intent = await stripe.paymentIntents.create(chargeParams(42)); // not matched
    const error = await rejectionOf(stripe.refunds.create({ payment_intent: intent.id }));
    expect((error as InstanceType<typeof StripeAPIError>).statusCode).toBe(500);
    remove();
    const refund = await stripe.refunds.create({ payment_intent: intent.id });
    expect(provider.refundsFor(intent.id).map((r) => r.id)).toEqual([refund.id]);
  });
});

describe('routing', () => {
  it('answers an unknown route with 404 invalid_request_error', async () => {
    const response = await fetch(`${provider.url}/v1/charges`, { headers: { Authorization: `Bearer ${provider.secretKey}` } });
    expect(response.status).toBe(404);
    expect(((await response.json()) as { error: { type: string } }).error.type).toBe('invalid_request_error');
  });
});
