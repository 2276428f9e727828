/**
 * SPEC §9's event feed: one event per committed change, written with it (and order.refunded when the provider
 * confirms a refund), oldest first, only the orders the actor may see, the same ids in REST and GraphQL.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Actor } from '../../src/domain/auth.ts';
import { backend, DEMO, graphql, setUpTestService } from '../support/harness.ts';
import { createBody, etag, rest } from '../support/rest-client.ts';

const service = setUpTestService();

type Event = {
  id: string;
  type: string;
  created_at: string;
  data: { order: { id: number; version: number; status: string }; refund?: { id: string; amount: number } };
};

async function feed(
  actor: Actor,
  query = '',
): Promise<{ status: number; body: { results: Event[]; next_cursor: string | null; code?: string } }> {
  return rest(service, actor, 'GET', `/api/v2/events${query}`);
}

/** Every event the actor can see, page by page. */
async function allEvents(actor: Actor): Promise<Event[]> {
  const events: Event[] = [];
  let after: string | null = null;
  for (;;) {
    const page = await feed(actor, `?limit=3${after ? `&after=${after}` : ''}`);
    expect(page.status).toBe(200);
    events.push(...page.body.results);
    if (page.body.results.length === 0) return events;
    after = page.body.next_cursor;
  }
}

async function act(actor: Actor, orderId: number, version: number, action: string, json: unknown = {}) {
  const headers: Record<string, string> = { 'if-match': etag(orderId, version) };
  if (action === 'payment') headers['idempotency-key'] = randomUUID();
  const response = await rest(service, actor, 'POST', `/api/v2/orders/${orderId}/${action}`, { json, headers });
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.body;
}

async function placeOrder(customer: Actor = DEMO.customer1, restaurantId = 1) {
  const items = [{ menu_item_id: restaurantId === 1 ? 1 : 5, quantity: 2 }];
  const created = await rest(service, customer, 'POST', '/api/v2/orders', {
    json: createBody(items, restaurantId),
    headers: { 'idempotency-key': randomUUID() },
  });
  expect(created.status).toBe(201);
  return created.body as { id: number; total_amount: number };
}

describe(`the event feed (${backend})`, () => {
  it('has one event per change of a whole life cycle, in order, each carrying the order at its version', async () => {
    const order = await placeOrder();
    await act(DEMO.customer1, order.id, 1, 'payment', { payment_method: 'card', amount: order.total_amount });
    await act(DEMO.restaurant1, order.id, 2, 'acceptance');
    await act(DEMO.restaurant1, order.id, 3, 'preparation-complete');
    await act(DEMO.rider1, order.id, 4, 'rider-assignment');
    await act(DEMO.rider1, order.id, 5, 'pickup');
    await act(DEMO.rider1, order.id, 6, 'delivery');
    // A refused action (a stale version) changes nothing, and so writes no event.
    const stale = await rest(service, DEMO.rider1, 'POST', `/api/v2/orders/${order.id}/delivery`, {
      json: {},
      headers: { 'if-match': etag(order.id, 6) },
    });
    expect(stale.status).toBe(412);

    const events = await allEvents(DEMO.admin);
    expect(events.map((event) => event.type)).toEqual([
      'order.created',
      'order.paid',
      'order.accepted',
      'order.preparation_completed',
      'order.rider_assigned',
      'order.picked_up',
      'order.delivered',
    ]);
    expect(events.map((event) => event.data.order.version)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(events.map((event) => event.data.order.status)).toEqual([
      'pending_payment',
      'pending_acceptance',
      'preparing',
      'ready_for_pickup',
      'ready_for_pickup',
      'in_transit',
      'delivered',
    ]);
    const sequence = events.map((event) => Number(event.id.replace('evt_', '')));
    expect(sequence).toEqual([...sequence].sort((a, b) => a - b));
    expect(new Set(sequence).size).toBe(sequence.length);
    for (const event of events) {
      expect(event.id).toMatch(/^evt_[1-9][0-9]*$/);
      expect(Number.isNaN(Date.parse(event.created_at))).toBe(false);
      expect(event.data.order).toMatchObject({ id: order.id, total_amount: order.total_amount, customer_id: 1, restaurant_id: 1 });
    }
    // The history and the events agree, entry for entry.
    expect(await service.container.db.prisma.orderEvent.count({ where: { orderId: order.id } })).toBe(events.length);
  });

  it('a declined payment is order.payment_failed; a refund confirmed by the provider is order.refunded', async () => {
    const declined = await placeOrder();
    await act(DEMO.customer1, declined.id, 1, 'payment', { payment_method: 'test_decline', amount: declined.total_amount });
    const paid = await placeOrder();
    await act(DEMO.customer1, paid.id, 1, 'payment', { payment_method: 'card', amount: paid.total_amount });
    await act(DEMO.customer1, paid.id, 2, 'cancellation', { reason: 'changed my mind' });
    const deadline = Date.now() + 30_000;
    let types: string[] = [];
    let events: Event[] = [];
    while (Date.now() < deadline) {
      events = (await allEvents(DEMO.customer1)).filter((event) => event.data.order.id === paid.id);
      types = events.map((event) => event.type);
      if (types.includes('order.refunded')) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(types).toEqual(['order.created', 'order.paid', 'order.cancelled', 'order.refunded']);
    const refund = await service.container.db.prisma.refund.findFirstOrThrow({ where: { orderId: paid.id } });
    expect(events.at(-1)!.data.refund).toEqual({ id: refund.providerRefundId, amount: paid.total_amount });
    expect(events.at(-1)!.data.order).toMatchObject({ id: paid.id, status: 'cancelled', version: 3 });
    const failed = (await allEvents(DEMO.customer1)).filter((event) => event.data.order.id === declined.id);
    expect(failed.map((event) => event.type)).toEqual(['order.created', 'order.payment_failed']);
  });

  it('shows each actor only the events of the orders it may see', async () => {
    const mine = await placeOrder(DEMO.customer1, 1);
    const theirs = await placeOrder(DEMO.customer2, 2);
    const ordersIn = async (actor: Actor) => new Set((await allEvents(actor)).map((event) => event.data.order.id));
    expect(await ordersIn(DEMO.customer1)).toEqual(new Set([mine.id]));
    expect(await ordersIn(DEMO.customer2)).toEqual(new Set([theirs.id]));
    expect(await ordersIn(DEMO.restaurant1)).toEqual(new Set([mine.id]));
    expect(await ordersIn(DEMO.restaurant2)).toEqual(new Set([theirs.id]));
    expect(await ordersIn(DEMO.rider1)).toEqual(new Set()); // neither is preparing yet: nothing to claim
    expect(await ordersIn(DEMO.admin)).toEqual(new Set([mine.id, theirs.id]));
  });

  it('pages with after and limit, keeps the cursor when nothing is new, and refuses bad input', async () => {
    await placeOrder();
    await placeOrder();
    const first = await feed(DEMO.admin, '?limit=1');
    expect(first.body.results).toHaveLength(1);
    const second = await feed(DEMO.admin, `?after=${first.body.next_cursor}`);
    expect(second.body.results).toHaveLength(1);
    expect(second.body.results[0]!.id).not.toBe(first.body.results[0]!.id);
    const caughtUp = await feed(DEMO.admin, `?after=${second.body.next_cursor}`);
    expect(caughtUp.body).toEqual({ results: [], next_cursor: second.body.next_cursor });
    for (const query of [
      '?after=42',
      '?after=evt_0',
      '?after=evt_-1',
      '?after=evt_1x',
      '?limit=0',
      '?limit=101',
      '?limit=a',
      '?cursor=evt_1',
    ]) {
      const refused = await feed(DEMO.admin, query);
      expect(refused.status, query).toBe(400);
      expect(refused.body.code, query).toBe('VALIDATION_FAILED');
    }
    expect((await rest(service, null, 'GET', '/api/v2/events')).status).toBe(401);
  });

  it('GraphQL events carry the same ids, types and order as the REST feed', async () => {
    const order = await placeOrder();
    await act(DEMO.customer1, order.id, 1, 'payment', { payment_method: 'card', amount: order.total_amount });
    const rest = await allEvents(DEMO.customer1);
    const result = await graphql(
      service,
      DEMO.customer1,
      '{ events(first: 10) { edges { cursor node { id type order { databaseId } } } pageInfo { hasNextPage endCursor } } }',
    );
    expect(result.errors).toBeUndefined();
    const edges = result.data.events.edges as { cursor: string; node: { id: string; type: string; order: { databaseId: number } } }[];
    expect(edges.map((edge) => edge.node.id)).toEqual(rest.map((event) => event.id));
    expect(edges.map((edge) => edge.node.type)).toEqual(['ORDER_CREATED', 'ORDER_PAID']);
    expect(edges.every((edge) => edge.node.order.databaseId === order.id)).toBe(true);
    const after = await graphql(service, DEMO.customer1, `{ events(first: 10, after: "${edges[0]!.cursor}") { edges { node { id } } } }`);
    expect(after.data.events.edges.map((edge: { node: { id: string } }) => edge.node.id)).toEqual([rest[1]!.id]);
    const bad = await graphql(service, DEMO.customer1, '{ events(after: "nope") { edges { cursor } } }');
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});
