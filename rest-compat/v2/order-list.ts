/**
 * `GET /api/v2/orders` in one statement: the page's orders, each with its items (a JSON array of column values),
 * its restaurant and rider joined, and whether the actor may see that rider's location; the v2 serializers
 * (./serialize.ts) then make the body from them, as they do for every other order response.
 *
 * Why not listVisibleOrders + loadIncluded (Prisma): its relation-join statement aggregates each order's relations as
 * keyed JSON and the client then maps every row, which cost several times the CPU of the work itself, and the
 * rider locations took a second statement (docs/PERFORMANCE-PROFILE.md, W2). The page is still the domain's:
 * checkedPage, the visibility rule's SQL twin visibleOrdersSql and the rider-location rule's riderLocationVisibleSql.
 * test/rest/v2-list-sql.test.ts requires the body to equal what the serializers make of listVisibleOrders' page, for
 * every actor, include, filter and page.
 */
import type { Actor } from '../../src/domain/auth.ts';
import { checkedPage, encodeCursor, type ListOrdersOptions } from '../../src/domain/orders/order.queries.ts';
import { visibleOrdersSql } from '../../src/domain/orders/order-access.ts';
import type { OrderStatusName } from '../../src/domain/orders/order-state-machine.ts';
import { type RiderView, riderLocationVisibleSql, riderView } from '../../src/domain/riders/rider.queries.ts';
import { Prisma } from '../../src/generated/prisma/client.ts';
import type { Database } from '../../src/infra/db.ts';
import type { OrderSource } from '../serialize.ts';
import type { Include } from './included.ts';
import { orderJson, restaurantJson, riderJson } from './serialize.ts';

type Row = [
  id: number,
  status: OrderStatusName,
  version: number,
  totalAmount: number,
  items: [menuItemId: number, name: string, quantity: number, unitPrice: number, lineTotal: number][],
  restaurantId: number,
  riderId: number | null,
  customerId: number,
  createdAt: Date,
  updatedAt: Date,
  restaurantName: string,
  restaurantAddress: string,
  riderName: string | null,
  riderLat: number | null,
  riderLng: number | null,
  riderLocationVisible: boolean | null,
];

/** The body of one page: `results`, `next_cursor`, and `included` when asked; ValidationError for a bad limit or cursor. */
export async function orderPage(readRows: Database['readRows'], actor: Actor, options: ListOrdersOptions, include: ReadonlySet<Include>) {
  const { limit, after } = checkedPage(options);
  const statuses = options.statuses?.length ? Prisma.sql`AND o.status::text IN (${Prisma.join(options.statuses)})` : Prisma.empty;
  const continues = after ? Prisma.sql`AND (o.created_at, o.id) < (${after.createdAt}::timestamptz, ${after.id}::integer)` : Prisma.empty;
  // One row more than the page: whether there is a next page.
  const rows = (await readRows(Prisma.sql`
    SELECT o.id, o.status, o.version, o.total_amount,
           (SELECT coalesce(json_agg(json_build_array(i.menu_item_id, i.name, i.quantity, i.unit_price, i.line_total) ORDER BY i.position), '[]'::json)
            FROM order_items i WHERE i.order_id = o.id),
           o.restaurant_id, o.rider_id, o.customer_id, o.created_at, o.updated_at,
           r.name, r.address, d.name, d.lat, d.lng, ${riderLocationVisible(actor)}
    FROM (SELECT * FROM orders o WHERE ${visibleOrdersSql(actor, 'o')} ${statuses} ${continues}
          ORDER BY o.created_at DESC, o.id DESC LIMIT ${limit + 1}::integer) o
    JOIN restaurants r ON r.id = o.restaurant_id
    LEFT JOIN riders d ON d.id = o.rider_id
    ORDER BY o.created_at DESC, o.id DESC`)) as Row[];
  const page = rows.slice(0, limit);
  const orders = page.map(toOrder);
  const last = page.at(-1);
  const body = {
    results: orders.map(orderJson),
    next_cursor: rows.length > limit && last ? encodeCursor({ id: last[0], createdAt: last[8] }) : null,
  };
  if (!include.size) return body;
  return {
    ...body,
    included: {
      ...(include.has('restaurant') && {
        restaurants: unique(page.map(([, , , , , id, , , , , name, address]) => ({ id, name, address }))).map(restaurantJson),
      }),
      ...(include.has('rider') && { riders: unique(page.flatMap(toRider)).map(riderJson) }),
    },
  };
}

/** Whether the actor may see the joined rider's location (null without a rider). */
const riderLocationVisible = (actor: Actor) => Prisma.sql`CASE WHEN d.id IS NULL THEN NULL ELSE ${riderLocationVisibleSql(actor, 'd')} END`;

function toOrder([id, status, version, totalAmount, items, restaurantId, riderId, customerId, createdAt, updatedAt]: Row): OrderSource {
  return {
    id,
    status,
    version,
    totalAmount,
    restaurantId,
    riderId,
    customerId,
    createdAt,
    updatedAt,
    items: items.map(([menuItemId, name, quantity, unitPrice, lineTotal]) => ({ menuItemId, name, quantity, unitPrice, lineTotal })),
  };
}

function toRider(row: Row): RiderView[] {
  const [, , , , , , riderId, , , , , , name, lat, lng, visible] = row;
  if (riderId === null || name === null) return [];
  return [riderView({ id: riderId, name, lat, lng }, visible === true)];
}

/** Each row once, by id, ordered by id. */
const unique = <T extends { id: number }>(rows: T[]): T[] =>
  [...new Map(rows.map((row) => [row.id, row])).values()].sort((a, b) => a.id - b.id);
