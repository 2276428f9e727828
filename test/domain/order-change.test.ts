/**
 * The single-statement action write (src/domain/orders/order-change.ts): all or nothing. When the version has moved
 * on, nothing is written; when any part is refused by the database (here: an idempotency key recorded meanwhile),
 * the order, its history and its payment stay exactly as they were.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isKeyConflict } from '../../src/domain/idempotency.ts';
import { commitOrderChange, type OrderChange } from '../../src/domain/orders/order-change.ts';
import { backend, DEMO, setUpTestService } from '../support/harness.ts';
import { orderIn } from '../support/orders.ts';

const service = setUpTestService();

const prisma = () => service.container.db.prisma;

/** What a paid order's state is made of: the row, its history and its payments. */
async function stateOf(orderId: number) {
  const [order, events, payments, refunds] = await Promise.all([
    prisma().order.findUniqueOrThrow({ where: { id: orderId } }),
    prisma().orderEvent.count({ where: { orderId } }),
    prisma().payment.count({ where: { orderId } }),
    prisma().refund.count({ where: { orderId } }),
  ]);
  return { status: order.status, version: order.version, updatedAt: order.updatedAt, events, payments, refunds };
}

/** A cancellation of a paid order by its customer, with a refund and an idempotency record. */
function cancellation(orderId: number, expectedVersion: number, key: string): OrderChange {
  return {
    orderId,
    expectedVersion,
    action: 'cancel',
    actor: DEMO.customer1,
    fromStatus: 'pending_acceptance',
    toStatus: 'cancelled',
    riderId: null,
    assignedRiderId: null,
    reason: 'test',
    at: new Date(),
    snapshot: { id: orderId, status: 'cancelled', version: expectedVersion + 1 },
    refund: true,
    idempotency: {
      actorRole: 'customer',
      actorId: DEMO.customer1.id,
      key,
      operation: 'cancel',
      fingerprint: `fingerprint-${orderId}`,
      orderId,
      outcome: { result: 'ok', order: { id: orderId } },
      expiresAt: new Date(Date.now() + 60_000),
    },
  };
}

describe(`the action write (${backend})`, () => {
  it('commits the change, its event, its refund and its idempotency record together', async () => {
    const order = await orderIn(service, 'pending_acceptance');
    const key = randomUUID();
    expect(await commitOrderChange(prisma(), cancellation(order.id, order.version, key))).toBe(order.version + 1);
    expect(await stateOf(order.id)).toMatchObject({
      status: 'cancelled',
      version: order.version + 1,
      events: order.version + 1,
      payments: 1,
      refunds: 1,
    });
    expect(await prisma().idempotencyRecord.count({ where: { key } })).toBe(1);
  });

  it('writes nothing when the order is no longer at the expected version', async () => {
    const order = await orderIn(service, 'pending_acceptance');
    const before = await stateOf(order.id);
    const key = randomUUID();
    expect(await commitOrderChange(prisma(), cancellation(order.id, order.version - 1, key))).toBeNull();
    expect(await stateOf(order.id)).toEqual(before);
    expect(await prisma().idempotencyRecord.count({ where: { key } })).toBe(0);
  });

  it('undoes the whole change when its idempotency key was recorded meanwhile', async () => {
    const [first, second] = [await orderIn(service, 'pending_acceptance'), await orderIn(service, 'pending_acceptance')];
    const key = randomUUID();
    await commitOrderChange(prisma(), cancellation(first.id, first.version, key));
    const before = await stateOf(second.id);

    const refused = await commitOrderChange(prisma(), cancellation(second.id, second.version, key)).catch((error: unknown) => error);
    expect(isKeyConflict(refused)).toBe(true);
    // Not cancelled, no event, no refund: the update and the inserts before the refused one are gone too.
    expect(await stateOf(second.id)).toEqual(before);
    expect(before).toMatchObject({ status: 'pending_acceptance', payments: 1, refunds: 0 });
  });
});
