/**
 * SPEC §9 live tracking: riderLocationUpdated(orderId) streams each location the assigned rider reports while the
 * order is ready for pickup or in transit, to whoever may see the order, and ends when it is delivered.
 */
import { describe, expect, it } from 'vitest';
import type { Actor } from '../../src/domain/auth.ts';
import { backend, DEMO, setUpTestService } from '../support/harness.ts';
import { orderIn } from '../support/orders.ts';

const service = setUpTestService();
const gid = (id: number) => Buffer.from(`Order:${id}`).toString('base64');
const SUBSCRIPTION = 'subscription($id: ID!) { riderLocationUpdated(orderId: $id) { lat lng at } }';

/** An SSE subscription as `actor`; `events()` reads what has arrived, `ended` resolves when the stream completes. */
async function subscribe(actor: Actor, orderId: number) {
  const response = await service.app.request('/graphql', {
    method: 'POST',
    headers: { authorization: `Bearer ${await service.token(actor)}`, 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify({ query: SUBSCRIPTION, variables: { id: gid(orderId) } }),
  });
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  const ended = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return text;
      text += decoder.decode(value);
      if (text.includes('event: complete')) return text;
    }
  })();
  const nexts = () => [...text.matchAll(/event: next\ndata: (.*)\n/g)].map((match) => JSON.parse(match[1]!));
  return { nexts, ended, cancel: () => reader.cancel().catch(() => {}) };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
async function until(check: () => boolean) {
  for (let waited = 0; waited < 100 && !check(); waited++) await sleep(50);
}

describe(`riderLocationUpdated (${backend})`, () => {
  it('streams the assigned rider’s locations to those who may see the order, and ends at delivery', async () => {
    const order = await orderIn(service, 'ready_for_pickup', { withRider: true });
    const orders = service.container.orders;
    const customer = await subscribe(DEMO.customer1, order.id);
    const restaurant = await subscribe(DEMO.restaurant1, order.id);
    const otherCustomer = await subscribe(DEMO.customer2, order.id);
    const otherRider = await subscribe(DEMO.rider2, order.id);
    for (const refused of [otherCustomer, otherRider]) {
      const text = await refused.ended;
      expect(text).toContain('NOT_FOUND');
      expect(text).not.toContain('"lat"');
    }
    await sleep(100); // the subscriptions reach the pub/sub

    await orders.updateRiderLocation({ actor: DEMO.rider2, lat: 1, lng: 1 }); // not this order's rider
    await orders.updateRiderLocation({ actor: DEMO.rider1, lat: 37.5, lng: 127.01 });
    await until(() => customer.nexts().length >= 1 && restaurant.nexts().length >= 1);
    for (const watcher of [customer, restaurant]) {
      expect(watcher.nexts().map((event) => event.data.riderLocationUpdated)).toEqual([{ lat: 37.5, lng: 127.01, at: expect.any(String) }]);
    }

    await orders.pickUpOrder({ actor: DEMO.rider1, orderId: order.id, expectedVersion: order.version });
    await orders.updateRiderLocation({ actor: DEMO.rider1, lat: 37.51, lng: 127.02 });
    await until(() => customer.nexts().length >= 2);
    expect(customer.nexts().map((event) => event.data.riderLocationUpdated.lat)).toEqual([37.5, 37.51]);

    await orders.deliverOrder({ actor: DEMO.rider1, orderId: order.id, expectedVersion: order.version + 1 });
    const finished = await Promise.race([customer.ended, sleep(5_000).then(() => 'still open')]);
    expect(finished).toContain('event: complete');
    await orders.updateRiderLocation({ actor: DEMO.rider1, lat: 40, lng: 128 });
    await sleep(200);
    expect(customer.nexts()).toHaveLength(2);
    await restaurant.cancel();

    // A delivered order is tracked no more: a new subscription ends at once.
    const late = await subscribe(DEMO.customer1, order.id);
    expect(await Promise.race([late.ended, sleep(5_000).then(() => 'still open')])).toContain('event: complete');
  });
});
