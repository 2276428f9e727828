/**
 * An order subscription decides from each event (the order's parties and status after the change) and the
 * subscriber whether to deliver it: no query per event per subscriber to re-check visibility. Counted on the wire.
 */
import { encodeGlobalID } from '@pothos/plugin-relay';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../../src/domain/auth.ts';
import { backend, DEMO, setUpTestService } from '../support/harness.ts';
import { orderIn } from '../support/orders.ts';
import { countStatements } from '../support/sql-counter.ts';

const service = setUpTestService({}, { resetEach: false });
beforeAll(() => service.reset());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Subscribes `actor` to orderUpdated over SSE through app.request; `statuses` collects the delivered statuses. */
async function subscribe(actor: Actor, orderId: number) {
  const controller = new AbortController();
  const response = await service.app.request('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${await service.token(actor)}` },
    body: JSON.stringify({
      query: 'subscription($id: ID!) { orderUpdated(orderId: $id) { status } }',
      variables: { id: encodeGlobalID('Order', orderId) },
    }),
    signal: controller.signal,
  });
  expect(response.status).toBe(200);
  const reader = response.body!.getReader();
  const statuses: string[] = [];
  void (async () => {
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done) return;
      buffer += new TextDecoder().decode(value);
      for (const data of buffer.match(/^data: .+$/gm) ?? []) statuses.push(JSON.parse(data.slice(6)).data?.orderUpdated?.status);
      buffer = buffer.slice(buffer.lastIndexOf('\n') + 1);
    }
  })();
  return { statuses, close: () => controller.abort() };
}

describe(`subscription visibility (${backend})`, () => {
  it('delivers a change to the subscribers who may see it, with no visibility query per event', async () => {
    const order = await orderIn(service, 'preparing');
    const subscribers = await Promise.all(
      [DEMO.admin, DEMO.customer1, DEMO.restaurant1, DEMO.rider1, DEMO.rider2].map((actor) => subscribe(actor, order.id)),
    );
    const [admin, customer, restaurant, rider1, rider2] = subscribers;
    await sleep(300); // the subscriptions reach Redis (real backend)

    const { statements } = await countStatements(service.container.db, async () => {
      // Rider 1 claims the order: rider 2 no longer sees it.
      await service.container.orders.assignRider({ actor: DEMO.rider1, orderId: order.id, expectedVersion: order.version });
      await expect.poll(() => [admin, customer, restaurant, rider1].map((s) => s!.statuses.length)).toEqual([1, 1, 1, 1]);
      await sleep(200);
    });
    for (const subscriber of subscribers) subscriber.close();

    expect(rider2!.statuses).toEqual([]);
    expect(admin!.statuses).toEqual(['PREPARING']);
    expect(statements.filter((sql) => /\bcount\s*\(/i.test(sql))).toEqual([]);
  });
});
