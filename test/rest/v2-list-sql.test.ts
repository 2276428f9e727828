/**
 * GET /api/v2/orders reads its page in one SQL statement (rest-compat/v2/order-list.ts). The reference is what the v2
 * serializers make of the same page loaded through Prisma (listVisibleOrders, orderJson, loadIncluded): for every
 * actor, every include, status filters and every page, the two bodies must be equal.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type Include, loadIncluded } from '../../rest-compat/v2/included.ts';
import { orderPage } from '../../rest-compat/v2/order-list.ts';
import { orderJson } from '../../rest-compat/v2/serialize.ts';
import type { Actor } from '../../src/domain/auth.ts';
import { itemsAndParties, type ListOrdersOptions, listVisibleOrders } from '../../src/domain/orders/order.queries.ts';
import { backend, DEMO, setUpTestService } from '../support/harness.ts';
import { orderIn } from '../support/orders.ts';
import { rest } from '../support/rest-client.ts';
import { countStatements } from '../support/sql-counter.ts';

const service = setUpTestService();

async function throughSerializers(actor: Actor, options: ListOrdersOptions, include: ReadonlySet<Include>) {
  const prisma = service.container.db.prisma;
  const page = await listVisibleOrders(prisma, actor, options, itemsAndParties);
  const body = { results: page.orders.map(orderJson), next_cursor: page.nextCursor };
  return include.size ? { ...body, included: await loadIncluded(prisma, actor, page.orders, include) } : body;
}

describe(`REST v2 order list in one statement (${backend})`, () => {
  it('equals the serializers’ body for every actor, include, status filter and page', async () => {
    for (const status of ['pending_payment', 'preparing', 'ready_for_pickup', 'in_transit', 'delivered', 'rejected'] as const) {
      await orderIn(service, status, { customer: DEMO.customer1, restaurantId: 1, withRider: true });
      await orderIn(service, status, { customer: DEMO.customer2, restaurantId: 2 });
    }
    // Rider 1 reports a location: who sees it in `included` is the location rule's to decide.
    await service.container.orders.updateRiderLocation({ actor: DEMO.rider1, lat: 37.5665, lng: 126.978 });
    const includes: Include[][] = [[], ['restaurant'], ['rider'], ['restaurant', 'rider']];
    for (const actor of [...Object.values(DEMO), { role: 'customer', id: 99 } as const]) {
      for (const include of includes.map((list) => new Set(list))) {
        for (const statuses of [null, ['preparing', 'in_transit']] as const) {
          let cursor: string | null = null;
          do {
            const options: ListOrdersOptions = { limit: 3, cursor, statuses: statuses && [...statuses] };
            const compiled = JSON.parse(JSON.stringify(await orderPage(service.container.db.readRows, actor, options, include)));
            expect(compiled, `${actor.role} ${actor.id} ${[...include]} ${statuses}`).toEqual(
              await throughSerializers(actor, options, include),
            );
            cursor = compiled.next_cursor;
          } while (cursor);
        }
      }
    }
  });

  it('is what GET /api/v2/orders answers, in one SQL statement, and refuses what the serializers refused', async () => {
    for (let i = 0; i < 4; i++) await orderIn(service, 'in_transit', { customer: DEMO.customer1, restaurantId: 1 });
    await rest(service, DEMO.admin, 'GET', '/api/v2/orders');
    const { result, statements } = await countStatements(service.container.db, () =>
      rest(service, DEMO.admin, 'GET', '/api/v2/orders?limit=50&include=restaurant,rider'),
    );
    expect(result.status).toBe(200);
    expect(result.headers.get('content-type')).toBe('application/json');
    expect(result.body).toEqual(await throughSerializers(DEMO.admin, { limit: 50 }, new Set(['restaurant', 'rider'])));
    expect(result.body.included.riders).toHaveLength(1);
    expect(statements).toHaveLength(1);
    for (const query of ['?limit=0', '?limit=101', `?cursor=${randomUUID()}`, '?include=menu', '?status=lost']) {
      expect((await rest(service, DEMO.admin, 'GET', `/api/v2/orders${query}`)).status, query).toBe(400);
    }
  });
});
