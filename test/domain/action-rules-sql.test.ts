/**
 * The rules of an action have two forms: the functions the service runs on an order it read (canSeeFor,
 * isActorsAction, targetStatus) and the SQL conditions of the statement that decides and writes without a read
 * (mayRunSql, actionAllowedSql). On real rows for every status and every set of parties (own or another customer and
 * restaurant; no rider, rider 1 or rider 2), both select exactly the same orders for every actor and action.
 */
import { describe, expect, it } from 'vitest';
import type { Actor } from '../../src/domain/auth.ts';
import { canSeeFor, isActorsAction, mayRunSql } from '../../src/domain/orders/order-access.ts';
import { actionAllowedSql } from '../../src/domain/orders/order-change.ts';
import { ORDER_ACTIONS, ORDER_STATUSES, targetStatus } from '../../src/domain/orders/order-state-machine.ts';
import { Prisma } from '../../src/generated/prisma/client.ts';
import { backend, DEMO, setUpTestService } from '../support/harness.ts';

const service = setUpTestService();

describe(`the action rules in SQL select what the functions allow (${backend})`, () => {
  it('for every role (and a stranger of each), action, status and set of parties', async () => {
    const prisma = service.container.db.prisma;
    const parties = ORDER_STATUSES.flatMap((status) =>
      [1, 2].flatMap((customerId) =>
        [1, 2].flatMap((restaurantId) => [null, 1, 2].map((riderId) => ({ status, customerId, restaurantId, riderId }))),
      ),
    );
    await prisma.order.createMany({ data: parties.map((row) => ({ ...row, totalAmount: 1_000, deliveryAddress: 'x' })) });
    const orders = await prisma.order.findMany({ orderBy: { id: 'asc' } });
    expect(orders).toHaveLength(ORDER_STATUSES.length * 2 * 2 * 3);

    const strangers: Actor[] = [
      { role: 'customer', id: 99 },
      { role: 'restaurant', id: 99 },
      { role: 'rider', id: 99 },
    ];
    const select = async (condition: Prisma.Sql) =>
      (await prisma.$queryRaw<{ id: number }[]>(Prisma.sql`SELECT o.id FROM orders o WHERE ${condition} ORDER BY o.id`)).map(
        (row) => row.id,
      );
    for (const actor of [...Object.values(DEMO), ...strangers]) {
      for (const action of ORDER_ACTIONS) {
        const label = `${actor.role} ${actor.id} ${action}`;
        const mayRun = orders.filter((order) => canSeeFor(actor, order, action) && isActorsAction(actor, order, action));
        expect(await select(mayRunSql(actor, action, 'o')), label).toEqual(mayRun.map((order) => order.id));
        const allowed = mayRun.filter((order) => targetStatus(order, action) !== null);
        expect(await select(actionAllowedSql(actor, action, 'o')), label).toEqual(allowed.map((order) => order.id));
      }
    }
  });
});
