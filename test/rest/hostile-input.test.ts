/** Hostile input (SPEC §7): every kind of bad request gets a clear 4xx — never a 5xx, never a partial write. */
import { describe, expect, it } from 'vitest';
import { backend, DEMO, setUpTestService } from '../support/harness.ts';
import { orderIn } from '../support/orders.ts';
import { createBody, rest, storedOrder } from '../support/rest-client.ts';

const service = setUpTestService();

type Case = { name: string; method: string; path: string; body?: string; headers?: Record<string, string>; expected: number };

const counts = async () => {
  const prisma = service.container.db.prisma;
  return {
    orders: await prisma.order.count(),
    events: await prisma.orderEvent.count(),
    payments: await prisma.payment.count(),
    records: await prisma.idempotencyRecord.count(),
  };
};

function cases(id: number): Case[] {
  const key = { 'Idempotency-Key': 'hostile' };
  const pay = `/api/v2/orders/${id}/payment`;
  const anyVersion = { 'If-Match': '*', ...key };
  const v2Create = '/api/v2/orders';
  const json = (value: unknown) => JSON.stringify(value);
  const base = createBody();
  return [
    { name: 'malformed JSON', method: 'POST', path: v2Create, body: '{"restaurant_id": 1,', headers: key, expected: 400 },
    { name: 'JSON that is not an object', method: 'POST', path: v2Create, body: '[1,2,3]', headers: key, expected: 400 },
    { name: 'JSON null', method: 'POST', path: v2Create, body: 'null', headers: key, expected: 400 },
    { name: 'a bare string', method: 'POST', path: v2Create, body: '"hello"', headers: key, expected: 400 },
    { name: 'wrong types', method: 'POST', path: v2Create, body: json({ ...base, restaurant_id: '1' }), headers: key, expected: 400 },
    {
      name: 'wrong nested types',
      method: 'POST',
      path: v2Create,
      body: json({ ...base, items: [{ menu_item_id: 1, quantity: '2' }] }),
      headers: key,
      expected: 400,
    },
    {
      name: 'fractional quantity',
      method: 'POST',
      path: v2Create,
      body: json({ ...base, items: [{ menu_item_id: 1, quantity: 1.5 }] }),
      headers: key,
      expected: 400,
    },
    {
      name: 'quantity 100',
      method: 'POST',
      path: v2Create,
      body: json({ ...base, items: [{ menu_item_id: 1, quantity: 100 }] }),
      headers: key,
      expected: 400,
    },
    { name: 'no items', method: 'POST', path: v2Create, body: json({ ...base, items: [] }), headers: key, expected: 400 },
    {
      name: '51 lines',
      method: 'POST',
      path: v2Create,
      body: json({ ...base, items: Array.from({ length: 51 }, () => ({ menu_item_id: 1, quantity: 1 })) }),
      headers: key,
      expected: 400,
    },
    { name: 'unknown field', method: 'POST', path: v2Create, body: json({ ...base, total_amount: 1 }), headers: key, expected: 400 },
    {
      name: 'unknown nested field',
      method: 'POST',
      path: v2Create,
      body: json({ ...base, items: [{ menu_item_id: 1, quantity: 1, unit_price: 1 }] }),
      headers: key,
      expected: 400,
    },
    {
      name: 'prototype pollution',
      method: 'POST',
      path: v2Create,
      body: '{"__proto__": {"admin": true}, "restaurant_id": 1, "items": [{"menu_item_id": 1, "quantity": 1}], "delivery_address": "x"}',
      headers: key,
      expected: 400,
    },
    {
      name: 'address of 501 characters',
      method: 'POST',
      path: v2Create,
      body: json({ ...base, delivery_address: 'a'.repeat(501) }),
      headers: key,
      expected: 400,
    },
    {
      name: 'blank address',
      method: 'POST',
      path: v2Create,
      body: json({ ...base, delivery_address: '   ' }),
      headers: key,
      expected: 400,
    },
    {
      name: 'huge ids',
      method: 'POST',
      path: v2Create,
      body: json({ ...base, restaurant_id: 99_999_999_999 }),
      headers: key,
      expected: 400,
    },
    {
      name: 'another restaurant’s item',
      method: 'POST',
      path: v2Create,
      body: json(createBody([{ menu_item_id: 5, quantity: 1 }])),
      headers: key,
      expected: 400,
    },
    {
      name: 'an unavailable item',
      method: 'POST',
      path: v2Create,
      body: json(createBody([{ menu_item_id: 4, quantity: 1 }])),
      headers: key,
      expected: 400,
    },
    {
      name: 'the largest order the bounds allow',
      method: 'POST',
      path: v2Create,
      body: json(createBody(Array.from({ length: 50 }, () => ({ menu_item_id: 3, quantity: 99 })))),
      headers: key,
      expected: 201,
    },
    {
      name: '300 KB body',
      method: 'POST',
      path: v2Create,
      body: json({ ...base, delivery_address: 'a'.repeat(300_000) }),
      headers: key,
      expected: 413,
    },
    { name: '300 KB body on an action', method: 'POST', path: pay, body: 'x'.repeat(300_000), headers: anyVersion, expected: 413 },
    {
      name: 'text/plain body',
      method: 'POST',
      path: v2Create,
      body: json(base),
      headers: { ...key, 'Content-Type': 'text/plain' },
      expected: 415,
    },
    {
      name: 'idempotency key of 300 characters',
      method: 'POST',
      path: v2Create,
      body: json(base),
      headers: { 'Idempotency-Key': 'k'.repeat(300) },
      expected: 400,
    },
    {
      name: 'negative amount',
      method: 'POST',
      path: pay,
      body: json({ payment_method: 'card', amount: -1 }),
      headers: anyVersion,
      expected: 400,
    },
    {
      name: 'amount as string',
      method: 'POST',
      path: pay,
      body: json({ payment_method: 'card', amount: '22000' }),
      headers: anyVersion,
      expected: 400,
    },
    {
      name: 'amount as float',
      method: 'POST',
      path: pay,
      body: json({ payment_method: 'card', amount: 22_000.5 }),
      headers: anyVersion,
      expected: 400,
    },
    {
      name: 'amount beyond int',
      method: 'POST',
      path: pay,
      body: json({ payment_method: 'card', amount: 1e300 }),
      headers: anyVersion,
      expected: 400,
    },
    {
      name: 'unknown payment method',
      method: 'POST',
      path: pay,
      body: json({ payment_method: 'bitcoin', amount: 22_000 }),
      headers: anyVersion,
      expected: 400,
    },
    {
      name: 'NUL in the address',
      method: 'POST',
      path: v2Create,
      body: json({ ...base, delivery_address: 'a\u0000b' }),
      headers: key,
      expected: 400,
    },
    {
      name: 'NUL in a reason',
      method: 'POST',
      path: `/api/v2/orders/${id}/cancellation`,
      body: json({ reason: '\u0000' }),
      headers: anyVersion,
      expected: 400,
    },
    {
      name: 'a reason of 501 characters',
      method: 'POST',
      path: `/api/v2/orders/${id}/cancellation`,
      body: json({ reason: 'r'.repeat(501) }),
      headers: anyVersion,
      expected: 400,
    },
    {
      name: 'rider_id as string',
      method: 'POST',
      path: `/api/v2/orders/${id}/rider-assignment`,
      body: json({ rider_id: 'one' }),
      headers: anyVersion,
      expected: 400,
    },
    {
      name: 'garbage If-Match',
      method: 'POST',
      path: `/api/v2/orders/${id}/acceptance`,
      headers: { 'If-Match': '<script>' },
      expected: 400,
    },
    {
      name: 'location out of range',
      method: 'PUT',
      path: '/api/v2/riders/1/location',
      body: json({ lat: 'north', lng: 1 }),
      expected: 400,
    },
    { name: 'v1 malformed JSON', method: 'PUT', path: `/api/v1/orders/${id}`, body: '{status: cancelled}', expected: 400 },
    {
      name: 'v1 status of the wrong type',
      method: 'PATCH',
      path: `/api/v1/orders/${id}`,
      body: json({ status: ['cancelled'] }),
      expected: 400,
    },
    {
      name: 'v1 unknown field',
      method: 'PUT',
      path: `/api/v1/orders/${id}`,
      body: json({ status: 'cancelled', rider_id: 2 }),
      expected: 400,
    },
    { name: 'v1 300 KB body', method: 'POST', path: '/api/v1/orders', body: 'x'.repeat(300_000), expected: 413 },
    {
      name: 'v1 pay with a string amount',
      method: 'POST',
      path: `/api/v1/orders/${id}/pay`,
      body: json({ payment_method: 'card', amount: '1' }),
      expected: 400,
    },
    ...['abc', '-1', '0', '1.5', '1e999', '%00', "1'%20OR%201=1", 'NaN'].flatMap((bad): Case[] => [
      { name: `v2 GET id ${bad}`, method: 'GET', path: `/api/v2/orders/${bad}`, expected: 400 },
      {
        name: `v2 action on id ${bad}`,
        method: 'POST',
        path: `/api/v2/orders/${bad}/acceptance`,
        headers: { 'If-Match': '*' },
        expected: 400,
      },
      { name: `v1 GET id ${bad}`, method: 'GET', path: `/api/v1/orders/${bad}`, expected: 400 },
      { name: `v1 PUT id ${bad}`, method: 'PUT', path: `/api/v1/orders/${bad}`, body: json({ status: 'cancelled' }), expected: 400 },
      { name: `restaurant id ${bad}`, method: 'GET', path: `/api/v2/restaurants/${bad}`, expected: 400 },
      { name: `rider id ${bad}`, method: 'GET', path: `/api/v2/riders/${bad}`, expected: 400 },
    ]),
    // Beyond 2^53 an id cannot even be represented: malformed (400) rather than absent.
    { name: 'v2 GET id beyond 2^53', method: 'GET', path: '/api/v2/orders/9007199254740993', expected: 400 },
    ...['99999999999', '2147483648'].flatMap((big): Case[] => [
      { name: `v2 GET id ${big}`, method: 'GET', path: `/api/v2/orders/${big}`, expected: 404 },
      {
        name: `v2 action on id ${big}`,
        method: 'POST',
        path: `/api/v2/orders/${big}/acceptance`,
        headers: { 'If-Match': '*' },
        expected: 404,
      },
      { name: `v1 PUT id ${big}`, method: 'PUT', path: `/api/v1/orders/${big}`, body: json({ status: 'cancelled' }), expected: 404 },
      { name: `restaurant id ${big}`, method: 'GET', path: `/api/v2/restaurants/${big}`, expected: 404 },
      { name: `rider id ${big}`, method: 'GET', path: `/api/v2/riders/${big}`, expected: 404 },
    ]),
    { name: 'a cursor of garbage', method: 'GET', path: '/api/v2/orders?cursor=%FF%FE', expected: 400 },
    { name: 'a very long query value', method: 'GET', path: `/api/v2/orders?cursor=${'a'.repeat(5000)}`, expected: 400 },
    { name: 'an unknown route', method: 'GET', path: '/api/v2/orders/1/secrets', expected: 404 },
    { name: 'an unknown method', method: 'DELETE', path: `/api/v2/orders/${id}`, expected: 405 },
  ];
}

describe(`REST hostile input (${backend})`, () => {
  it('answers each bad request with the expected 4xx and changes nothing', async () => {
    const order = await orderIn(service, 'pending_payment');
    const before = await counts();
    const failures: string[] = [];
    for (const { name, method, path, body, headers, expected } of cases(order.id)) {
      const actor = path.includes('/riders/1/location') ? DEMO.rider1 : DEMO.customer1;
      const response = await rest(service, actor, method, path, { body, headers });
      if (response.status !== expected) failures.push(`${name}: ${response.status} ${response.text.slice(0, 200)}`);
      if (expected >= 400) {
        expect(response.body, name).toMatchObject({ code: expect.any(String) });
        expect(response.status, name).toBeLessThan(500);
      }
    }
    expect(failures).toEqual([]);
    const after = await counts();
    // The one valid request among the cases is the largest order the bounds allow: 50 lines × 99 × 12,000 KRW.
    expect(after).toEqual({ ...before, orders: before.orders + 1, events: before.events + 1, records: before.records + 1 });
    expect(await storedOrder(service, order.id)).toMatchObject({ status: 'pending_payment', version: 1 });
  });

  it('stores hostile strings verbatim and returns them as data', async () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a template-injection probe, meant literally
    const addresses = ["'; DROP TABLE orders; --", '<script>alert(1)</script>', '\u202e 주소 🍜 \\" \n\t\u0001', '{{7*7}} ${process.env}'];
    for (const [index, address] of addresses.entries()) {
      const response = await rest(service, DEMO.customer1, 'POST', '/api/v2/orders', {
        json: { ...createBody(), delivery_address: address },
        headers: { 'Idempotency-Key': `hostile-${index}` },
      });
      expect(response.status, JSON.stringify(address)).toBe(201);
      const stored = await service.container.db.prisma.order.findUniqueOrThrow({ where: { id: response.body.id } });
      expect(stored.deliveryAddress).toBe(address);
    }
  });

  it('never leaks an internal error: a failure nobody anticipated is a masked 500 problem with a request id', async () => {
    const order = await orderIn(service, 'pending_acceptance');
    const original = service.container.orders.acceptOrder;
    service.container.orders.acceptOrder = async () => {
      throw new Error('connection to 10.0.0.7 refused: secret detail');
    };
    try {
      const response = await rest(service, DEMO.restaurant1, 'POST', `/api/v2/orders/${order.id}/acceptance`, {
        headers: { 'If-Match': '*' },
      });
      expect(response.status).toBe(500);
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(response.text).not.toContain('secret');
      expect(response.text).not.toContain('10.0.0.7');
      expect(response.body).toMatchObject({ status: 500, code: 'INTERNAL_SERVER_ERROR', request_id: response.headers.get('x-request-id') });
    } finally {
      service.container.orders.acceptOrder = original;
    }
  });
});
