/** REST v1 (SPEC §6): legacy status PUT/PATCH without If-Match yet without lost updates, pay, create, deprecation headers. */
import { describe, expect, it } from 'vitest';
import { backend, DEMO, setUpTestService } from '../support/harness.ts';
import { orderIn } from '../support/orders.ts';
import { createBody, type RestResponse, rest, storedOrder } from '../support/rest-client.ts';

const service = setUpTestService();

const put = (actor: (typeof DEMO)[keyof typeof DEMO], id: number | string, status: unknown, method = 'PUT') =>
  rest(service, actor, method, `/api/v1/orders/${id}`, { json: { status } });

function expectDeprecated(response: RestResponse, successor: string) {
  expect(response.headers.get('deprecation')).toMatch(/^@\d+$/);
  expect(new Date(response.headers.get('sunset')!).getTime()).toBeGreaterThan(Date.now());
  expect(response.headers.get('link')).toBe(`<${successor}>; rel="successor-version"`);
}

describe(`REST v1 legacy status changes (${backend})`, () => {
  it('the race: of a concurrent customer cancel and restaurant accept, exactly one 200, and the stored state is what it said', async () => {
    const orders = [];
    for (let i = 0; i < 30; i++) orders.push(await orderIn(service, 'pending_acceptance'));
    const pairs = await Promise.all(
      orders.map((order) => Promise.all([put(DEMO.customer1, order.id, 'cancelled'), put(DEMO.restaurant1, order.id, 'preparing')])),
    );
    for (const [index, [cancel, accept]] of pairs.entries()) {
      const order = orders[index]!;
      const ok = [cancel, accept].filter((response) => response.status === 200);
      const refused = [cancel, accept].filter((response) => response.status !== 200);
      expect(ok, `order ${order.id}: ${cancel.status} ${accept.status}`).toHaveLength(1);
      expect(refused[0]!.status).toBe(409);
      const stored = await storedOrder(service, order.id);
      expect(stored.status).toBe(ok[0]!.body.status);
      expect(stored.version).toBe(3);
      expect(ok[0]!.body.version).toBe(3);
      expect(refused[0]!.body).toMatchObject({ error: expect.any(String), current_status: stored.status });
    }
  });

  it('two identical PUTs racing both hold: both 200, the action applied once', async () => {
    for (let round = 0; round < 10; round++) {
      const order = await orderIn(service, 'pending_acceptance');
      const responses = await Promise.all([put(DEMO.restaurant1, order.id, 'preparing'), put(DEMO.restaurant1, order.id, 'preparing')]);
      expect(responses.map((response) => response.status)).toEqual([200, 200]);
      for (const response of responses) expect(response.body).toMatchObject({ status: 'preparing', version: 3 });
      expect(await storedOrder(service, order.id)).toMatchObject({ status: 'preparing', version: 3 });
    }
  });

  it('maps each target to its action', async () => {
    const order = await orderIn(service, 'pending_acceptance');
    const path: [(typeof DEMO)[keyof typeof DEMO], string][] = [
      [DEMO.restaurant1, 'preparing'],
      [DEMO.restaurant1, 'ready_for_pickup'],
    ];
    for (const [actor, status] of path) expect((await put(actor, order.id, status)).body).toMatchObject({ status });
    await service.container.orders.assignRider({ actor: DEMO.rider1, orderId: order.id, expectedVersion: null });
    expect((await put(DEMO.rider1, order.id, 'in_transit')).body).toMatchObject({ status: 'in_transit', rider_id: 1 });
    const delivered = await put(DEMO.rider1, order.id, 'delivered', 'PATCH');
    expect(delivered.status).toBe(200);
    expect(delivered.body).toMatchObject({ status: 'delivered', version: 7 });
    const rejected = await orderIn(service, 'pending_acceptance');
    expect((await put(DEMO.restaurant1, rejected.id, 'rejected', 'PATCH')).body).toMatchObject({ status: 'rejected', version: 3 });
  });

  it('a target equal to the current status is 200 with the order unchanged, when the actor may run that action', async () => {
    const order = await orderIn(service, 'preparing');
    const same = await put(DEMO.restaurant1, order.id, 'preparing');
    expect(same.status).toBe(200);
    expect(same.body).toMatchObject({ status: 'preparing', version: 3 });
    expect(await storedOrder(service, order.id)).toMatchObject({ version: 3 });
    const cancelled = await orderIn(service, 'cancelled');
    expect((await put(DEMO.customer1, cancelled.id, 'cancelled')).body).toMatchObject({ status: 'cancelled', version: 3 });
    expect((await put(DEMO.admin, cancelled.id, 'cancelled')).status).toBe(200);
    const notTheirs = await put(DEMO.restaurant1, cancelled.id, 'cancelled');
    expect(notTheirs.status).toBe(403);
    expect(notTheirs.body).toMatchObject({ error: expect.any(String), code: 'FORBIDDEN' });
  });

  it('targets with no action, unknown targets and wrong shapes are 400', async () => {
    const order = await orderIn(service, 'pending_acceptance');
    for (const status of ['pending_payment', 'pending_acceptance', 'payment_failed', 'eaten', '', 'PREPARING', 7, null]) {
      const response = await put(DEMO.admin, order.id, status);
      expect(response.status, String(status)).toBe(400);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      expect(response.body).toMatchObject({ error: expect.any(String), code: 'VALIDATION_FAILED' });
    }
    const extra = await rest(service, DEMO.admin, 'PUT', `/api/v1/orders/${order.id}`, { json: { status: 'preparing', version: 2 } });
    expect(extra.status).toBe(400);
    expect(await storedOrder(service, order.id)).toMatchObject({ status: 'pending_acceptance', version: 2 });
  });

  it('a target not reachable from the current status is 409 with the current status', async () => {
    const order = await orderIn(service, 'pending_acceptance');
    const response = await put(DEMO.restaurant1, order.id, 'ready_for_pickup');
    expect(response.status).toBe(409);
    expect(response.body).toEqual({ error: expect.any(String), code: 'INVALID_TRANSITION', current_status: 'pending_acceptance' });
    expect((await put(DEMO.admin, order.id, 'delivered')).status).toBe(409);
  });

  it('404 for an order the actor cannot see, 403 for an action not its own', async () => {
    const order = await orderIn(service, 'pending_acceptance');
    expect((await put(DEMO.customer2, order.id, 'cancelled')).status).toBe(404);
    expect((await put(DEMO.restaurant2, order.id, 'preparing')).status).toBe(404);
    expect((await put(DEMO.customer1, order.id, 'preparing')).status).toBe(403);
    expect((await put(DEMO.customer1, 999_999, 'cancelled')).status).toBe(404);
  });
});

describe(`REST v1 orders and payments (${backend})`, () => {
  it('POST /orders takes the v2 body and answers 201 with the flat order; no key needed, a key is honoured', async () => {
    const first = await rest(service, DEMO.customer1, 'POST', '/api/v1/orders', { json: createBody() });
    const second = await rest(service, DEMO.customer1, 'POST', '/api/v1/orders', { json: createBody() });
    expect(first.status).toBe(201);
    expect(second.body.id).not.toBe(first.body.id);
    expect(first.headers.get('location')).toBe(`/api/v1/orders/${first.body.id}`);
    expect(Object.keys(first.body).sort()).toEqual(
      ['id', 'status', 'version', 'total_amount', 'items', 'restaurant_id', 'rider_id', 'customer_id', 'created_at', 'updated_at'].sort(),
    );
    const v2 = await rest(service, DEMO.customer1, 'GET', `/api/v2/orders/${first.body.id}`);
    expect(first.body).toEqual(v2.body);
    const keyed = await rest(service, DEMO.customer1, 'POST', '/api/v1/orders', {
      json: createBody(),
      headers: { 'Idempotency-Key': 'v1-create' },
    });
    const again = await rest(service, DEMO.customer1, 'POST', '/api/v1/orders', {
      json: createBody(),
      headers: { 'Idempotency-Key': 'v1-create' },
    });
    expect(again.body).toEqual(keyed.body);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await service.container.db.prisma.order.count()).toBe(3);
  });

  it('POST /orders/{id}/pay pays; with a key it replays, without one it is simply executed', async () => {
    const order = await orderIn(service, 'pending_payment');
    const first = await rest(service, DEMO.customer1, 'POST', `/api/v1/orders/${order.id}/pay`, {
      json: { payment_method: 'card', amount: 22_000 },
      headers: { 'Idempotency-Key': 'v1-pay' },
    });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ status: 'pending_acceptance', version: 2 });
    const replay = await rest(service, DEMO.customer1, 'POST', `/api/v1/orders/${order.id}/pay`, {
      json: { payment_method: 'card', amount: 22_000 },
      headers: { 'Idempotency-Key': 'v1-pay' },
    });
    expect(replay.body).toEqual(first.body);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    const unkeyed = await rest(service, DEMO.customer1, 'POST', `/api/v1/orders/${order.id}/pay`, {
      json: { payment_method: 'card', amount: 22_000 },
    });
    expect(unkeyed.status).toBe(409);
    expect(unkeyed.body).toMatchObject({ current_status: 'pending_acceptance' });
    const other = await orderIn(service, 'pending_payment');
    const wrong = await rest(service, DEMO.customer1, 'POST', `/api/v1/orders/${other.id}/pay`, {
      json: { payment_method: 'card', amount: 1 },
    });
    expect(wrong.status).toBe(400);
    expect(wrong.body.fields).toEqual([{ path: ['amount'], message: expect.any(String) }]);
    const declined = await rest(service, DEMO.customer1, 'POST', `/api/v1/orders/${other.id}/pay`, {
      json: { payment_method: 'test_decline', amount: 22_000 },
    });
    expect(declined.body).toMatchObject({ status: 'payment_failed' });
    const payments = await service.container.db.prisma.payment.findMany({
      orderBy: { id: 'asc' },
      select: { orderId: true, status: true },
    });
    expect(payments).toEqual([
      { orderId: order.id, status: 'succeeded' },
      { orderId: other.id, status: 'declined' },
    ]);
  });

  it('GET /orders lists visible orders newest first; GET /orders/{id} reads one', async () => {
    const a = await orderIn(service, 'pending_payment');
    const b = await orderIn(service, 'pending_acceptance');
    await orderIn(service, 'pending_payment', { customer: DEMO.customer2 });
    const list = await rest(service, DEMO.customer1, 'GET', '/api/v1/orders');
    expect(list.status).toBe(200);
    expect(list.body.orders.map((o: { id: number }) => o.id)).toEqual([b.id, a.id]);
    expect(list.body.next_cursor).toBeNull();
    const filtered = await rest(service, DEMO.customer1, 'GET', '/api/v1/orders?status=pending_acceptance');
    expect(filtered.body.orders.map((o: { id: number }) => o.id)).toEqual([b.id]);
    const one = await rest(service, DEMO.customer1, 'GET', `/api/v1/orders/${a.id}`);
    expect(one.body).toMatchObject({ id: a.id, restaurant_id: 1, rider_id: null, status: 'pending_payment' });
    expect(one.headers.get('etag')).toBeNull();
    expect((await rest(service, DEMO.customer2, 'GET', `/api/v1/orders/${a.id}`)).status).toBe(404);
  });
});

describe(`REST v1 deprecation headers (${backend})`, () => {
  it('are on every v1 response, errors included, naming the v2 successor', async () => {
    const order = await orderIn(service, 'pending_acceptance');
    const id = order.id;
    const cases: [RestResponse, string][] = [
      [await rest(service, DEMO.customer1, 'GET', '/api/v1/orders'), '/api/v2/orders'],
      [await rest(service, DEMO.customer1, 'GET', `/api/v1/orders/${id}`), `/api/v2/orders/${id}`],
      [await rest(service, null, 'GET', `/api/v1/orders/${id}`), `/api/v2/orders/${id}`],
      [await rest(service, DEMO.customer2, 'GET', `/api/v1/orders/${id}`), `/api/v2/orders/${id}`],
      [await put(DEMO.restaurant1, id, 'ready_for_pickup'), `/api/v2/orders/${id}`],
      [await put(DEMO.restaurant1, id, 'bogus'), `/api/v2/orders/${id}`],
      [await rest(service, DEMO.customer1, 'POST', `/api/v1/orders/${id}/pay`, { json: {} }), `/api/v2/orders/${id}/payment`],
      [await rest(service, DEMO.customer1, 'POST', '/api/v1/orders', { body: '{"broken' }), '/api/v2/orders'],
      [await rest(service, DEMO.customer1, 'GET', '/api/v1/nothing-here'), '/api/v2/nothing-here'],
      [await rest(service, DEMO.customer1, 'PUT', `/api/v1/orders/${id}`, { body: 'x'.repeat(300_000) }), `/api/v2/orders/${id}`],
    ];
    expect(cases.map(([response]) => response.status)).toEqual([200, 200, 401, 404, 409, 400, 400, 400, 404, 413]);
    for (const [response, successor] of cases) expectDeprecated(response, successor);
    for (const [response] of cases.filter(([r]) => r.status >= 400)) {
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      expect(response.body).toMatchObject({ error: expect.any(String), code: expect.any(String) });
    }
  });

  it('v2 responses carry none of them', async () => {
    const response = await rest(service, DEMO.customer1, 'GET', '/api/v2/orders');
    expect(response.headers.get('deprecation')).toBeNull();
    expect(response.headers.get('sunset')).toBeNull();
  });
});
