/**
 * SPEC §9's webhooks, against a real HTTP receiver started here: every event of a life cycle arrives signed, per
 * order in version order; failures and timeouts are retried until delivered; a slow endpoint holds up no other;
 * deletion stops deliveries; a restaurant's endpoint sees only its orders; the feed and the deliveries carry the same
 * event ids; the delivery log and /metrics tell what happened.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../../src/domain/auth.ts';
import { verifySignature } from '../../src/domain/webhooks/signature.ts';
import { backend, DEMO, graphql, setUpTestService } from '../support/harness.ts';
import { orderIn } from '../support/orders.ts';
import { createBody, etag, rest } from '../support/rest-client.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.ts';

const service = setUpTestService({ WEBHOOK_TIMEOUT_MS: '3000', WEBHOOK_RETRY_BASE_MS: '100', WEBHOOK_DISABLE_AFTER_MS: '8000' });
let receiver: WebhookReceiver;
beforeAll(async () => {
  receiver = await startWebhookReceiver();
});
afterAll(() => receiver.close());

async function register(actor: Actor, path: string, events: string[] = ['*']) {
  const response = await rest(service, actor, 'POST', '/api/v2/webhook-endpoints', { json: { url: receiver.url(path), events } });
  expect(response.status, response.text).toBe(201);
  return response.body as { id: number; secret: string; url: string; events: string[]; created_at: string };
}

async function act(actor: Actor, orderId: number, version: number, action: string, json: unknown = {}) {
  const headers: Record<string, string> = { 'if-match': etag(orderId, version) };
  if (action === 'payment') headers['idempotency-key'] = randomUUID();
  const response = await rest(service, actor, 'POST', `/api/v2/orders/${orderId}/${action}`, { json, headers });
  expect(response.status, response.text).toBe(200);
}

/** Places an order at restaurant 1 and takes it through its whole life cycle: 7 events. */
async function fullLifeCycle(): Promise<number> {
  const created = await rest(service, DEMO.customer1, 'POST', '/api/v2/orders', {
    json: createBody(),
    headers: { 'idempotency-key': randomUUID() },
  });
  expect(created.status).toBe(201);
  const order = created.body as { id: number; total_amount: number };
  await act(DEMO.customer1, order.id, 1, 'payment', { payment_method: 'card', amount: order.total_amount });
  await act(DEMO.restaurant1, order.id, 2, 'acceptance');
  await act(DEMO.restaurant1, order.id, 3, 'preparation-complete');
  await act(DEMO.rider1, order.id, 4, 'rider-assignment');
  await act(DEMO.rider1, order.id, 5, 'pickup');
  await act(DEMO.rider1, order.id, 6, 'delivery');
  return order.id;
}

const LIFE_CYCLE = [
  'order.created',
  'order.paid',
  'order.accepted',
  'order.preparation_completed',
  'order.rider_assigned',
  'order.picked_up',
  'order.delivered',
];

/** Each order's acknowledged events are its versions 1, 2, 3… with no gap and no reordering. */
function expectVersionOrder(received: { json: { data: { order: { id: number; version: number } } } }[]) {
  const byOrder = new Map<number, number[]>();
  for (const entry of received) {
    const { id, version } = entry.json.data.order;
    byOrder.set(id, [...(byOrder.get(id) ?? []), version]);
  }
  for (const versions of byOrder.values()) expect(versions).toEqual(versions.map((_, index) => index + 1));
}

/** The webhook figures of /metrics. */
async function metrics() {
  const text = await (await service.app.request('/metrics')).text();
  const value = (pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? 0);
  return {
    delivered: value(/^webhook_deliveries_total\{outcome="delivered"\} (\d+)$/m),
    failed: value(/^webhook_deliveries_total\{outcome="failed"\} (\d+)$/m),
    backlog: value(/^webhook_delivery_backlog (\d+)$/m),
  };
}

describe(`webhooks (${backend})`, () => {
  it('delivers every event of a life cycle, signed with the endpoint secret, in version order, with the feed’s ids', async () => {
    const endpoint = await register(DEMO.admin, '/all');
    expect(endpoint.secret).toMatch(/^whsec_/);
    const orderId = await fullLifeCycle();
    await receiver.waitFor(() => receiver.acknowledged('/all').length >= 7);
    const received = receiver.acknowledged('/all');
    expect(received.map((entry) => entry.json.type)).toEqual(LIFE_CYCLE);
    expectVersionOrder(received);
    for (const entry of received) {
      expect(entry.headers['content-type']).toBe('application/json');
      expect(entry.eventId).toBe(entry.json.id);
      expect(verifySignature(String(entry.headers['quickeats-signature']), entry.body, endpoint.secret)).toBe(true);
      // A signature made with another secret, or over another body, does not verify.
      expect(verifySignature(String(entry.headers['quickeats-signature']), `${entry.body} `, endpoint.secret)).toBe(false);
      expect(verifySignature(String(entry.headers['quickeats-signature']), entry.body, 'whsec_other')).toBe(false);
    }
    const feed = await rest(service, DEMO.admin, 'GET', '/api/v2/events?limit=100');
    expect(feed.body.results).toEqual(received.map((entry) => entry.json));
    expect(received.every((entry) => entry.json.data.order.id === orderId)).toBe(true);

    // The secret is shown once: the listing has none.
    const listed = await rest(service, DEMO.admin, 'GET', '/api/v2/webhook-endpoints');
    expect(listed.status).toBe(200);
    expect(listed.body.results).toEqual([
      { id: endpoint.id, url: endpoint.url, events: ['*'], created_at: endpoint.created_at, status: 'enabled', disabled_at: null },
    ]);
    expect(listed.text).not.toContain('whsec_');
    const log = await rest(service, DEMO.admin, 'GET', `/api/v2/webhook-endpoints/${endpoint.id}/deliveries`);
    expect(log.body.results.map((attempt: { event_id: string }) => attempt.event_id)).toEqual(
      received.map((entry) => entry.eventId).reverse(),
    );
    expect(log.body.results.every((attempt: { status_code: number }) => attempt.status_code === 200)).toBe(true);
  });

  it('retries a receiver that answers 500 twice and then times out once, until everything arrived, in order', async () => {
    const before = await metrics();
    const endpoint = await register(DEMO.admin, '/flaky', ['order.created', 'order.paid', 'order.accepted']);
    receiver.fail('/flaky', [500, 500]);
    receiver.hang('/flaky', 0);
    const order = await orderIn(service, 'pending_payment');
    await receiver.waitFor((all) => all.some((entry) => entry.path === '/flaky' && entry.answered === 500));
    receiver.hang('/flaky', 1);
    await service.container.orders.payOrder({
      actor: DEMO.customer1,
      orderId: order.id,
      expectedVersion: 1,
      idempotencyKey: randomUUID(),
      paymentMethod: 'card',
      amount: order.totalAmount,
    });
    await service.container.orders.acceptOrder({ actor: DEMO.restaurant1, orderId: order.id, expectedVersion: 2 });
    await receiver.waitFor(() => receiver.acknowledged('/flaky').length >= 3);
    const acknowledged = receiver.acknowledged('/flaky');
    expect(acknowledged.map((entry) => entry.json.type)).toEqual(['order.created', 'order.paid', 'order.accepted']);
    expectVersionOrder(acknowledged);
    // A retry is the same event: same id, same body.
    const attemptsOfFirst = receiver.received.filter((entry) => entry.path === '/flaky' && entry.eventId === acknowledged[0]!.eventId);
    expect(attemptsOfFirst.length).toBeGreaterThanOrEqual(3);
    expect(new Set(attemptsOfFirst.map((entry) => entry.body)).size).toBe(1);
    // Nothing of the order was sent before its earlier events were acknowledged.
    for (const later of receiver.received.filter((entry) => entry.path === '/flaky' && entry.json.data.order.version > 1)) {
      expect(later.at).toBeGreaterThanOrEqual(acknowledged[0]!.at);
    }

    const log = await rest(service, DEMO.admin, 'GET', `/api/v2/webhook-endpoints/${endpoint.id}/deliveries?limit=100`);
    const attempts = log.body.results as { status_code: number | null; error: string | null; next_retry_at: string | null }[];
    expect(attempts.filter((attempt) => attempt.status_code === 500)).toHaveLength(2);
    expect(attempts.filter((attempt) => attempt.error?.startsWith('timed out'))).toHaveLength(1);
    expect(attempts.filter((attempt) => attempt.status_code !== 200).every((attempt) => attempt.next_retry_at !== null)).toBe(true);
    const after = await metrics();
    expect(after.failed - before.failed).toBe(3);
    expect(after.delivered - before.delivered).toBe(3);
    expect(after.backlog).toBe(0);
  });

  it('lets no slow endpoint hold up another, and sends one endpoint’s events one batch at a time', async () => {
    receiver.slow('/slow', 900);
    await register(DEMO.admin, '/slow');
    await register(DEMO.admin, '/fast');
    const started = Date.now();
    await Promise.all([orderIn(service, 'preparing'), orderIn(service, 'preparing'), orderIn(service, 'preparing')]);
    await receiver.waitFor(() => receiver.acknowledged('/fast').length >= 9);
    const fastDone = Date.now() - started;
    // The slow endpoint needs ≥ 3 rounds of 900 ms for 3 versions of each order; the fast one is not waiting for it.
    expect(receiver.acknowledged('/slow').length).toBeLessThan(9);
    expect(fastDone).toBeLessThan(2_700);
    await receiver.waitFor(() => receiver.acknowledged('/slow').length >= 9);
    expectVersionOrder(receiver.acknowledged('/slow'));
    // Per order one at a time: three orders, so at most three of its events were in flight together.
    expect(receiver.maxInFlight('/slow')).toBeLessThanOrEqual(3);
  });

  it('lets a dozen hanging endpoints hold up neither another endpoint nor each other', async () => {
    const hanging = Array.from({ length: 12 }, (_, index) => `/hanging-${index}`);
    for (const path of hanging) {
      receiver.hang(path, 1);
      await register(DEMO.admin, path, ['order.created']);
    }
    await register(DEMO.admin, '/healthy', ['order.created']);
    await orderIn(service, 'pending_payment');
    await receiver.waitFor(
      (all) => hanging.every((path) => all.some((entry) => entry.path === path)) && receiver.acknowledged('/healthy').length === 1,
    );
    // Every endpoint got its request at once: none waited for a hanging one's 3 s timeout to free a worker slot.
    const firstHang = Math.min(...receiver.received.filter((entry) => entry.path.startsWith('/hanging-')).map((entry) => entry.at));
    const lastStart = Math.max(...receiver.received.filter((entry) => entry.path.startsWith('/h')).map((entry) => entry.at));
    expect(lastStart - firstHang).toBeLessThan(3_000);
    // And each hanging one is retried after its timeout, and then acknowledged.
    await receiver.waitFor(() => hanging.every((path) => receiver.acknowledged(path).length === 1));
  });

  it('sends a restaurant only its own orders’ events, and nothing after the endpoint is deleted', async () => {
    const second = await register(DEMO.restaurant2, '/restaurant-2');
    await register(DEMO.restaurant1, '/restaurant-1');
    await orderIn(service, 'pending_acceptance', { restaurantId: 1 });
    await orderIn(service, 'pending_acceptance', { restaurantId: 2 });
    await receiver.waitFor(() => receiver.acknowledged('/restaurant-2').length >= 2 && receiver.acknowledged('/restaurant-1').length >= 2);
    expect(receiver.acknowledged('/restaurant-2').every((entry) => entry.json.data.order.restaurant_id === 2)).toBe(true);
    expect(receiver.acknowledged('/restaurant-1').every((entry) => entry.json.data.order.restaurant_id === 1)).toBe(true);

    // Restaurant 1 can neither see nor delete restaurant 2's endpoint; a customer has none.
    expect((await rest(service, DEMO.restaurant1, 'DELETE', `/api/v2/webhook-endpoints/${second.id}`)).status).toBe(404);
    expect((await rest(service, DEMO.restaurant1, 'GET', '/api/v2/webhook-endpoints')).body.results).toHaveLength(1);
    expect((await rest(service, DEMO.customer1, 'GET', '/api/v2/webhook-endpoints')).status).toBe(403);
    const customerCreate = await rest(service, DEMO.customer1, 'POST', '/api/v2/webhook-endpoints', {
      json: { url: receiver.url('/x'), events: ['*'] },
    });
    expect(customerCreate.status).toBe(403);

    expect((await rest(service, DEMO.restaurant2, 'DELETE', `/api/v2/webhook-endpoints/${second.id}`)).status).toBe(204);
    expect((await rest(service, DEMO.restaurant2, 'DELETE', `/api/v2/webhook-endpoints/${second.id}`)).status).toBe(404);
    const before = receiver.received.filter((entry) => entry.path === '/restaurant-2').length;
    await orderIn(service, 'pending_acceptance', { restaurantId: 2 });
    await orderIn(service, 'pending_acceptance', { restaurantId: 1 });
    // Restaurant 1's endpoint is live: once its two new events arrived, restaurant 2's would have too.
    await receiver.waitFor(() => receiver.acknowledged('/restaurant-1').length >= 4);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(receiver.received.filter((entry) => entry.path === '/restaurant-2')).toHaveLength(before);
  });

  it('disables an endpoint whose every attempt failed for longer than WEBHOOK_DISABLE_AFTER_MS, and says so', async () => {
    const endpoint = await register(DEMO.admin, '/down', ['order.created']);
    receiver.fail(
      '/down',
      Array.from({ length: 100 }, () => 503),
    );
    await orderIn(service, 'pending_payment');
    const deadline = Date.now() + 30_000;
    let status = 'enabled';
    while (status !== 'disabled' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      status = (await rest(service, DEMO.admin, 'GET', '/api/v2/webhook-endpoints')).body.results[0].status;
    }
    expect(status).toBe('disabled');
    const attempts = receiver.received.filter((entry) => entry.path === '/down').length;
    expect(attempts).toBeGreaterThanOrEqual(2);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(receiver.received.filter((entry) => entry.path === '/down')).toHaveLength(attempts);
    const gql = await graphql(service, DEMO.admin, '{ webhookEndpoints { databaseId disabled disabledAt } }');
    expect(gql.data.webhookEndpoints).toEqual([{ databaseId: endpoint.id, disabled: true, disabledAt: expect.any(String) }]);
  });

  it('refuses bad registrations with 400 and names the field', async () => {
    for (const json of [
      { url: 'ftp://example.com/hook', events: ['*'] },
      { url: 'not a url', events: ['*'] },
      { url: receiver.url('/x'), events: [] },
      { url: receiver.url('/x'), events: ['order.eaten'] },
      { url: receiver.url('/x'), events: ['*', 'order.paid'] },
      { url: 'http://user:pass@example.com/', events: ['*'] },
    ]) {
      const response = await rest(service, DEMO.admin, 'POST', '/api/v2/webhook-endpoints', { json });
      expect(response.status, JSON.stringify(json)).toBe(400);
      expect(response.headers.get('content-type')).toContain('application/problem+json');
    }
  });

  it('mirrors the endpoints in GraphQL: create (secret once), list with deliveries, delete', async () => {
    const created = await graphql(
      service,
      DEMO.restaurant1,
      `mutation ($input: CreateWebhookEndpointInput!) {
        createWebhookEndpoint(input: $input) {
          __typename
          ... on CreateWebhookEndpointSuccess { secret endpoint { id databaseId url events disabled } }
          ... on ValidationError { fields { path message } }
        }
      }`,
      { input: { url: receiver.url('/gql'), events: ['order.created'] } },
    );
    const result = created.data.createWebhookEndpoint;
    expect(result.__typename).toBe('CreateWebhookEndpointSuccess');
    expect(result.secret).toMatch(/^whsec_/);
    await orderIn(service, 'pending_payment');
    await receiver.waitFor(() => receiver.acknowledged('/gql').length >= 1);
    const listed = await graphql(service, DEMO.restaurant1, '{ webhookEndpoints { id deliveries { eventId statusCode } } }');
    expect(listed.data.webhookEndpoints).toEqual([
      { id: result.endpoint.id, deliveries: [{ eventId: receiver.acknowledged('/gql')[0]!.eventId, statusCode: 200 }] },
    ]);

    const invalid = await graphql(
      service,
      DEMO.restaurant1,
      'mutation { createWebhookEndpoint(input: { url: "gopher://x", events: ["*"] }) { __typename ... on ValidationError { fields { path } } } }',
    );
    expect(invalid.data.createWebhookEndpoint).toEqual({ __typename: 'ValidationError', fields: [{ path: ['url'] }] });
    const forbidden = await graphql(
      service,
      DEMO.rider1,
      `mutation { createWebhookEndpoint(input: { url: "${receiver.url('/r')}", events: ["*"] }) { __typename } }`,
    );
    expect(forbidden.data.createWebhookEndpoint.__typename).toBe('ForbiddenError');

    const deleted = await graphql(
      service,
      DEMO.restaurant1,
      'mutation ($id: ID!) { deleteWebhookEndpoint(id: $id) { __typename ... on DeleteWebhookEndpointSuccess { deletedId } } }',
      { id: result.endpoint.id },
    );
    expect(deleted.data.deleteWebhookEndpoint).toEqual({ __typename: 'DeleteWebhookEndpointSuccess', deletedId: result.endpoint.id });
    const again = await graphql(service, DEMO.restaurant1, 'mutation ($id: ID!) { deleteWebhookEndpoint(id: $id) { __typename } }', {
      id: result.endpoint.id,
    });
    expect(again.data.deleteWebhookEndpoint.__typename).toBe('NotFoundError');
  });
});
