import { describe, expect, it } from 'vitest';
import { findViolations, formatViolations } from '../../src/domain/invariants.ts';
import { ORDER_STATUSES } from '../../src/domain/orders/order-state-machine.ts';
import { backend, setUpTestService } from '../support/harness.ts';
import { orderIn } from '../support/orders.ts';

const service = setUpTestService();

const invariantsBroken = async () => (await findViolations(service.container.db.prisma)).map((violation) => violation.invariant);

describe(`invariant checker (${backend})`, () => {
  it('finds nothing wrong with orders driven through every status by the service', async () => {
    for (const status of ORDER_STATUSES) await orderIn(service, status);
    await orderIn(service, 'preparing', { withRider: true });
    const violations = await findViolations(service.container.db.prisma);
    expect(formatViolations(violations)).toBe('All invariants hold.');
  });

  it.each([
    ['version equals the number of history entries', ['UPDATE orders SET version = version + 1 WHERE id = $ID']],
    ['the status is the last history entry', ["UPDATE orders SET status = 'delivered' WHERE id = $ID"]],
    ['every paid order that was cancelled or rejected has its refund', ['DELETE FROM refunds WHERE order_id = $ID']],
    [
      'the total is the sum of the lines, each line quantity × unit price',
      ['UPDATE orders SET total_amount = total_amount + 1 WHERE id = $ID'],
    ],
    // The refund references the payment, so both go: the payment's idempotency record is left without its effect.
    ['every idempotency record has its effect', ['DELETE FROM refunds WHERE order_id = $ID', 'DELETE FROM payments WHERE order_id = $ID']],
    [
      'a refund refunds a charge: a recorded payment, or a charge the provider made that was never recorded',
      ['UPDATE refunds SET payment_id = NULL, provider_payment_id = NULL WHERE order_id = $ID'],
    ],
    [
      'every charge made through the provider carries the provider id (SPEC §8)',
      ['UPDATE payments SET provider_payment_id = NULL WHERE order_id = $ID'],
    ],
    [
      'refunds reach the provider within minutes (SPEC §8: 30 s while it is up)',
      ["UPDATE refunds SET provider_refund_id = NULL, refunded_at = NULL, created_at = now() - interval '10 minutes' WHERE order_id = $ID"],
    ],
    [
      'no payment attempt stays in flight for minutes (recovery settles them)',
      ["UPDATE payment_attempts SET state = 'in_flight', last_call_at = now() - interval '10 minutes' WHERE order_id = $ID"],
    ],
    [
      'every change since the event feed began has its event (SPEC §9), and every event its change',
      ['DELETE FROM events WHERE order_id = $ID AND version = 2'],
    ],
    [
      'every refund the provider confirmed has its order.refunded event',
      ["UPDATE refunds SET provider_refund_id = 're_not_announced', refunded_at = now() WHERE order_id = $ID"],
    ],
  ])('reports "%s" when it is broken', async (invariant, corruption) => {
    const order = await orderIn(service, 'cancelled');
    // Let the refund job finish first, or it could mend a corruption of the refund before the check runs.
    for (let waited = 0; waited < 100; waited++) {
      if (!(await service.container.db.prisma.refund.count({ where: { orderId: order.id, providerRefundId: null } }))) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    for (const statement of corruption) await service.container.db.prisma.$executeRawUnsafe(statement.replaceAll('$ID', String(order.id)));
    expect(await invariantsBroken()).toContain(invariant);
  });

  it('reports an illegal transition written behind the service', async () => {
    const order = await orderIn(service, 'pending_payment');
    const prisma = service.container.db.prisma;
    await prisma.orderEvent.create({
      data: {
        orderId: order.id,
        version: 2,
        action: 'deliver',
        fromStatus: 'pending_payment',
        toStatus: 'delivered',
        actorRole: 'admin',
        actorId: 1,
      },
    });
    await prisma.order.update({ where: { id: order.id }, data: { version: 2, status: 'delivered' } });
    expect(await invariantsBroken()).toContain('every change is a legal transition');
  });
});
