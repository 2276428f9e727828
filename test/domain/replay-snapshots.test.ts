/**
 * Idempotency records outlive a deploy: a stored outcome written under another shape (a renamed column, say) must
 * not be replayed as if it were this release's. It is read back through its schema; an unreadable one is replayed
 * as the order now is, never as a body with fields missing.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { backend, clearRedis, DEMO, setUpTestService } from '../support/harness.ts';
import { placeOrder } from '../support/orders.ts';

const service = setUpTestService({}, { resetEach: false });

async function pay(orderId: number, key: string, amount: number) {
  const response = await service.app.request(`/api/v2/orders/${orderId}/payment`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${await service.token(DEMO.customer1)}`,
      'content-type': 'application/json',
      'idempotency-key': key,
      'if-match': `"o${orderId}-v1"`,
    },
    body: JSON.stringify({ payment_method: 'card', amount }),
  });
  return {
    status: response.status,
    replayed: response.headers.get('idempotent-replayed'),
    body: (await response.json()) as Record<string, unknown>,
  };
}

describe(`replaying a stored outcome of another shape (${backend})`, () => {
  it('replays a readable outcome as it was, and one it cannot read as the order now is', async () => {
    const order = await placeOrder(service);
    const key = randomUUID();
    const first = await pay(order.id, key, order.totalAmount);
    expect(first.status).toBe(200);
    const replay = await pay(order.id, key, order.totalAmount);
    expect(replay).toEqual({ ...first, replayed: 'true' });

    // As an older release would have stored it: `totalAmount` was called `total`.
    await service.container.db.prisma.$executeRawUnsafe(
      `UPDATE idempotency_records
       SET outcome = jsonb_set(outcome, '{order}', ((outcome->'order') - 'totalAmount') || jsonb_build_object('total', outcome->'order'->'totalAmount'))
       WHERE key = $1`,
      key,
    );
    await clearRedis(service.container); // the replay cache holds the outcome too
    const old = await pay(order.id, key, order.totalAmount);
    expect(old.status).toBe(200);
    expect(old.replayed).toBe('true');
    expect(old.body).toMatchObject({ id: order.id, status: 'pending_acceptance', version: 2, total_amount: order.totalAmount });
  });
});
