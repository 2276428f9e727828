/** REST v2 conditional requests (SPEC §5): If-Match on every action, ETags, If-None-Match, and their precedence. */
import { describe, expect, it } from 'vitest';
import { backend, DEMO, setUpTestService } from '../support/harness.ts';
import { orderIn } from '../support/orders.ts';
import { createBody, etag, rest, storedOrder } from '../support/rest-client.ts';

const service = setUpTestService();

const accept = (id: number, headers: Record<string, string> = {}) =>
  rest(service, DEMO.restaurant1, 'POST', `/api/v2/orders/${id}/acceptance`, { headers });

describe(`REST v2 If-Match (${backend})`, () => {
  it('428 when If-Match is missing (or empty), and nothing changes', async () => {
    const order = await orderIn(service, 'pending_acceptance');
    for (const headers of [{}, { 'If-Match': '' }, { 'If-Match': '   ' }] as Record<string, string>[]) {
      const response = await accept(order.id, headers);
      expect(response.status).toBe(428);
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(response.body).toMatchObject({
        status: 428,
        code: 'PRECONDITION_REQUIRED',
        type: expect.any(String),
        title: expect.any(String),
        detail: expect.any(String),
      });
    }
    expect(await storedOrder(service, order.id)).toMatchObject({ status: 'pending_acceptance', version: 2 });
  });

  it('428 comes before 404 and 403; a body-schema 400 comes before 428', async () => {
    const order = await orderIn(service, 'pending_acceptance');
    expect((await accept(999_999)).status).toBe(428);
    expect((await rest(service, DEMO.restaurant2, 'POST', `/api/v2/orders/${order.id}/acceptance`)).status).toBe(428);
    expect((await rest(service, DEMO.customer1, 'POST', `/api/v2/orders/${order.id}/acceptance`)).status).toBe(428);
    const badBody = await rest(service, DEMO.customer1, 'POST', `/api/v2/orders/${order.id}/cancellation`, { json: { reason: 42 } });
    expect(badBody.status).toBe(400);
    expect(badBody.body.fields).toEqual([{ path: ['reason'], message: expect.any(String) }]);
  });

  it('412 with current_version and current_status when the tag is stale', async () => {
    const order = await orderIn(service, 'pending_acceptance');
    const response = await accept(order.id, { 'If-Match': etag(order.id, 1) });
    expect(response.status).toBe(412);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(response.body).toEqual({
      type: expect.any(String),
      title: expect.any(String),
      status: 412,
      detail: expect.any(String),
      code: 'VERSION_CONFLICT',
      current_version: 2,
      current_status: 'pending_acceptance',
    });
    expect(await storedOrder(service, order.id)).toMatchObject({ status: 'pending_acceptance', version: 2 });
  });

  it('404 and 403 come before 412', async () => {
    const order = await orderIn(service, 'pending_acceptance');
    const invisible = await rest(service, DEMO.restaurant2, 'POST', `/api/v2/orders/${order.id}/acceptance`, {
      headers: { 'If-Match': etag(order.id, 1) },
    });
    expect(invisible.status).toBe(404);
    const notTheirs = await rest(service, DEMO.customer1, 'POST', `/api/v2/orders/${order.id}/acceptance`, {
      headers: { 'If-Match': etag(order.id, 1) },
    });
    expect(notTheirs.status).toBe(403);
    expect(notTheirs.body.code).toBe('FORBIDDEN');
  });

  it('412 comes before 409: a stale tag on an action that is illegal anyway', async () => {
    const order = await orderIn(service, 'preparing');
    expect((await accept(order.id, { 'If-Match': etag(order.id, 1) })).status).toBe(412);
    const illegal = await accept(order.id, { 'If-Match': etag(order.id, 3) });
    expect(illegal.status).toBe(409);
  });

  it('If-Match: * applies the action to whatever version is current', async () => {
    const order = await orderIn(service, 'pending_acceptance');
    const response = await accept(order.id, { 'If-Match': '*' });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ status: 'preparing', version: 3 });
    expect(response.headers.get('etag')).toBe(etag(order.id, 3));
    const again = await accept(order.id, { 'If-Match': '*' });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ code: 'INVALID_TRANSITION', current_status: 'preparing' });
  });

  it('a tag list matches when it holds the current tag, in any position', async () => {
    const order = await orderIn(service, 'pending_acceptance');
    const response = await accept(order.id, { 'If-Match': `${etag(order.id, 2)}, ${etag(order.id, 1)}, ${etag(order.id, 7)}` });
    expect(response.status).toBe(200);
    expect(response.body.version).toBe(3);
    const other = await orderIn(service, 'pending_acceptance');
    const lowFirst = await accept(other.id, { 'If-Match': `"something-else",${etag(other.id, 9)} ,${etag(other.id, 2)}` });
    expect(lowFirst.status).toBe(200);
  });

  it('a tag list without the current tag is 412', async () => {
    const order = await orderIn(service, 'pending_acceptance');
    const response = await accept(order.id, { 'If-Match': `${etag(order.id, 1)}, ${etag(order.id, 3)}, "xyz"` });
    expect(response.status).toBe(412);
    expect(response.body).toMatchObject({ current_version: 2, current_status: 'pending_acceptance' });
  });

  it("another order's tag never matches, even at the same version", async () => {
    const first = await orderIn(service, 'pending_acceptance');
    const second = await orderIn(service, 'pending_acceptance');
    const response = await accept(second.id, { 'If-Match': etag(first.id, 2) });
    expect(response.status).toBe(412);
    expect(await storedOrder(service, second.id)).toMatchObject({ version: 2 });
  });

  it('a weak tag never matches (strong comparison), alone or in a list', async () => {
    const order = await orderIn(service, 'pending_acceptance');
    expect((await accept(order.id, { 'If-Match': `W/${etag(order.id, 2)}` })).status).toBe(412);
    expect((await accept(order.id, { 'If-Match': `W/${etag(order.id, 2)}, ${etag(order.id, 1)}` })).status).toBe(412);
    expect(await storedOrder(service, order.id)).toMatchObject({ version: 2 });
  });

  it('a malformed If-Match is a 400 header error', async () => {
    const order = await orderIn(service, 'pending_acceptance');
    for (const value of ['o1-v2', '"unterminated', '*, "o1-v2"', ',']) {
      const response = await accept(order.id, { 'If-Match': value });
      expect(response.status, value).toBe(400);
      expect(response.body.fields).toEqual([{ path: ['If-Match'], message: expect.any(String) }]);
    }
  });

  it('409 names the current status and what this actor may do, in v2 path spelling', async () => {
    const order = await orderIn(service, 'pending_acceptance');
    const response = await rest(service, DEMO.restaurant1, 'POST', `/api/v2/orders/${order.id}/preparation-complete`, {
      headers: { 'If-Match': etag(order.id, 2) },
    });
    expect(response.status).toBe(409);
    expect(response.body).toMatchObject({
      status: 409,
      code: 'INVALID_TRANSITION',
      current_status: 'pending_acceptance',
      allowed_actions: ['acceptance', 'rejection'],
    });
    const customer = await rest(service, DEMO.customer1, 'POST', `/api/v2/orders/${order.id}/payment`, {
      json: { payment_method: 'card', amount: order.totalAmount },
      headers: { 'If-Match': '*', 'Idempotency-Key': 'pay-again' },
    });
    expect(customer.status).toBe(409);
    expect(customer.body.allowed_actions).toEqual(['cancellation']);
  });

  it('of two concurrent actions with the same tag exactly one succeeds; the other gets 412', async () => {
    for (let round = 0; round < 5; round++) {
      const order = await orderIn(service, 'pending_acceptance');
      const tag = { 'If-Match': etag(order.id, 2) };
      const [accepted, rejected] = await Promise.all([
        accept(order.id, tag),
        rest(service, DEMO.restaurant1, 'POST', `/api/v2/orders/${order.id}/rejection`, { headers: tag }),
      ]);
      const statuses = [accepted.status, rejected.status].sort();
      expect(statuses).toEqual([200, 412]);
      const winner = accepted.status === 200 ? accepted : rejected;
      expect(await storedOrder(service, order.id)).toMatchObject({ status: winner.body.status, version: 3 });
    }
  });
});

describe(`REST v2 ETag and If-None-Match (${backend})`, () => {
  it('gives the same tag for the same version in the 201, the GET and the action 200', async () => {
    const created = await rest(service, DEMO.customer1, 'POST', '/api/v2/orders', {
      json: createBody(),
      headers: { 'Idempotency-Key': 'etag-1' },
    });
    const id = created.body.id as number;
    const read1 = await rest(service, DEMO.customer1, 'GET', `/api/v2/orders/${id}`);
    expect(created.headers.get('etag')).toBe(read1.headers.get('etag'));
    expect(read1.headers.get('etag')).toBe(`"o${id}-v1"`);
    const paid = await rest(service, DEMO.customer1, 'POST', `/api/v2/orders/${id}/payment`, {
      json: { payment_method: 'card', amount: 22_000 },
      headers: { 'If-Match': read1.headers.get('etag')!, 'Idempotency-Key': 'etag-pay' },
    });
    const read2 = await rest(service, DEMO.restaurant1, 'GET', `/api/v2/orders/${id}`);
    expect(paid.headers.get('etag')).toBe(`"o${id}-v2"`);
    expect(read2.headers.get('etag')).toBe(paid.headers.get('etag'));
  });

  it('304 with the ETag and no body for the current tag (weak comparison, lists and * too); 200 for a stale one', async () => {
    const order = await orderIn(service, 'pending_acceptance');
    const current = etag(order.id, 2);
    for (const value of [current, `W/${current}`, `${etag(order.id, 1)}, ${current}`, '*']) {
      const response = await rest(service, DEMO.customer1, 'GET', `/api/v2/orders/${order.id}`, { headers: { 'If-None-Match': value } });
      expect(response.status, value).toBe(304);
      expect(response.headers.get('etag')).toBe(current);
      expect(response.text).toBe('');
    }
    const stale = await rest(service, DEMO.customer1, 'GET', `/api/v2/orders/${order.id}`, {
      headers: { 'If-None-Match': etag(order.id, 1) },
    });
    expect(stale.status).toBe(200);
    expect(stale.headers.get('etag')).toBe(current);
  });

  it('a response with include carries no ETag and is never 304', async () => {
    const order = await orderIn(service, 'pending_acceptance');
    const response = await rest(service, DEMO.customer1, 'GET', `/api/v2/orders/${order.id}?include=restaurant`, {
      headers: { 'If-None-Match': etag(order.id, 2) },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('etag')).toBeNull();
    expect(response.body.included.restaurants).toEqual([{ id: 1, name: expect.any(String), address: expect.any(String) }]);
  });

  it('an order the actor cannot see is 404 for reads too, If-None-Match or not', async () => {
    const order = await orderIn(service, 'pending_acceptance');
    for (const actor of [DEMO.customer2, DEMO.restaurant2, DEMO.rider1]) {
      const response = await rest(service, actor, 'GET', `/api/v2/orders/${order.id}`, { headers: { 'If-None-Match': '*' } });
      expect(response.status).toBe(404);
      expect(response.body.code).toBe('NOT_FOUND');
    }
  });
});
