/** REST v2 Idempotency-Key (SPEC §5): required where it must be, replays, reuse, in-flight, concurrency, one store with GraphQL. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Actor } from '../../src/domain/auth.ts';
import { backend, DEMO, graphql, setUpTestService } from '../support/harness.ts';
import { holdCharges, orderIn } from '../support/orders.ts';
import { createBody, etag, type RestResponse, rest, storedOrder } from '../support/rest-client.ts';

const service = setUpTestService();
afterEach(() => vi.restoreAllMocks());

const PAY_ORDER = `mutation($orderId: ID!, $v: Int!, $input: PayOrderInput!) {
  payOrder(orderId: $orderId, expectedVersion: $v, input: $input) {
    __typename
    ... on PayOrderSuccess { replayed order { databaseId status version } }
    ... on Error { code message }
  }
}`;

const CREATE_ORDER = `mutation($input: CreateOrderInput!) {
  createOrder(input: $input) {
    __typename
    ... on CreateOrderSuccess { replayed order { databaseId status version } }
    ... on Error { code message }
  }
}`;

const pay = (id: number, key: string | null, options: { ifMatch?: string; amount?: number; method?: string; actor?: Actor } = {}) => {
  const headers: Record<string, string> = { 'If-Match': options.ifMatch ?? '*' };
  if (key !== null) headers['Idempotency-Key'] = key;
  return rest(service, options.actor ?? DEMO.customer1, 'POST', `/api/v2/orders/${id}/payment`, {
    json: { payment_method: options.method ?? 'card', amount: options.amount ?? 22_000 },
    headers,
  });
};

const paymentsOf = (orderId: number) => service.container.db.prisma.payment.findMany({ where: { orderId } });

/** What a replay must repeat exactly. */
const outcomeOf = (response: RestResponse) => ({
  status: response.status,
  body: response.body,
  etag: response.headers.get('etag'),
  location: response.headers.get('location'),
});

describe(`REST v2 Idempotency-Key (${backend})`, () => {
  it('is required on POST /orders and /payment (400, nothing written)', async () => {
    const create = await rest(service, DEMO.customer1, 'POST', '/api/v2/orders', { json: createBody() });
    expect(create.status).toBe(400);
    expect(create.body).toMatchObject({ code: 'VALIDATION_FAILED', fields: [{ path: ['Idempotency-Key'], message: expect.any(String) }] });
    expect(await service.container.db.prisma.order.count()).toBe(0);
    const order = await orderIn(service, 'pending_payment');
    const payment = await pay(order.id, null);
    expect(payment.status).toBe(400);
    expect(await paymentsOf(order.id)).toEqual([]);
  });

  it('must be 1–255 characters; bare and quoted forms are one key', async () => {
    const order = await orderIn(service, 'pending_payment');
    expect((await pay(order.id, 'k'.repeat(256))).status).toBe(400);
    expect((await pay(order.id, '""')).status).toBe(400);
    const first = await pay(order.id, 'k'.repeat(255));
    expect(first.status).toBe(200);
    const quoted = await pay(order.id, `"${'k'.repeat(255)}"`);
    expect(quoted.status).toBe(200);
    expect(quoted.headers.get('idempotent-replayed')).toBe('true');
    expect(await paymentsOf(order.id)).toHaveLength(1);
  });

  it('a repeated POST /orders replays status, body, ETag and Location with Idempotent-Replayed: true', async () => {
    const first = await rest(service, DEMO.customer1, 'POST', '/api/v2/orders', {
      json: createBody(),
      headers: { 'Idempotency-Key': 'create-once' },
    });
    const second = await rest(service, DEMO.customer1, 'POST', '/api/v2/orders', {
      json: createBody(),
      headers: { 'Idempotency-Key': 'create-once' },
    });
    expect(first.status).toBe(201);
    expect(outcomeOf(second)).toEqual(outcomeOf(first));
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(await service.container.db.prisma.order.count()).toBe(1);
  });

  it('replays the first outcome of an action even when its If-Match is stale by then', async () => {
    const order = await orderIn(service, 'pending_payment');
    const first = await pay(order.id, 'pay-stale', { ifMatch: etag(order.id, 1) });
    expect(first.status).toBe(200);
    await rest(service, DEMO.restaurant1, 'POST', `/api/v2/orders/${order.id}/acceptance`, { headers: { 'If-Match': etag(order.id, 2) } });
    const replay = await pay(order.id, 'pay-stale', { ifMatch: etag(order.id, 1) });
    expect(outcomeOf(replay)).toEqual(outcomeOf(first));
    expect(replay.body).toMatchObject({ status: 'pending_acceptance', version: 2 });
    expect(replay.headers.get('etag')).toBe(etag(order.id, 2));
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(await storedOrder(service, order.id)).toMatchObject({ status: 'preparing', version: 3 });
    expect(await paymentsOf(order.id)).toHaveLength(1);
  });

  it('replays a declined payment (an executed outcome)', async () => {
    const order = await orderIn(service, 'pending_payment');
    const first = await pay(order.id, 'decline', { method: 'test_decline' });
    const replay = await pay(order.id, 'decline', { method: 'test_decline' });
    expect(first.body.status).toBe('payment_failed');
    expect(outcomeOf(replay)).toEqual(outcomeOf(first));
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(await paymentsOf(order.id)).toHaveLength(1);
  });

  it('422 for the same key with a different request; nothing changes', async () => {
    const order = await orderIn(service, 'pending_payment');
    await pay(order.id, 'reuse');
    const other = await orderIn(service, 'pending_payment');
    for (const response of [
      await pay(order.id, 'reuse', { method: 'wallet' }),
      await pay(other.id, 'reuse'),
      await rest(service, DEMO.customer1, 'POST', `/api/v2/orders/${order.id}/cancellation`, {
        headers: { 'If-Match': '*', 'Idempotency-Key': 'reuse' },
      }),
    ]) {
      expect(response.status).toBe(422);
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(response.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
    }
    expect(await storedOrder(service, order.id)).toMatchObject({ status: 'pending_acceptance', version: 2 });
    expect(await storedOrder(service, other.id)).toMatchObject({ status: 'pending_payment', version: 1 });
  });

  it('a refused request (4xx) records nothing: the client may fix it and retry with the same key', async () => {
    const order = await orderIn(service, 'pending_payment');
    expect((await pay(order.id, 'fix-me', { amount: 1 })).status).toBe(400);
    expect((await pay(order.id, 'fix-me', { ifMatch: etag(order.id, 9) })).status).toBe(412);
    const fixed = await pay(order.id, 'fix-me', { ifMatch: etag(order.id, 1) });
    expect(fixed.status).toBe(200);
    expect(fixed.headers.get('idempotent-replayed')).toBeNull();
  });

  it('keys are scoped to the actor', async () => {
    const mine = await orderIn(service, 'pending_payment');
    const theirs = await orderIn(service, 'pending_payment', { customer: DEMO.customer2 });
    expect((await pay(mine.id, 'shared-key')).status).toBe(200);
    const response = await pay(theirs.id, 'shared-key', { actor: DEMO.customer2 });
    expect(response.status).toBe(200);
    expect(response.headers.get('idempotent-replayed')).toBeNull();
  });

  it('409 with Retry-After: 1 while the first request with the key is still running', async () => {
    const order = await orderIn(service, 'pending_payment');
    // A first request with the key holds it while the provider keeps it waiting.
    const { entered: inProvider, release } = holdCharges(service);
    const first = pay(order.id, 'in-flight');
    await inProvider;
    const blocked = await pay(order.id, 'in-flight');
    expect(blocked.status).toBe(409);
    expect(blocked.headers.get('retry-after')).toBe('1');
    expect(blocked.body).toMatchObject({ status: 409, code: 'IDEMPOTENCY_KEY_IN_PROGRESS' });
    expect(await paymentsOf(order.id)).toEqual([]);
    release();
    await first;
    expect((await pay(order.id, 'in-flight')).status).toBe(200);
  });

  it('concurrent requests with one key execute once: one payments row, every 200 the same outcome', async () => {
    for (let round = 0; round < 3; round++) {
      const order = await orderIn(service, 'pending_payment');
      const responses = await Promise.all(Array.from({ length: 8 }, () => pay(order.id, `burst-${round}`)));
      const statuses = responses.map((response) => response.status);
      expect(
        statuses.every((status) => status === 200 || status === 409),
        statuses.join(),
      ).toBe(true);
      const ok = responses.filter((response) => response.status === 200);
      expect(ok.length).toBeGreaterThanOrEqual(1);
      for (const response of ok) expect(response.body).toEqual(ok[0]!.body);
      for (const response of responses.filter((r) => r.status === 409)) expect(response.headers.get('retry-after')).toBe('1');
      expect(await paymentsOf(order.id)).toHaveLength(1);
      expect(await storedOrder(service, order.id)).toMatchObject({ status: 'pending_acceptance', version: 2 });
    }
  });

  it('concurrent requests with one key on an action with no outside effect wait for the first and replay it (no 409)', async () => {
    const order = await orderIn(service, 'pending_acceptance');
    const accept = () =>
      rest(service, DEMO.restaurant1, 'POST', `/api/v2/orders/${order.id}/acceptance`, {
        headers: { 'If-Match': etag(order.id, order.version), 'Idempotency-Key': 'accept-burst' },
      });
    const responses = await Promise.all(Array.from({ length: 8 }, accept));
    expect(responses.map((response) => response.status)).toEqual(Array(8).fill(200));
    expect(responses.filter((response) => response.headers.get('idempotent-replayed') === 'true')).toHaveLength(7);
    // Byte for byte: each replay repeats the first body, which is the order as a read of that version shows it.
    for (const response of responses)
      expect({ ...outcomeOf(response), text: response.text }).toEqual({ ...outcomeOf(responses[0]!), text: responses[0]!.text });
    const read = await rest(service, DEMO.restaurant1, 'GET', `/api/v2/orders/${order.id}`);
    expect(responses[0]!.text).toBe(read.text);
    expect(responses[0]!.headers.get('etag')).toBe(etag(order.id, order.version + 1));
    expect(await storedOrder(service, order.id)).toMatchObject({ status: 'preparing', version: order.version + 1 });
  });

  it('a key first used over REST replays in GraphQL payOrder', async () => {
    const order = await orderIn(service, 'pending_payment');
    expect((await pay(order.id, 'rest-first')).status).toBe(200);
    const { data } = await graphql(service, DEMO.customer1, PAY_ORDER, {
      orderId: String(order.id),
      v: 1,
      input: { idempotencyKey: 'rest-first', paymentMethod: 'card', amount: 22_000 },
    });
    expect(data.payOrder).toMatchObject({ __typename: 'PayOrderSuccess', replayed: true, order: { databaseId: order.id, version: 2 } });
    const reused = await graphql(service, DEMO.customer1, PAY_ORDER, {
      orderId: String(order.id),
      v: 2,
      input: { idempotencyKey: 'rest-first', paymentMethod: 'wallet', amount: 22_000 },
    });
    expect(reused.data.payOrder).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });
    expect(await paymentsOf(order.id)).toHaveLength(1);
  });

  it('a key first used in GraphQL payOrder replays over REST, with the first outcome', async () => {
    const order = await orderIn(service, 'pending_payment');
    const { data } = await graphql(service, DEMO.customer1, PAY_ORDER, {
      orderId: String(order.id),
      v: 1,
      input: { idempotencyKey: 'graphql-first', paymentMethod: 'card', amount: 22_000 },
    });
    expect(data.payOrder).toMatchObject({ __typename: 'PayOrderSuccess', replayed: false });
    await rest(service, DEMO.restaurant1, 'POST', `/api/v2/orders/${order.id}/acceptance`, { headers: { 'If-Match': '*' } });
    const replay = await pay(order.id, 'graphql-first', { ifMatch: etag(order.id, 1) });
    expect(replay.status).toBe(200);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.headers.get('etag')).toBe(etag(order.id, 2));
    expect(replay.body).toMatchObject({ id: order.id, status: 'pending_acceptance', version: 2 });
    expect(await paymentsOf(order.id)).toHaveLength(1);
  });

  it('createOrder keys are shared too: REST first, then GraphQL, and the reverse', async () => {
    const created = await rest(service, DEMO.customer1, 'POST', '/api/v2/orders', {
      json: createBody(),
      headers: { 'Idempotency-Key': 'create-shared' },
    });
    const input = { restaurantId: '1', items: [{ menuItemId: '1', quantity: 2 }], deliveryAddress: '1 Test Street' };
    const viaGraphql = await graphql(service, DEMO.customer1, CREATE_ORDER, { input: { ...input, idempotencyKey: 'create-shared' } });
    expect(viaGraphql.data.createOrder).toMatchObject({ replayed: true, order: { databaseId: created.body.id } });

    const first = await graphql(service, DEMO.customer1, CREATE_ORDER, { input: { ...input, idempotencyKey: 'create-graphql' } });
    const replay = await rest(service, DEMO.customer1, 'POST', '/api/v2/orders', {
      json: createBody(),
      headers: { 'Idempotency-Key': 'create-graphql' },
    });
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body.id).toBe(first.data.createOrder.order.databaseId);
    expect(replay.headers.get('location')).toBe(`/api/v2/orders/${replay.body.id}`);
    expect(await service.container.db.prisma.order.count()).toBe(2);
  });
});
