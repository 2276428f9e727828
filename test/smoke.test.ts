import { describe, expect, it } from 'vitest';
import { backend, DEMO, graphql, setUpTestService } from './support/harness.ts';
import { orderIn } from './support/orders.ts';

const service = setUpTestService();

describe(`harness (${backend})`, () => {
  it('drives an order to delivered through the service', async () => {
    const order = await orderIn(service, 'delivered');
    expect(order.version).toBe(7);
    const { data } = await graphql(service, DEMO.customer1, 'query($id: ID!) { order(id: $id) { status version history { version } } }', {
      id: String(order.id),
    });
    expect(data.order).toMatchObject({ status: 'DELIVERED', version: 7 });
    expect(data.order.history.map((e: { version: number }) => e.version)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });
});
