/** REST v2 lists (SPEC §5): order, paging, filters, `include` with each related row once, and no N+1. */
import { describe, expect, it } from 'vitest';
import { backend, DEMO, setUpTestService } from '../support/harness.ts';
import { orderIn, placeOrder } from '../support/orders.ts';
import { rest } from '../support/rest-client.ts';
import { countStatements } from '../support/sql-counter.ts';

const service = setUpTestService();

const ids = (body: { results: { id: number }[] }) => body.results.map((order) => order.id);

describe(`REST v2 GET /orders (${backend})`, () => {
  it('lists the orders the actor can see, newest first, in pages that cover each once', async () => {
    const mine = [];
    for (let i = 0; i < 7; i++) mine.push((await placeOrder(service)).id);
    await placeOrder(service, { customer: DEMO.customer2 });
    const all = await rest(service, DEMO.customer1, 'GET', '/api/v2/orders');
    expect(all.status).toBe(200);
    expect(ids(all.body)).toEqual([...mine].reverse());
    expect(all.body.next_cursor).toBeNull();
    expect(all.body).not.toHaveProperty('included');

    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `?limit=3&cursor=${encodeURIComponent(cursor)}` : '?limit=3';
      const page = await rest(service, DEMO.customer1, 'GET', `/api/v2/orders${query}`);
      expect(page.body.results.length).toBeLessThanOrEqual(3);
      seen.push(...ids(page.body));
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(seen).toEqual([...mine].reverse());
    expect((await rest(service, DEMO.admin, 'GET', '/api/v2/orders')).body.results).toHaveLength(8);
    expect((await rest(service, DEMO.restaurant2, 'GET', '/api/v2/orders')).body.results).toHaveLength(0);
  });

  it('defaults to 20 per page and accepts 1–100', async () => {
    for (let i = 0; i < 21; i++) await placeOrder(service);
    expect((await rest(service, DEMO.customer1, 'GET', '/api/v2/orders')).body.results).toHaveLength(20);
    expect((await rest(service, DEMO.customer1, 'GET', '/api/v2/orders?limit=100')).body.results).toHaveLength(21);
    expect((await rest(service, DEMO.customer1, 'GET', '/api/v2/orders?limit=1')).body.results).toHaveLength(1);
  });

  it('filters by one status or several', async () => {
    const paid = await orderIn(service, 'pending_acceptance');
    const unpaid = await orderIn(service, 'pending_payment');
    const preparing = await orderIn(service, 'preparing');
    expect(ids((await rest(service, DEMO.customer1, 'GET', '/api/v2/orders?status=pending_payment')).body)).toEqual([unpaid.id]);
    expect(ids((await rest(service, DEMO.customer1, 'GET', '/api/v2/orders?status=preparing,pending_acceptance')).body)).toEqual([
      preparing.id,
      paid.id,
    ]);
  });

  it('400 for a bad cursor, status, limit or include, and for unknown parameters', async () => {
    await placeOrder(service);
    for (const query of [
      'cursor=nonsense',
      `cursor=${Buffer.from('2020-01-01T00:00:00.000Z|abc').toString('base64url')}`,
      'status=eaten',
      'status=PREPARING',
      'status=',
      'limit=0',
      'limit=101',
      'limit=abc',
      'limit=2.5',
      'limit=-1',
      'include=customer',
      'include=restaurant,',
      'include=',
      'includes=restaurant',
      'limit=1&limit=2',
    ]) {
      const response = await rest(service, DEMO.customer1, 'GET', `/api/v2/orders?${query}`);
      expect(response.status, query).toBe(400);
      expect(response.body).toMatchObject({ status: 400, code: 'VALIDATION_FAILED', fields: expect.any(Array) });
    }
    expect((await rest(service, DEMO.customer1, 'GET', '/api/v2/orders/1?include=customer')).status).toBe(400);
  });

  it('include=restaurant,rider returns each related row once, and only what was asked for', async () => {
    await orderIn(service, 'preparing', { withRider: true });
    await orderIn(service, 'ready_for_pickup', { withRider: true });
    await orderIn(service, 'pending_payment');
    await placeOrder(service, { restaurantId: 2 });
    const both = await rest(service, DEMO.customer1, 'GET', '/api/v2/orders?include=restaurant,rider');
    expect(both.body.results).toHaveLength(4);
    expect(both.body.included.restaurants.map((r: { id: number }) => r.id)).toEqual([1, 2]);
    expect(both.body.included.riders).toEqual([{ id: 1, name: expect.any(String), current_location: null }]);
    const restaurantsOnly = await rest(service, DEMO.customer1, 'GET', '/api/v2/orders?include=restaurant');
    expect(Object.keys(restaurantsOnly.body.included)).toEqual(['restaurants']);
    const ridersOnly = await rest(service, DEMO.customer1, 'GET', '/api/v2/orders?include=rider,rider');
    expect(Object.keys(ridersOnly.body.included)).toEqual(['riders']);
    const one = await rest(service, DEMO.customer1, 'GET', `/api/v2/orders/${both.body.results[3].id}?include=rider,restaurant`);
    expect(one.body.included).toEqual({
      restaurants: [{ id: 1, name: expect.any(String), address: expect.any(String) }],
      riders: [{ id: 1, name: expect.any(String), current_location: null }],
    });
  });

  it('costs the same number of SQL statements for 5 and for 50 orders with include=restaurant,rider', async () => {
    const statementsFor = async (count: number) => {
      await service.reset();
      for (let i = 0; i < count; i++) {
        if (i % 3 === 0) await orderIn(service, 'preparing', { withRider: true, restaurantId: 1 + (i % 2) });
        else await placeOrder(service, { restaurantId: 1 + (i % 2) });
      }
      await service.container.orders.updateRiderLocation({ actor: DEMO.rider1, lat: 37.5, lng: 127 });
      const path = '/api/v2/orders?limit=100&include=restaurant,rider';
      await rest(service, DEMO.customer1, 'GET', path); // warms the authenticator's actor cache
      const { result, statements } = await countStatements(service.container.db, () => rest(service, DEMO.customer1, 'GET', path));
      expect(result.status).toBe(200);
      expect(result.body.results).toHaveLength(count);
      expect(result.body.included.restaurants).toHaveLength(2);
      expect(result.body.included.riders).toEqual([{ id: 1, name: expect.any(String), current_location: { lat: 37.5, lng: 127 } }]);
      return statements.length;
    };
    const five = await statementsFor(5);
    const fifty = await statementsFor(50);
    expect(fifty).toBe(five);
    // The page joins each order's items, restaurant and rider; one more asks whose locations the customer may see.
    expect(five).toBeLessThanOrEqual(2);
  });
});
