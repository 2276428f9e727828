/**
 * Path ids (issue 12): decimal digits without a leading zero, sign or space. `z.coerce.number` read `0x10` as 16,
 * `1e3` as 1000 and ` 1`, `01`, `+1` as 1, so such a path answered another resource than the one it names.
 */
import { describe, expect, it } from 'vitest';
import { backend, DEMO, setUpTestService } from '../support/harness.ts';
import { orderIn } from '../support/orders.ts';
import { rest, storedOrder } from '../support/rest-client.ts';

const service = setUpTestService();

/** Spellings that a number coercion reads as `id` but that are not `id` written as a path id. */
const lookalikes = (id: number) => [`0x${id.toString(16)}`, `${id}e0`, `${id}.0`, `0${id}`, `+${id}`, `%20${id}`, `${id}%20`];

describe(`REST path ids (${backend})`, () => {
  it('are 400 unless written as plain digits, in v1 and v2, for reads and actions alike', async () => {
    const order = await orderIn(service, 'pending_acceptance');
    const answered: string[] = [];
    for (const id of lookalikes(order.id)) {
      for (const [actor, method, path, options] of [
        [DEMO.customer1, 'GET', `/api/v2/orders/${id}`, {}],
        [DEMO.customer1, 'GET', `/api/v1/orders/${id}`, {}],
        [DEMO.restaurant1, 'POST', `/api/v2/orders/${id}/acceptance`, { headers: { 'If-Match': '*' } }],
        [DEMO.restaurant1, 'PUT', `/api/v1/orders/${id}`, { json: { status: 'preparing' } }],
        [DEMO.customer1, 'GET', `/api/v2/restaurants/${id.replace(String(order.id), '1')}`, {}],
        [DEMO.customer1, 'GET', `/api/v2/riders/${id.replace(String(order.id), '1')}`, {}],
      ] as const) {
        const response = await rest(service, actor, method, path, options);
        if (response.status !== 400) answered.push(`${method} ${path}: ${response.status}`);
        else expect(response.body, path).toMatchObject({ code: 'VALIDATION_FAILED' });
      }
    }
    expect(answered).toEqual([]);
    expect(await storedOrder(service, order.id)).toMatchObject({ status: 'pending_acceptance', version: 2 });
  });

  it('plain digits still name the order', async () => {
    const order = await orderIn(service, 'pending_acceptance');
    expect((await rest(service, DEMO.customer1, 'GET', `/api/v2/orders/${order.id}`)).status).toBe(200);
    expect((await rest(service, DEMO.customer1, 'GET', `/api/v1/orders/${order.id}`)).status).toBe(200);
  });
});
