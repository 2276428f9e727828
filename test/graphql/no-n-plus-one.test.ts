/**
 * SPEC §4: fetching N orders with their restaurant, rider and items costs the same small number of SQL statements for
 * N = 1 and N = 100. Counted on the wire (every statement Prisma sends), not estimated.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { OrderWithItems } from '../../src/domain/orders/order.queries.ts';
import { backend, DEMO, graphql, MENU, setUpTestService } from '../support/harness.ts';
import { countStatements } from '../support/sql-counter.ts';

const service = setUpTestService();

const FULL = `query($first: Int!) {
  orders(first: $first) {
    edges { node { status restaurant { name } rider { name } items { name quantity } payment { status } customer { name } } }
  }
}`;
const ISSUE = `query($first: Int!) {
  orders(first: $first) { edges { node { id restaurant { name } rider { name } items { name quantity } } } }
}`;

/**
 * Creates `count` orders through the service, varied so every relation has real rows: both customers and restaurants,
 * every third order paid, every fifth also accepted and claimed by rider 1 or 2.
 */
async function createOrders(count: number): Promise<OrderWithItems[]> {
  const orders = service.container.orders;
  const created: OrderWithItems[] = [];
  for (let i = 0; i < count; i++) {
    const customer = i % 2 === 0 ? DEMO.customer1 : DEMO.customer2;
    const restaurantId = i % 4 < 2 ? 1 : 2;
    const menu = restaurantId === 1 ? MENU.r1 : MENU.r2;
    let order = (
      await orders.createOrder({
        actor: customer,
        idempotencyKey: randomUUID(),
        restaurantId,
        items: [
          { menuItemId: menu[i % 3]!, quantity: 1 + (i % 3) },
          { menuItemId: menu[(i + 1) % 3]!, quantity: 1 },
        ],
        deliveryAddress: `${i} Count Street`,
      })
    ).order;
    if (i % 3 === 0) {
      order = (
        await orders.payOrder({
          actor: customer,
          orderId: order.id,
          expectedVersion: 1,
          idempotencyKey: randomUUID(),
          paymentMethod: 'card',
          amount: order.totalAmount,
        })
      ).order;
    }
    if (i % 15 === 0) {
      const restaurant = { role: 'restaurant', id: restaurantId } as const;
      order = (await orders.acceptOrder({ actor: restaurant, orderId: order.id, expectedVersion: order.version })).order;
      order = (
        await orders.assignRider({ actor: i % 2 === 0 ? DEMO.rider1 : DEMO.rider2, orderId: order.id, expectedVersion: order.version })
      ).order;
    }
    created.push(order);
  }
  return created;
}

/** Runs the query as admin (sees every order) and returns the statements it sent. */
async function statementsFor(query: string, first: number) {
  // Warm-up: the first request of an actor checks that it exists (cached afterwards); that is not per-order cost.
  await graphql(service, DEMO.admin, '{ viewer { databaseId } }');
  const { result, statements } = await countStatements(service.container.db, () => graphql(service, DEMO.admin, query, { first }));
  expect(result.errors).toBeUndefined();
  return { edges: result.data.orders.edges as { node: Record<string, any> }[], statements };
}

describe(`no N+1 (${backend})`, () => {
  it('orders(first: N) with restaurant, rider, items, payment and customer costs the same for N = 1, 10 and 100', async () => {
    const counts: Record<number, number> = {};
    for (const n of [1, 10, 100]) {
      await service.reset();
      await createOrders(n);
      const { edges, statements } = await statementsFor(FULL, n);
      expect(edges).toHaveLength(n);
      // The relations were really loaded, not left empty.
      expect(edges.every((edge) => edge.node.restaurant.name && edge.node.customer.name && edge.node.items.length === 2)).toBe(true);
      expect(edges.filter((edge) => edge.node.payment?.status === 'succeeded')).toHaveLength(Math.ceil(n / 3));
      expect(edges.filter((edge) => edge.node.rider !== null)).toHaveLength(Math.ceil(n / 15));
      counts[n] = statements.length;
    }
    console.info(`[no-n-plus-one] orders(first: N) with five relations on ${backend}: ${JSON.stringify(counts)} SQL statements`);
    expect(counts[10]).toBe(counts[1]);
    expect(counts[100]).toBe(counts[1]);
    expect(counts[1]).toBeLessThanOrEqual(8);
  });

  it('orders(first: 50) with restaurant, rider and items: the number the issue asks for', async () => {
    await createOrders(60);
    const { edges, statements } = await statementsFor(ISSUE, 50);
    expect(edges).toHaveLength(50);
    // Tables as Prisma names them ("public"."orders") or as the compiled list does (FROM orders o, JOIN riders t1).
    const tables = (sql: string) =>
      [...new Set([...sql.matchAll(/"public"\."(\w+)"|\b(?:FROM|JOIN) (\w+)/g)].map((match) => match[1] ?? match[2]))].sort();
    console.info(
      `[no-n-plus-one] orders(first: 50) { restaurant rider items } on ${backend}: ${statements.length} SQL statement(s) over ${statements.map((sql) => tables(sql).join('+')).join(', ')}`,
    );
    // The compiled list (src/graphql/compiled-orders.ts) loads the page and its relations in one statement; the issue allows 3.
    expect(statements.length).toBeLessThanOrEqual(3);
    expect(tables(statements.join('\n'))).toEqual(['order_items', 'orders', 'restaurants', 'riders']);
  });
});
