/** The floor's statements (bench/servers/floor.ts), also timed alone by bench/statement-cpu.ts. */
const iso = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
// The relay plugin's global id: base64("Type:id").
const globalId = (type: string, column: string) => `encode(convert_to('${type}:' || ${column}, 'UTF8'), 'base64')`;

const NEWEST_50 = 'SELECT * FROM orders ORDER BY created_at DESC, id DESC LIMIT 50';

/** W1: the same fields as bench/workloads.ts W1_QUERY, in the same shape as the GraphQL response. */
export const W1_SQL = `
SELECT json_build_object('data', json_build_object('orders', json_build_object('edges', COALESCE(json_agg(
  json_build_object('node', json_build_object(
    'id', ${globalId('Order', 'o.id')}, 'databaseId', o.id, 'status', upper(o.status::text), 'version', o.version,
    'totalAmount', o.total_amount, 'createdAt', ${iso('o.created_at')}, 'updatedAt', ${iso('o.updated_at')},
    'restaurant', json_build_object('id', ${globalId('Restaurant', 'r.id')}, 'name', r.name),
    'rider', CASE WHEN d.id IS NULL THEN NULL ELSE json_build_object('id', ${globalId('Rider', 'd.id')}, 'name', d.name) END,
    'items', (SELECT json_agg(json_build_object('name', i.name, 'quantity', i.quantity, 'unitPrice', i.unit_price, 'lineTotal', i.line_total)
                              ORDER BY i.position) FROM order_items i WHERE i.order_id = o.id)))
  ORDER BY o.created_at DESC, o.id DESC), '[]'))))::text AS body
FROM (${NEWEST_50}) o
JOIN restaurants r ON r.id = o.restaurant_id
LEFT JOIN riders d ON d.id = o.rider_id`;

/** W2: SPEC §5's order JSON, next_cursor, and each related restaurant and rider once under `included`. */
export const W2_SQL = `
WITH page AS (${NEWEST_50})
SELECT json_build_object(
  'results', (SELECT json_agg(json_build_object(
      'id', o.id, 'status', o.status, 'version', o.version, 'total_amount', o.total_amount,
      'items', (SELECT json_agg(json_build_object('menu_item_id', i.menu_item_id, 'name', i.name, 'quantity', i.quantity,
                                                  'unit_price', i.unit_price, 'line_total', i.line_total) ORDER BY i.position)
                FROM order_items i WHERE i.order_id = o.id),
      'restaurant_id', o.restaurant_id, 'rider_id', o.rider_id, 'customer_id', o.customer_id,
      'created_at', ${iso('o.created_at')}, 'updated_at', ${iso('o.updated_at')}) ORDER BY o.created_at DESC, o.id DESC) FROM page o),
  'next_cursor', (SELECT rtrim(translate(encode(convert_to(${iso('created_at')} || '|' || id, 'UTF8'), 'base64'), E'+/\\n', '-_'), '=')
                  FROM page ORDER BY created_at, id LIMIT 1),
  'included', json_build_object(
    'restaurants', (SELECT COALESCE(json_agg(json_build_object('id', r.id, 'name', r.name, 'address', r.address) ORDER BY r.id), '[]')
                    FROM restaurants r WHERE r.id IN (SELECT restaurant_id FROM page)),
    'riders', (SELECT COALESCE(json_agg(json_build_object('id', d.id, 'name', d.name, 'current_location',
                 CASE WHEN d.lat IS NULL THEN NULL ELSE json_build_object('lat', d.lat, 'lng', d.lng) END) ORDER BY d.id), '[]')
               FROM riders d WHERE d.id IN (SELECT rider_id FROM page)))
)::text AS body`;

/**
 * W3: the bare compare-and-swap every versioned write is built on, making the same transition as acceptOrder on a
 * fresh row each time. Changing `status` (an indexed column) on rows nobody touched before is the index maintenance
 * and page work the other servers' writes pay; bumping only `version` on a few hot rows would let PostgreSQL skip it.
 */
export const W3_SQL = `UPDATE orders SET status = 'preparing', version = version + 1, updated_at = now()
WHERE id = $1 AND version = $2 AND status = 'pending_acceptance' RETURNING id, version, status`;
