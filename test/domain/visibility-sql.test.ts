/**
 * The visibility rule has two forms: a Prisma filter (visibleOrdersWhere, for the resolver and REST reads) and a SQL
 * condition (visibleOrdersSql, for the compiled lists). On real rows in every status, with and without riders, both
 * select exactly the same orders for every kind of actor.
 */
import { describe, expect, it } from 'vitest';
import type { Actor } from '../../src/domain/auth.ts';
import { visibleOrdersSql, visibleOrdersWhere } from '../../src/domain/orders/order-access.ts';
import { Prisma } from '../../src/generated/prisma/client.ts';
import { backend, DEMO, setUpTestService } from '../support/harness.ts';
import { orderIn } from '../support/orders.ts';

const service = setUpTestService();

describe(`visibleOrdersSql selects what visibleOrdersWhere selects (${backend})`, () => {
  it('for every role, a stranger of each role, and no actor', async () => {
    const statuses = [
      'pending_payment',
      'pending_acceptance',
      'preparing',
      'ready_for_pickup',
      'in_transit',
      'delivered',
      'cancelled',
    ] as const;
    for (const status of statuses) {
      await orderIn(service, status, { customer: DEMO.customer1, restaurantId: 1 });
      await orderIn(service, status, { customer: DEMO.customer2, restaurantId: 2, withRider: true });
    }
    const prisma = service.container.db.prisma;
    const strangers: Actor[] = [
      { role: 'customer', id: 99 },
      { role: 'restaurant', id: 99 },
      { role: 'rider', id: 99 },
    ];
    for (const actor of [...Object.values(DEMO), ...strangers, null]) {
      const byPrisma = (
        await prisma.order.findMany({ where: visibleOrdersWhere(actor), select: { id: true }, orderBy: { id: 'asc' } })
      ).map((row) => row.id);
      const bySql = (
        await prisma.$queryRaw<{ id: number }[]>(Prisma.sql`SELECT o.id FROM orders o WHERE ${visibleOrdersSql(actor, 'o')} ORDER BY o.id`)
      ).map((row) => row.id);
      expect(bySql, JSON.stringify(actor)).toEqual(byPrisma);
      if (actor?.role === 'admin') expect(bySql).toHaveLength(statuses.length * 2);
    }
  });
});
