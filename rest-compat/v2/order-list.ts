/**
 * `GET /api/v2/orders` as one statement that returns the response body: the page of SPEC §5's order JSON,
 * `next_cursor`, and with `include` each related restaurant and rider once, built in PostgreSQL.
 *
 * Why SQL and not the serializers in ./serialize.ts: loading the page through Prisma and mapping it row by row cost
 * several times the CPU of the work itself (docs/PERFORMANCE.md, W2). The page is the domain's (checkedPage, the
 * visibility rule's SQL twin visibleOrdersSql, the rider-location rule's riderLocationVisibleSql); only the JSON shape
 * is written twice, and test/rest/v2-list-sql.test.ts requires this body to equal what the serializers make of the
 * same rows, field for field, for every actor.
 */
import type { Actor } from '../../src/domain/auth.ts';
import { checkedPage, type ListOrdersOptions } from '../../src/domain/orders/order.queries.ts';
import { visibleOrdersSql } from '../../src/domain/orders/order-access.ts';
import { riderLocationVisibleSql } from '../../src/domain/riders/rider.queries.ts';
import { Prisma } from '../../src/generated/prisma/client.ts';
import type { Database } from '../../src/infra/db.ts';
import type { Include } from './included.ts';

/** ISO-8601 UTC with milliseconds, as Date.toISOString() writes it (the columns are timestamptz(3)). */
const iso = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

const ORDER_JSON = `json_build_object(
  'id', o.id, 'status', o.status, 'version', o.version, 'total_amount', o.total_amount,
  'items', (SELECT coalesce(json_agg(json_build_object('menu_item_id', i.menu_item_id, 'name', i.name, 'quantity', i.quantity,
                                                       'unit_price', i.unit_price, 'line_total', i.line_total) ORDER BY i.position), '[]'::json)
            FROM order_items i WHERE i.order_id = o.id),
  'restaurant_id', o.restaurant_id, 'rider_id', o.rider_id, 'customer_id', o.customer_id,
  'created_at', ${iso('o.created_at')}, 'updated_at', ${iso('o.updated_at')})`;

/** order.queries.ts encodeCursor: base64url("<created_at ISO>|<id>"), unpadded. */
const CURSOR = `rtrim(translate(encode(convert_to(${iso('o.created_at')} || '|' || o.id, 'UTF8'), 'base64'), E'+/\\n', '-_'), '=')`;

/** The body of one page, as JSON text; ValidationError for a bad limit or cursor. */
export function orderPageBody(
  readText: Database['readText'],
  actor: Actor,
  options: ListOrdersOptions,
  include: ReadonlySet<Include>,
): Promise<string> {
  const { limit, after } = checkedPage(options);
  const statuses = options.statuses?.length ? Prisma.sql`AND o.status::text IN (${Prisma.join(options.statuses)})` : Prisma.empty;
  const continues = after ? Prisma.sql`AND (o.created_at, o.id) < (${after.createdAt}::timestamptz, ${after.id}::integer)` : Prisma.empty;
  const included: Prisma.Sql[] = [];
  if (include.has('restaurant')) {
    included.push(Prisma.sql`'restaurants', (SELECT coalesce(json_agg(json_build_object('id', r.id, 'name', r.name, 'address', r.address) ORDER BY r.id), '[]'::json)
      FROM restaurants r WHERE r.id IN (SELECT restaurant_id FROM shown))`);
  }
  if (include.has('rider')) {
    included.push(Prisma.sql`'riders', (SELECT coalesce(json_agg(json_build_object('id', d.id, 'name', d.name, 'current_location',
        CASE WHEN d.lat IS NOT NULL AND d.lng IS NOT NULL AND ${riderLocationVisibleSql(actor, 'd')} THEN json_build_object('lat', d.lat, 'lng', d.lng) END
      ) ORDER BY d.id), '[]'::json)
      FROM riders d WHERE d.id IN (SELECT rider_id FROM shown))`);
  }
  const includedPair = included.length ? Prisma.sql`, 'included', json_build_object(${Prisma.join(included)})` : Prisma.empty;
  return readText(Prisma.sql`
    WITH page AS (
      SELECT o.* FROM orders o
      WHERE ${visibleOrdersSql(actor, 'o')} ${statuses} ${continues}
      ORDER BY o.created_at DESC, o.id DESC
      LIMIT ${limit + 1}::integer
    ), shown AS (
      SELECT * FROM page ORDER BY created_at DESC, id DESC LIMIT ${limit}::integer
    )
    SELECT json_build_object(
      'results', (SELECT coalesce(json_agg(${Prisma.raw(ORDER_JSON)} ORDER BY o.created_at DESC, o.id DESC), '[]'::json) FROM shown o),
      'next_cursor', CASE WHEN (SELECT count(*) FROM page) > ${limit}::integer
                          THEN (SELECT ${Prisma.raw(CURSOR)} FROM shown o ORDER BY o.created_at, o.id LIMIT 1) END
      ${includedPair}
    )::text`);
}
