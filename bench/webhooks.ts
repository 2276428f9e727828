/**
 * How many events per second the webhook delivery workers sustain to a local receiver.
 *
 *   npm run bench:webhooks                          # PostgreSQL at 127.0.0.1:5432 (a scratch database), 2,000 orders
 *   npm run bench:webhooks -- --embedded            # embedded PGlite instead
 *   npm run bench:webhooks -- --orders 500 --endpoints 4
 *
 * 1. Starts a service container with its job worker off, registers `--endpoints` admin endpoints for every event
 *    ("*") on a real local HTTP receiver (node:http, answering 200 at once), and writes `--orders` orders with three
 *    events each (created, paid, accepted) through the order service: the deliveries wait in the database.
 * 2. Starts a second container on the same database with the worker on (one process, graphile-worker concurrency
 *    as in production) and times how long it takes until the receiver acknowledged every event for every endpoint.
 * 3. Prints events/s, checks that every delivery arrived exactly once with a valid signature and in version order
 *    per order, and drops the scratch database.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { loadConfig } from '../src/config.ts';
import { createContainer } from '../src/container.ts';
import { verifySignature } from '../src/domain/webhooks/signature.ts';

const { values } = parseArgs({
  options: {
    orders: { type: 'string', default: '2000' },
    endpoints: { type: 'string', default: '1' },
    embedded: { type: 'boolean', default: false },
    'database-server': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/postgres' },
  },
});
const ORDERS = Number(values.orders);
const ENDPOINTS = Number(values.endpoints);
const EVENTS_PER_ORDER = 3;

async function scratchDatabase(): Promise<{ url: string | undefined; drop(): Promise<void> }> {
  if (values.embedded) return { url: undefined, drop: async () => {} };
  const name = `quickeats_webhook_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: values['database-server'] });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const url = new URL(values['database-server']!);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: values['database-server'] });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await client.end();
    },
  };
}

type Arrival = { endpoint: string; eventId: string; orderId: number; version: number; valid: boolean };

async function main() {
  const database = await scratchDatabase();
  const embeddedDir = `/tmp/quickeats-webhook-bench-${randomBytes(4).toString('hex')}`;
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    SEED_DEMO_DATA: 'true',
    RATE_LIMIT_PER_MINUTE: '0',
    DATABASE_URL: database.url,
    EMBEDDED_DATA_DIR: embeddedDir,
  });
  const secrets = new Map<string, string>();
  const arrivals: Arrival[] = [];
  let expected = Number.POSITIVE_INFINITY;
  let finished: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    finished = resolve;
  });
  const receiver = createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => {
      body += chunk;
    });
    request.on('end', () => {
      const endpoint = request.url ?? '/';
      const event = JSON.parse(body) as { id: string; data: { order: { id: number; version: number } } };
      const valid = verifySignature(String(request.headers['quickeats-signature']), body, secrets.get(endpoint) ?? '');
      arrivals.push({ endpoint, eventId: event.id, orderId: event.data.order.id, version: event.data.order.version, valid });
      response.writeHead(200).end();
      if (arrivals.length >= expected) finished();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const port = (receiver.address() as AddressInfo).port;

  // 1. The events, written while no worker runs.
  const writer = await createContainer(config, { runJobs: false });
  const admin = { role: 'admin' as const, id: 1 };
  for (let index = 0; index < ENDPOINTS; index++) {
    const path = `/endpoint-${index}`;
    const { secret } = await writer.webhooks.create(admin, { url: `http://127.0.0.1:${port}${path}`, events: ['*'] });
    secrets.set(path, secret);
  }
  const written = performance.now();
  const customer = { role: 'customer' as const, id: 1 };
  const restaurant = { role: 'restaurant' as const, id: 1 };
  for (let index = 0; index < ORDERS; index++) {
    const { order } = await writer.orders.createOrder({
      actor: customer,
      idempotencyKey: randomUUID(),
      restaurantId: 1,
      items: [{ menuItemId: 1, quantity: 1 }],
      deliveryAddress: '1 Bench Street',
    });
    const paid = await writer.orders.payOrder({
      actor: customer,
      orderId: order.id,
      expectedVersion: 1,
      idempotencyKey: randomUUID(),
      paymentMethod: 'card',
      amount: order.totalAmount,
    });
    await writer.orders.acceptOrder({ actor: restaurant, orderId: order.id, expectedVersion: paid.order.version });
  }
  const events = ORDERS * EVENTS_PER_ORDER;
  console.log(
    `wrote ${events} events (${ORDERS} orders) for ${ENDPOINTS} endpoint(s) in ${((performance.now() - written) / 1000).toFixed(1)} s`,
  );
  await writer.close();

  // 2. One process delivers them.
  expected = events * ENDPOINTS;
  const started = performance.now();
  const deliverer = await createContainer({ ...config, seedDemoData: false }, { migrate: false });
  const timeout = setTimeout(() => finished(), 600_000);
  await done;
  clearTimeout(timeout);
  const seconds = (performance.now() - started) / 1000;
  await deliverer.close();
  receiver.close();
  await database.drop();

  // 3. The figure, and what it counts.
  const unique = new Set(arrivals.map((arrival) => `${arrival.endpoint} ${arrival.eventId}`));
  const invalid = arrivals.filter((arrival) => !arrival.valid).length;
  const lastVersion = new Map<string, number>();
  let outOfOrder = 0;
  for (const arrival of arrivals) {
    const key = `${arrival.endpoint} ${arrival.orderId}`;
    if ((lastVersion.get(key) ?? 0) >= arrival.version) outOfOrder++;
    lastVersion.set(key, arrival.version);
  }
  console.log(
    `delivered ${arrivals.length} of ${expected} (${unique.size} distinct) in ${seconds.toFixed(2)} s: ` +
      `${Math.round(arrivals.length / seconds)} events/s · ${values.embedded ? 'embedded PGlite' : 'PostgreSQL'}, one process`,
  );
  console.log(`invalid signatures: ${invalid} · out of version order: ${outOfOrder} · duplicates: ${arrivals.length - unique.size}`);
  if (arrivals.length < expected || invalid || outOfOrder) process.exitCode = 1;
}

await main();
