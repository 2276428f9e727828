/**
 * "The floor": the least work that can answer each workload over this project's own tables — a bare node:http server,
 * a `pg` Pool and one hand-written SQL statement per request (prepared, JSON built by PostgreSQL), no framework,
 * no auth, no validation. The service and PostGraphile are measured as fractions of it.
 *
 *   POST /w1   the W1/W4 GraphQL answer: 50 newest orders with restaurant, rider and items (request body ignored)
 *   GET  /w2   the W2 REST v2 answer: 50 newest orders with `included` restaurants and riders
 *   POST /w3   `{"id", "version"}` → pending_acceptance → preparing, version + 1, in one compare-and-swap UPDATE;
 *              409 when the version or the status moved
 *
 * Runs in its own process, started by bench/run.ts. Environment: BENCH_DATABASE_URL, PORT, POOL_SIZE.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import pg from 'pg';
import { connectToBench, intFromEnv, stringFromEnv } from './ipc.ts';

const port = intFromEnv('PORT');
const pool = new pg.Pool({ connectionString: stringFromEnv('BENCH_DATABASE_URL'), max: intFromEnv('POOL_SIZE', 10) });
pool.on('error', () => {});

const iso = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
// The relay plugin's global id: base64("Type:id").
const globalId = (type: string, column: string) => `encode(convert_to('${type}:' || ${column}, 'UTF8'), 'base64')`;

const NEWEST_50 = 'SELECT * FROM orders ORDER BY created_at DESC, id DESC LIMIT 50';

/** W1: the same fields as bench/workloads.ts W1_QUERY, in the same shape as the GraphQL response. */
const W1_SQL = `
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
const W2_SQL = `
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
const W3_SQL = `UPDATE orders SET status = 'preparing', version = version + 1, updated_at = now()
WHERE id = $1 AND version = $2 AND status = 'pending_acceptance' RETURNING id, version, status`;

let statements = 0;

async function query(name: string, text: string, values: unknown[] = []) {
  statements++;
  return pool.query({ name, text, values });
}

function send(res: ServerResponse, status: number, body: string) {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function handle(req: IncomingMessage, res: ServerResponse) {
  if (req.method === 'POST' && req.url === '/w1') {
    await readBody(req);
    const { rows } = await query('w1', W1_SQL);
    return send(res, 200, rows[0].body);
  }
  if (req.method === 'GET' && req.url === '/w2') {
    const { rows } = await query('w2', W2_SQL);
    return send(res, 200, rows[0].body);
  }
  if (req.method === 'POST' && req.url === '/w3') {
    const { id, version } = JSON.parse(await readBody(req)) as { id: number; version: number };
    const { rows } = await query('w3', W3_SQL, [id, version]);
    return rows[0] ? send(res, 200, JSON.stringify(rows[0])) : send(res, 409, JSON.stringify({ error: 'version or status moved', id }));
  }
  return send(res, 404, '{"error":"not found"}');
}

const server = createServer((req, res) => {
  handle(req, res).catch((error: Error) => send(res, 500, JSON.stringify({ error: error.message })));
});
server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1', () => connectToBench(port, () => ({ statements })));
