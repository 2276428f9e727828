/** REST v2: an order's whole life over HTTP, each step's status, ETag and version; and the side paths. */
import { describe, expect, it } from 'vitest';
import { backend, DEMO, setUpTestService } from '../support/harness.ts';
import { orderIn } from '../support/orders.ts';
import { createBody, etag, rest, storedOrder } from '../support/rest-client.ts';

const service = setUpTestService();

describe(`REST v2 life cycle (${backend})`, () => {
  it('walks an order from creation to delivery, each step with its status, ETag and version', async () => {
    const created = await rest(service, DEMO.customer1, 'POST', '/api/v2/orders', {
      json: createBody(),
      headers: { 'Idempotency-Key': 'create-1' },
    });
    expect(created.status).toBe(201);
    const id = created.body.id as number;
    expect(created.headers.get('location')).toBe(`/api/v2/orders/${id}`);
    expect(created.headers.get('etag')).toBe(etag(id, 1));
    expect(created.headers.get('idempotent-replayed')).toBeNull();
    expect(created.body).toEqual({
      id,
      status: 'pending_payment',
      version: 1,
      total_amount: 22_000,
      items: [{ menu_item_id: 1, name: expect.any(String), quantity: 2, unit_price: 11_000, line_total: 22_000 }],
      restaurant_id: 1,
      rider_id: null,
      customer_id: 1,
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      updated_at: expect.stringMatching(/Z$/),
    });

    const steps = [
      {
        actor: DEMO.customer1,
        path: 'payment',
        json: { payment_method: 'card', amount: 22_000 },
        key: 'pay-1',
        status: 'pending_acceptance',
      },
      { actor: DEMO.restaurant1, path: 'acceptance', status: 'preparing' },
      { actor: DEMO.rider1, path: 'rider-assignment', status: 'preparing', riderId: 1 },
      { actor: DEMO.restaurant1, path: 'preparation-complete', status: 'ready_for_pickup' },
      { actor: DEMO.rider1, path: 'pickup', status: 'in_transit' },
      { actor: DEMO.rider1, path: 'delivery', status: 'delivered' },
    ];
    let version = 1;
    for (const step of steps) {
      const headers: Record<string, string> = { 'If-Match': etag(id, version) };
      if (step.key) headers['Idempotency-Key'] = step.key;
      const response = await rest(service, step.actor, 'POST', `/api/v2/orders/${id}/${step.path}`, { json: step.json, headers });
      expect(response.status, `${step.path}: ${response.text}`).toBe(200);
      version += 1;
      expect(response.body).toMatchObject({ id, status: step.status, version, rider_id: step.riderId ?? (version > 3 ? 1 : null) });
      expect(response.headers.get('etag')).toBe(etag(id, version));
      const read = await rest(service, DEMO.admin, 'GET', `/api/v2/orders/${id}`);
      expect(read.headers.get('etag')).toBe(etag(id, version));
      expect(read.body).toEqual(response.body);
      expect(await storedOrder(service, id)).toEqual({ status: step.status, version, riderId: version > 3 ? 1 : null });
    }
    expect(version).toBe(7);
    const payments = await service.container.db.prisma.payment.findMany({ where: { orderId: id } });
    expect(payments.map((p) => p.status)).toEqual(['succeeded']);
  });

  it('cancels a paid order with a reason and records one refund', async () => {
    const order = await orderIn(service, 'pending_acceptance');
    const response = await rest(service, DEMO.customer1, 'POST', `/api/v2/orders/${order.id}/cancellation`, {
      json: { reason: 'changed my mind' },
      headers: { 'If-Match': etag(order.id, 2) },
    });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ status: 'cancelled', version: 3 });
    expect(await service.container.db.prisma.refund.count({ where: { orderId: order.id } })).toBe(1);
  });

  it('rejects without a body (reason optional), even with Content-Type: application/json and no body', async () => {
    const order = await orderIn(service, 'pending_acceptance');
    const response = await rest(service, DEMO.restaurant1, 'POST', `/api/v2/orders/${order.id}/rejection`, {
      headers: { 'If-Match': etag(order.id, 2), 'Content-Type': 'application/json' },
    });
    expect(response.status, response.text).toBe(200);
    expect(response.body.status).toBe('rejected');
  });

  it('a declined payment is a successful action that ends in payment_failed', async () => {
    const order = await orderIn(service, 'pending_payment');
    const response = await rest(service, DEMO.customer1, 'POST', `/api/v2/orders/${order.id}/payment`, {
      json: { payment_method: 'test_decline', amount: order.totalAmount },
      headers: { 'If-Match': etag(order.id, 1), 'Idempotency-Key': 'decline-1' },
    });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ status: 'payment_failed', version: 2 });
    expect(await service.container.db.prisma.payment.findMany({ where: { orderId: order.id }, select: { status: true } })).toEqual([
      { status: 'declined' },
    ]);
  });

  it('an admin assigns a named rider; a rider must not name one; an admin must', async () => {
    const order = await orderIn(service, 'preparing');
    const byRider = await rest(service, DEMO.rider1, 'POST', `/api/v2/orders/${order.id}/rider-assignment`, {
      json: { rider_id: 1 },
      headers: { 'If-Match': '*' },
    });
    expect(byRider.status).toBe(400);
    const adminWithout = await rest(service, DEMO.admin, 'POST', `/api/v2/orders/${order.id}/rider-assignment`, {
      headers: { 'If-Match': '*' },
    });
    expect(adminWithout.status).toBe(400);
    expect(adminWithout.body.fields).toEqual([{ path: ['rider_id'], message: expect.any(String) }]);
    const byAdmin = await rest(service, DEMO.admin, 'POST', `/api/v2/orders/${order.id}/rider-assignment`, {
      json: { rider_id: 2 },
      headers: { 'If-Match': etag(order.id, 3) },
    });
    expect(byAdmin.status).toBe(200);
    expect(byAdmin.body).toMatchObject({ rider_id: 2, version: 4, status: 'preparing' });
  });

  it('a second rider claim is an illegal transition (409), never 403/404', async () => {
    const order = await orderIn(service, 'preparing', { withRider: true });
    const response = await rest(service, DEMO.rider2, 'POST', `/api/v2/orders/${order.id}/rider-assignment`, {
      headers: { 'If-Match': '*' },
    });
    expect(response.status).toBe(409);
    expect(response.body).toMatchObject({ code: 'INVALID_TRANSITION', current_status: 'preparing', allowed_actions: [] });
  });

  it('answers 401 problem+json with UNAUTHENTICATED without a token, with a bad one, and for an unknown actor', async () => {
    const order = await orderIn(service, 'pending_payment');
    const unknownActor = `Bearer ${await service.token({ role: 'customer', id: 999 })}`;
    for (const authorization of [undefined, 'Bearer nonsense', 'Basic abc', unknownActor]) {
      const headers: Record<string, string> = authorization ? { authorization } : {};
      for (const [method, path] of [
        ['GET', '/api/v2/orders'],
        ['GET', `/api/v2/orders/${order.id}`],
        ['POST', `/api/v2/orders/${order.id}/cancellation`],
      ] as const) {
        const response = await rest(service, null, method, path, { headers });
        expect(response.status, `${method} ${path} ${authorization}`).toBe(401);
        expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
        expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
        expect(response.body).toMatchObject({
          status: 401,
          code: 'UNAUTHENTICATED',
          type: expect.any(String),
          title: expect.any(String),
          detail: expect.any(String),
        });
      }
    }
    expect(await storedOrder(service, order.id)).toMatchObject({ status: 'pending_payment', version: 1 });
  });

  it('reads restaurants with their menu, riders with their location only where visible, and takes location reports', async () => {
    const restaurants = await rest(service, DEMO.rider1, 'GET', '/api/v2/restaurants?limit=1');
    expect(restaurants.status).toBe(200);
    expect(restaurants.body.results).toEqual([{ id: 1, name: expect.any(String), address: expect.any(String) }]);
    const next = await rest(service, DEMO.rider1, 'GET', `/api/v2/restaurants?limit=1&cursor=${restaurants.body.next_cursor}`);
    expect(next.body.results.map((r: { id: number }) => r.id)).toEqual([2]);
    const one = await rest(service, DEMO.customer1, 'GET', '/api/v2/restaurants/1');
    expect(one.body.menu).toContainEqual({ id: 4, name: expect.any(String), price: expect.any(Number), available: false });
    expect((await rest(service, DEMO.customer1, 'GET', '/api/v2/restaurants/999')).status).toBe(404);

    expect((await rest(service, DEMO.rider1, 'PUT', '/api/v2/riders/1/location', { json: { lat: 37.55, lng: 126.97 } })).body).toEqual({
      id: 1,
      name: expect.any(String),
      current_location: { lat: 37.55, lng: 126.97 },
    });
    expect((await rest(service, DEMO.rider1, 'PUT', '/api/v2/riders/2/location', { json: { lat: 1, lng: 1 } })).status).toBe(403);
    expect((await rest(service, DEMO.admin, 'PUT', '/api/v2/riders/1/location', { json: { lat: 1, lng: 1 } })).status).toBe(403);
    expect((await rest(service, DEMO.customer1, 'PUT', '/api/v2/riders/1/location', { json: { lat: 1, lng: 1 } })).status).toBe(403);
    expect((await rest(service, DEMO.rider1, 'PUT', '/api/v2/riders/999/location', { json: { lat: 1, lng: 1 } })).status).toBe(404);
    expect((await rest(service, DEMO.rider1, 'PUT', '/api/v2/riders/1/location', { json: { lat: 91, lng: 1 } })).status).toBe(400);

    const location = { lat: 37.55, lng: 126.97 };
    const seen = async (actor: (typeof DEMO)[keyof typeof DEMO]) =>
      (await rest(service, actor, 'GET', '/api/v2/riders/1')).body.current_location;
    expect(await seen(DEMO.rider1)).toEqual(location);
    expect(await seen(DEMO.admin)).toEqual(location);
    expect(await seen(DEMO.customer1)).toBeNull();
    expect(await seen(DEMO.rider2)).toBeNull();
    await orderIn(service, 'preparing', { withRider: true });
    expect(await seen(DEMO.customer1)).toEqual(location);
    expect(await seen(DEMO.restaurant1)).toEqual(location);
    expect(await seen(DEMO.customer2)).toBeNull();
    expect(await seen(DEMO.restaurant2)).toBeNull();
    expect((await rest(service, DEMO.customer1, 'GET', '/api/v2/riders/999')).status).toBe(404);
  });
});
