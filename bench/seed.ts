/**
 * The benchmark's data set, built with set-based SQL (generate_series) so a fresh database is ready in seconds:
 * 50 restaurants with menus, 50 riders, customers, 10,000 orders with 1–3 items each and their whole history
 * (version = history length, payments and refunds where the life cycle implies them), plus the pools of fresh
 * pending_acceptance orders that the write workload consumes (addPendingAcceptanceOrders, before each W3 run).
 */
import pg from 'pg';
import { findViolations } from '../src/domain/invariants.ts';
import { openDatabase } from '../src/infra/db.ts';
import { migrate } from '../src/infra/migrate.ts';

export const DATA_SET = { restaurants: 50, menuItemsPerRestaurant: 5, riders: 50, customers: 500, orders: 10_000 } as const;

type Step = { action: string | null; from: string | null; to: string; role: 'customer' | 'restaurant' | 'rider' };

const create: Step = { action: null, from: null, to: 'pending_payment', role: 'customer' };
const pay: Step = { action: 'pay', from: 'pending_payment', to: 'pending_acceptance', role: 'customer' };
const accept: Step = { action: 'accept', from: 'pending_acceptance', to: 'preparing', role: 'restaurant' };
const ready: Step = { action: 'complete_preparation', from: 'preparing', to: 'ready_for_pickup', role: 'restaurant' };
const claim: Step = { action: 'assign_rider', from: 'ready_for_pickup', to: 'ready_for_pickup', role: 'rider' };
const pickUp: Step = { action: 'pick_up', from: 'ready_for_pickup', to: 'in_transit', role: 'rider' };
const deliver: Step = { action: 'deliver', from: 'in_transit', to: 'delivered', role: 'rider' };

/**
 * Life cycles an order can have gone through, numbered; an order's status is its path's last step.
 * Every path is legal in the state machine, so `npm run check:invariants` holds on the seeded database.
 */
const PATHS: Record<number, Step[]> = {
  1: [create],
  2: [create, pay],
  3: [create, pay, accept],
  4: [create, pay, accept, ready],
  5: [create, pay, accept, ready, claim],
  6: [create, pay, accept, ready, claim, pickUp],
  7: [create, pay, accept, ready, claim, pickUp, deliver],
  8: [create, pay, { action: 'cancel', from: 'pending_acceptance', to: 'cancelled', role: 'customer' }],
  9: [create, pay, { action: 'reject', from: 'pending_acceptance', to: 'rejected', role: 'restaurant' }],
  10: [create, { action: 'pay', from: 'pending_payment', to: 'payment_failed', role: 'customer' }],
};
export const PENDING_ACCEPTANCE_PATH = 2;
const DECLINED_PATH = 10;
const REFUNDED_PATHS = [8, 9];
const pathsWith = (action: string) =>
  Object.entries(PATHS).flatMap(([path, steps]) => (steps.some((step) => step.action === action) ? [Number(path)] : []));
const RIDER_PATHS = pathsWith('assign_rider');
const PAID_PATHS = pathsWith('pay');

/** The database named by a URL, and the URL of the maintenance database on the same server. */
export function databaseUrls(url: string): { name: string; adminUrl: string } {
  const parsed = new URL(url);
  const name = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`BENCH_DATABASE_URL must name a plain database (got "${name}")`);
  parsed.pathname = '/postgres';
  return { name, adminUrl: parsed.toString() };
}

/** Connects once, or throws an error that says what to check. */
export async function connectOrExplain(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
    return client;
  } catch (error) {
    const where = new URL(url);
    where.password = '';
    throw new Error(
      `PostgreSQL is not reachable at ${where.host} (${(error as Error).message}). Start it, or point BENCH_DATABASE_URL at a server ` +
        'where the user may create databases.',
      { cause: error },
    );
  }
}

/** Drops and recreates the benchmark database (terminating leftover sessions of an earlier, interrupted run). */
export async function recreateDatabase(url: string): Promise<void> {
  const { name, adminUrl } = databaseUrls(url);
  const admin = await connectOrExplain(adminUrl);
  try {
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
}

/** Applies the service's own migrations (the same code path as its start-up). */
export async function migrateSchema(url: string): Promise<string[]> {
  const db = await openDatabase({ url, poolSize: 2 });
  try {
    return await migrate(db);
  } finally {
    await db.close();
  }
}

/** Inserts the data set; returns what it inserted. */
export async function seed(url: string): Promise<{ orders: number }> {
  const client = await connectOrExplain(url);
  try {
    await client.query('BEGIN');
    await createPathTable(client);
    const { restaurants, menuItemsPerRestaurant, riders, customers, orders } = DATA_SET;
    await client.query(`INSERT INTO customers (id, name) SELECT i, 'Customer ' || i FROM generate_series(1, $1::int) i`, [customers]);
    await client.query(
      `INSERT INTO restaurants (id, name, address)
       SELECT i, 'Restaurant ' || i, i || ' Teheran-ro, Gangnam-gu, Seoul' FROM generate_series(1, $1::int) i`,
      [restaurants],
    );
    // Menu item ids are (restaurant - 1) * perRestaurant + n, so orders can pick items of their restaurant by arithmetic.
    await client.query(
      `INSERT INTO menu_items (id, restaurant_id, name, price, available)
       SELECT (r - 1) * $2 + n, r, 'Dish ' || n || ' of restaurant ' || r, 4000 + 500 * ((r * 7 + n * 3) % 20), true
       FROM generate_series(1, $1::int) r, generate_series(1, $2::int) n`,
      [restaurants, menuItemsPerRestaurant],
    );
    await client.query(
      `INSERT INTO riders (id, name, lat, lng, location_updated_at)
       SELECT i, 'Rider ' || i, 37.45 + (i % 10) * 0.02, 126.9 + (i / 10) * 0.03, now() - interval '1 day'
       FROM generate_series(1, $1::int) i`,
      [riders],
    );
    await client.query(`INSERT INTO admins (id, name) VALUES (1, 'Operations')`);
    // Newest order last; two days old at the newest, so no payment looks "recent" to the idempotency invariant.
    await insertOrders(client, {
      firstId: 1,
      count: orders,
      pathSql: `1 + ((i * 7) % 10)`,
      createdAtSql: `now() - interval '2 days' - ((${orders} - i) * interval '3 minutes')`,
    });
    for (const table of [
      'customers',
      'restaurants',
      'menu_items',
      'riders',
      'admins',
      'orders',
      'order_items',
      'order_events',
      'payments',
      'refunds',
    ]) {
      await client.query(`SELECT setval(pg_get_serial_sequence('"${table}"', 'id'), (SELECT MAX(id) FROM "${table}"))`);
    }
    await client.query('COMMIT');
    await client.query('VACUUM ANALYZE');
    return { orders };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    await client.end();
  }
}

/**
 * Adds `count` orders in pending_acceptance (created and paid, version 2) for the accept workload, older than the
 * listed data set, so no list shows them; returns the id of the first one. Called before each W3 run, with the same
 * count for every server (bench/run.ts), so each server's run writes to rows in the same state.
 */
export async function addPendingAcceptanceOrders(url: string, count: number): Promise<number> {
  const client = await connectOrExplain(url);
  try {
    await client.query('BEGIN');
    await client.query('LOCK TABLE orders IN EXCLUSIVE MODE');
    const { rows } = await client.query<{ next: number }>('SELECT COALESCE(MAX(id), 0) + 1 AS next FROM orders');
    const firstId = rows[0]!.next;
    await insertOrders(client, {
      firstId,
      count,
      pathSql: String(PENDING_ACCEPTANCE_PATH),
      createdAtSql: `now() - interval '200 days' - (i * interval '1 millisecond')`,
    });
    for (const table of ['orders', 'order_items', 'order_events', 'payments']) {
      await client.query(`SELECT setval(pg_get_serial_sequence('"${table}"', 'id'), (SELECT MAX(id) FROM "${table}"))`);
    }
    await client.query('COMMIT');
    await client.query('ANALYZE orders');
    return firstId;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    await client.end();
  }
}

/** Runs the service's own invariant checks over the seeded database; returns the number of violations. */
export async function countViolations(url: string): Promise<number> {
  const db = await openDatabase({ url, poolSize: 2 });
  try {
    return (await findViolations(db.prisma)).length;
  } finally {
    await db.close();
  }
}

/** The paths as a table in a schema of its own (`bench`), which PostGraphile does not expose. */
async function createPathTable(client: pg.Client): Promise<void> {
  await client.query('CREATE SCHEMA IF NOT EXISTS bench');
  await client.query(`CREATE TABLE IF NOT EXISTS bench.paths (
    path int NOT NULL, step int NOT NULL, length int NOT NULL, action order_action, from_status order_status,
    to_status order_status NOT NULL, actor_role actor_role NOT NULL, PRIMARY KEY (path, step))`);
  const rows = Object.entries(PATHS).flatMap(([path, steps]) =>
    steps.map((step, index) => [Number(path), index + 1, steps.length, step.action, step.from, step.to, step.role]),
  );
  const values = rows.map((_, row) => `(${Array.from({ length: 7 }, (_, col) => `$${row * 7 + col + 1}`).join(', ')})`).join(', ');
  await client.query(
    `INSERT INTO bench.paths (path, step, length, action, from_status, to_status, actor_role) VALUES ${values} ON CONFLICT DO NOTHING`,
    rows.flat(),
  );
}

type OrderBatch = {
  firstId: number;
  count: number;
  /** SQL over `i` (1…count) giving the path number of order firstId + i - 1. */
  pathSql: string;
  /** SQL over `i` giving its created_at. */
  createdAtSql: string;
};

/** Orders with their items, history, payment and refund, all derived from (id, path) by arithmetic. */
async function insertOrders(client: pg.Client, batch: OrderBatch): Promise<void> {
  const { restaurants, menuItemsPerRestaurant, riders, customers } = DATA_SET;
  const params = [batch.firstId, batch.count];
  await client.query('DROP TABLE IF EXISTS pg_temp.batch, pg_temp.batch_items');
  // One row per new order with everything the other tables derive from it.
  await client.query(
    `CREATE TEMP TABLE batch ON COMMIT DROP AS
     SELECT $1::int + i - 1 AS id, i, ${batch.pathSql} AS path, ${batch.createdAtSql} AS created_at,
            1 + (($1::int + i) % ${customers}) AS customer_id,
            1 + ((($1::int + i) * 13) % ${restaurants}) AS restaurant_id,
            1 + (($1::int + i) % ${riders}) AS rider_id,
            1 + (($1::int + i) % 3) AS lines
     FROM generate_series(1, $2::int) i`,
    params,
  );
  // The lines first (in a temp table: order_items needs its orders to exist), so each order's total is their sum.
  await client.query(
    `CREATE TEMP TABLE batch_items ON COMMIT DROP AS
     SELECT b.id AS order_id, m.id AS menu_item_id, n - 1 AS position, m.name, q.quantity, m.price AS unit_price,
            q.quantity * m.price AS line_total
     FROM batch b
     CROSS JOIN LATERAL generate_series(1, b.lines) n
     CROSS JOIN LATERAL (SELECT 1 + ((b.id + n) % 3) AS quantity) q
     JOIN menu_items m ON m.id = (b.restaurant_id - 1) * ${menuItemsPerRestaurant} + 1 + ((b.id + n) % ${menuItemsPerRestaurant})`,
  );
  await client.query(
    `INSERT INTO orders (id, customer_id, restaurant_id, rider_id, status, version, total_amount, delivery_address, created_at, updated_at)
     SELECT b.id, b.customer_id, b.restaurant_id,
            CASE WHEN b.path IN (${RIDER_PATHS.join(', ')}) THEN b.rider_id END,
            last.to_status, last.length, t.total,
            b.id || ' Sejong-daero, Jung-gu, Seoul', b.created_at, b.created_at + (last.length - 1) * interval '1 minute'
     FROM batch b
     JOIN bench.paths last ON last.path = b.path AND last.step = last.length
     JOIN (SELECT order_id, sum(line_total)::int AS total FROM batch_items GROUP BY order_id) t ON t.order_id = b.id`,
  );
  await client.query(
    `INSERT INTO order_items (order_id, menu_item_id, position, name, quantity, unit_price, line_total)
     SELECT order_id, menu_item_id, position, name, quantity, unit_price, line_total FROM batch_items ORDER BY order_id, position`,
  );
  await client.query(
    `INSERT INTO order_events (order_id, version, action, from_status, to_status, actor_role, actor_id, rider_id, created_at)
     SELECT b.id, p.step, p.action, p.from_status, p.to_status, p.actor_role,
            CASE p.actor_role WHEN 'customer' THEN b.customer_id WHEN 'restaurant' THEN b.restaurant_id ELSE b.rider_id END,
            CASE WHEN p.action = 'assign_rider' THEN b.rider_id END,
            b.created_at + (p.step - 1) * interval '1 minute'
     FROM batch b JOIN bench.paths p ON p.path = b.path`,
  );
  await client.query(
    `INSERT INTO payments (order_id, amount, method, status, gateway_key, gateway_ref, created_at)
     SELECT o.id, o.total_amount, CASE WHEN b.path = ${DECLINED_PATH} THEN 'test_decline' ELSE 'card' END,
            CASE WHEN b.path = ${DECLINED_PATH} THEN 'declined' ELSE 'succeeded' END::payment_status,
            'bench-' || o.id, 'bench-ref-' || o.id, b.created_at + interval '1 minute'
     FROM batch b JOIN orders o ON o.id = b.id
     WHERE b.path IN (${PAID_PATHS.join(', ')})`,
  );
  // Confirmed by the provider a minute later, as a refund that went through is (the invariants flag unconfirmed ones).
  await client.query(
    `INSERT INTO refunds (order_id, payment_id, amount, provider_refund_id, refunded_at, created_at)
     SELECT p.order_id, p.id, p.amount, 'bench-refund-' || p.id, b.created_at + interval '3 minutes', b.created_at + interval '2 minutes'
     FROM batch b JOIN payments p ON p.order_id = b.id
     WHERE b.path IN (${REFUNDED_PATHS.join(', ')})`,
  );
}
