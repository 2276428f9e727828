/**
 * SPEC §9 across real server processes on one PostgreSQL and Redis, with a real HTTP receiver:
 *
 * 1. riderLocationUpdated over SSE: a subscriber on one process hears what the rider reports on another, and the
 *    stream ends when the order is delivered there;
 * 2. Redis killed and restarted (a private redis-server, as the Redis fault tests do): events committed while it is
 *    down and just after it is back are all delivered, since deliveries live in the database alone;
 * 3. two processes share one endpoint's deliveries, and one of them is killed -9 halfway: every event arrives, no event
 *    is ever on the wire twice at once, each order's events are acknowledged in version order (a repeat after the
 *    crash carries the same event id and body);
 * 4. kill -9 of every process right after an action commits, while the receiver hangs: a process restarted on the same
 *    database delivers every event, signed with the endpoint's secret.
 *
 * PostgreSQL only, like the other multi-process tests: processes share nothing on the embedded database.
 */
import { randomUUID } from 'node:crypto';
import { encodeGlobalID } from '@pothos/plugin-relay';
import { createClient } from 'graphql-sse';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Actor, secretKey, signToken } from '../../src/domain/auth.ts';
import { verifySignature } from '../../src/domain/webhooks/signature.ts';
import { backend, createScratchDatabase, DEMO } from '../support/harness.ts';
import { PrivateRedis } from '../support/private-redis.ts';
import { freePort, type ServerProcess, startServerProcess } from '../support/server-process.ts';
import { type Received, startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.ts';

const JWT_SECRET = 'webhook-processes-test-secret-32-chars!!';
/**
 * A receiver that has not answered within 1 s failed, and the first retry comes within 100 ms. The short payment
 * timeout only shortens the lease of a killed process's jobs (the longest job's bound: 3 × 500 ms + 5 s for a payment
 * attempt, 2 s + 1 s + 5 s for a webhook job), after which another process takes them over: 8 s instead of 20 s.
 */
const FAST = { WEBHOOK_TIMEOUT_MS: '1000', WEBHOOK_RETRY_BASE_MS: '100', PAYMENT_PROVIDER_TIMEOUT_MS: '500' };
/**
 * From the moment a restarted process is ready: a killed process's jobs are freed within its lease (8 s) plus the
 * sweep interval (5 s) after the kill; the rest is slack for a loaded machine. (A start takes 10–25 s under load, so
 * the deadline is not counted from the kill.)
 */
const DELIVERED_WITHIN_MS = 20_000;

type Order = { id: number; version: number; total: number };
type FeedEvent = Received['json'];
type Reply = { status: number; body: any; text: string };

/** The actions after creation, in life-cycle order: an order at version v takes STEPS[v - 1] next. */
const STEPS: readonly (readonly [action: string, actor: Actor])[] = [
  ['payment', DEMO.customer1],
  ['acceptance', DEMO.restaurant1],
  ['preparation-complete', DEMO.restaurant1],
  ['rider-assignment', DEMO.rider1],
  ['pickup', DEMO.rider1],
  ['delivery', DEMO.rider1],
];

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls until `missing()` returns null and returns when; past `deadline` it throws with what was still missing. */
async function until(missing: () => string | null | Promise<string | null>, deadline: number, what: string): Promise<number> {
  for (;;) {
    const gap = await missing();
    if (gap === null) return Date.now();
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}: ${gap}`);
    await sleep(100);
  }
}

const signingKey = secretKey(JWT_SECRET);
const tokens = new Map<Actor, Promise<string>>();
const token = (actor: Actor) => {
  if (!tokens.has(actor)) tokens.set(actor, signToken(actor, signingKey, '1h'));
  return tokens.get(actor)!;
};

/** One REST v2 request to a process as `actor`. */
async function call(
  server: ServerProcess,
  actor: Actor,
  method: string,
  path: string,
  options: { json?: unknown; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { authorization: `Bearer ${await token(actor)}`, ...options.headers };
  if (options.json !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${server.url}/api/v2${path}`, {
    method,
    headers,
    body: options.json === undefined ? undefined : JSON.stringify(options.json),
  });
  const text = await response.text();
  const body = text && /json/.test(response.headers.get('content-type') ?? '') ? JSON.parse(text) : undefined;
  return { status: response.status, body, text };
}

async function gql(server: ServerProcess, actor: Actor, query: string, variables: Record<string, unknown>) {
  const response = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { authorization: `Bearer ${await token(actor)}`, 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as { data?: any; errors?: unknown[] };
}

/** Customer 1 orders one item 1 at restaurant 1 through `server`. */
async function placeOrder(server: ServerProcess): Promise<Order> {
  const reply = await call(server, DEMO.customer1, 'POST', '/orders', {
    json: { restaurant_id: 1, items: [{ menu_item_id: 1, quantity: 1 }], delivery_address: '1 Test Street' },
    headers: { 'idempotency-key': randomUUID() },
  });
  expect(reply.status, reply.text).toBe(201);
  return { id: reply.body.id, version: reply.body.version, total: reply.body.total_amount };
}

/** Takes the order's next step of its life cycle through `server` (200 expected), as the party who takes it. */
async function advance(server: ServerProcess, order: Order): Promise<void> {
  const [action, actor] = STEPS[order.version - 1]!;
  const headers: Record<string, string> = { 'if-match': `"o${order.id}-v${order.version}"` };
  if (action === 'payment') headers['idempotency-key'] = randomUUID();
  const json = action === 'payment' ? { payment_method: 'card', amount: order.total } : {};
  const reply = await call(server, actor, 'POST', `/orders/${order.id}/${action}`, { json, headers });
  expect(reply.status, `${action} of order ${order.id}: ${reply.text}`).toBe(200);
  order.version = reply.body.version;
}

/** Every event, oldest first, as the REST feed shows it. */
async function feed(server: ServerProcess): Promise<FeedEvent[]> {
  const events: FeedEvent[] = [];
  let after: string | undefined;
  for (;;) {
    const reply = await call(server, DEMO.admin, 'GET', `/events?limit=100${after ? `&after=${after}` : ''}`);
    expect(reply.status, reply.text).toBe(200);
    if (!reply.body.results.length) return events;
    events.push(...reply.body.results);
    after = reply.body.next_cursor;
  }
}

/** Event ids of `events` that the receiver has not acknowledged on `path`, for `until`. */
function unacknowledged(receiver: WebhookReceiver, path: string, events: FeedEvent[]): string | null {
  const acknowledged = new Set(receiver.acknowledged(path).map((entry) => entry.eventId));
  const missing = events.filter((event) => !acknowledged.has(event.id)).map((event) => event.id);
  return missing.length ? `${missing.length} of ${events.length} events not acknowledged (${missing.slice(0, 5).join(', ')}…)` : null;
}

/**
 * What SPEC §9 promises an endpoint, checked on what the receiver saw on `path`: every event of the feed was
 * acknowledged; every request (first or repeat) is an event of the feed, with its id in the header and the same document
 * as the feed, signed with the endpoint's secret; per order, the first acknowledgements come in version order and no
 * request for version v + 1 arrived before version v was acknowledged and answered (`answerDelayMs`: the receiver's
 * `slow`). Returns the number of requests beyond one per event.
 */
function expectDelivered(receiver: WebhookReceiver, path: string, events: FeedEvent[], secret: string, answerDelayMs = 0): number {
  const requests = receiver.received.filter((entry) => entry.path === path);
  const byId = new Map(events.map((event) => [event.id, event]));
  for (const entry of requests) {
    expect(byId.has(entry.eventId), `a request for ${entry.eventId}, which the feed does not have`).toBe(true);
    expect(entry.json, `the body of a request for ${entry.eventId}`).toEqual(byId.get(entry.eventId));
    expect(verifySignature(String(entry.headers['quickeats-signature']), entry.body, secret), `signature of ${entry.eventId}`).toBe(true);
  }
  expect(unacknowledged(receiver, path, events)).toBeNull();

  const firstAcknowledged = new Map<string, Received>();
  for (const entry of receiver.acknowledged(path)) if (!firstAcknowledged.has(entry.eventId)) firstAcknowledged.set(entry.eventId, entry);
  const versionsByOrder = new Map<number, number[]>();
  const acknowledgedVersion = new Map<string, Received>();
  for (const entry of firstAcknowledged.values()) {
    const { id, version } = entry.json.data.order;
    versionsByOrder.set(id, [...(versionsByOrder.get(id) ?? []), version]);
    acknowledgedVersion.set(`${id}:${version}`, entry);
  }
  for (const [orderId, versions] of versionsByOrder) {
    expect(versions, `versions of order ${orderId} in the order of their first acknowledgement`).toEqual(
      versions.map((_, index) => index + 1),
    );
  }
  // Timers may fire a millisecond early against Date.now().
  const early = requests.filter((entry) => {
    const { id, version } = entry.json.data.order;
    const previous = acknowledgedVersion.get(`${id}:${version - 1}`);
    return version > 1 && (!previous || entry.at < previous.at + answerDelayMs - 2);
  });
  expect(
    early.map((entry) => `${entry.eventId} (order ${entry.json.data.order.id} v${entry.json.data.order.version})`),
    'requests sent before the order’s previous event was acknowledged',
  ).toEqual([]);
  return requests.length - events.length;
}

/**
 * Pairs of requests for one event that were on the wire together. Each request to a path the receiver answers after
 * `answerDelayMs` is open for at least [at, at + answerDelayMs], so a next request for the same event arriving before
 * that ends certainly overlapped it (what this reports is real; an answer delayed further could hide one).
 */
function overlappingRepeats(requests: Received[], answerDelayMs: number): string[] {
  const byEvent = new Map<string, Received[]>();
  for (const entry of requests) byEvent.set(entry.eventId, [...(byEvent.get(entry.eventId) ?? []), entry]);
  const overlaps: string[] = [];
  for (const [eventId, attempts] of byEvent) {
    attempts.sort((a, b) => a.at - b.at);
    for (let i = 1; i < attempts.length; i++) {
      const gap = attempts[i]!.at - attempts[i - 1]!.at;
      if (gap < answerDelayMs - 2) overlaps.push(`${eventId}: a second request ${gap} ms after the first`);
    }
  }
  return overlaps;
}

/**
 * Two processes on one scratch database and one private redis-server (test 2 kills it; the shared Redis is never
 * touched), started once for the file: a process starts in about 10 s on a 2-core machine, so the tests kill and
 * restart these two rather than start their own (test 3 restarts one, test 4 ends with one). Each test registers its
 * own endpoint (its own receiver path) before its orders and deletes it at the end, so an endpoint sees exactly the
 * events of its test's orders. Runs with the real servers only (TEST_DATABASE_URL and TEST_REDIS_URL, which also mean
 * redis-server is installed).
 */
describe.runIf(backend === 'postgres' && Boolean(process.env.TEST_REDIS_URL))('webhooks and live tracking across processes', () => {
  const running = new Set<ServerProcess>();
  const cleanups: (() => unknown)[] = [];
  let receiver: WebhookReceiver;
  let redis: PrivateRedis;
  let sql: pg.Client;
  let env: Record<string, string | undefined>;
  let servers: ServerProcess[] = [];

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    cleanups.push(() => receiver.close());
    redis = new PrivateRedis(await freePort());
    await redis.start();
    cleanups.push(() => redis.kill());
    const scratch = await createScratchDatabase();
    cleanups.push(() => scratch.drop());
    sql = new pg.Client({ connectionString: scratch.url });
    await sql.connect();
    cleanups.push(() => sql.end());
    env = {
      JWT_SECRET,
      RATE_LIMIT_PER_MINUTE: '0',
      DATABASE_URL: scratch.url,
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: `webhook-processes-${randomUUID()}:`,
      ...FAST,
    };
    servers = await Promise.all([start(), start()]);
  });

  afterAll(async () => {
    for (const server of running) await stop(server, 'SIGKILL');
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (error) {
        console.warn('cleanup failed:', error);
      }
    }
  });

  async function start(): Promise<ServerProcess> {
    const server = await startServerProcess(env);
    running.add(server);
    return server;
  }

  async function stop(server: ServerProcess, signal: NodeJS.Signals): Promise<void> {
    server.kill(signal);
    await server.exited;
    running.delete(server);
  }

  /** An admin's endpoint for every event type, at the receiver's `path`; deleted by `unregister`. */
  async function register(path: string): Promise<{ id: number; secret: string }> {
    const reply = await call(servers[0]!, DEMO.admin, 'POST', '/webhook-endpoints', { json: { url: receiver.url(path), events: ['*'] } });
    expect(reply.status, reply.text).toBe(201);
    return reply.body;
  }

  async function unregister(endpoint: { id: number }): Promise<void> {
    expect((await call(servers[0]!, DEMO.admin, 'DELETE', `/webhook-endpoints/${endpoint.id}`)).status).toBe(204);
  }

  /** The events of these orders, oldest first, as the REST feed shows them. */
  async function eventsOf(orders: Order[]): Promise<FeedEvent[]> {
    const ids = new Set(orders.map((order) => order.id));
    return (await feed(servers[0]!)).filter((event) => ids.has(event.data.order.id));
  }

  /** The endpoint's deliveries by state. */
  async function deliveryStates(endpointId: number) {
    const { rows } = await sql.query<{ state: string; n: number }>(
      'SELECT state::text, count(*)::int AS n FROM webhook_deliveries WHERE endpoint_id = $1 GROUP BY 1 ORDER BY 1',
      [endpointId],
    );
    return rows;
  }

  /** Waits until every delivery of the endpoint is `delivered` (a 200 is recorded just after the receiver sent it). */
  async function expectAllRecordedDelivered(endpointId: number, count: number) {
    await until(
      async () => {
        const states = JSON.stringify(await deliveryStates(endpointId));
        return states === JSON.stringify([{ state: 'delivered', n: count }]) ? null : states;
      },
      Date.now() + 10_000,
      `all ${count} deliveries are recorded as delivered`,
    );
  }

  /** How many deliveries this process has had acknowledged since it started (its /metrics). */
  async function deliveredBy(server: ServerProcess): Promise<number> {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    return Number(/^webhook_deliveries_total\{outcome="delivered"\} (\d+)$/m.exec(text)?.[1] ?? 0);
  }

  /** Polls a process's /readyz until it answers `status`. */
  async function readiness(server: ServerProcess, status: number, within: number) {
    await until(
      async () => {
        const answer = await fetch(`${server.url}/readyz`).then((response) => response.status);
        return answer === status ? null : `/readyz ${answer}`;
      },
      Date.now() + within,
      `${server.url}/readyz answers ${status}`,
    );
  }

  it('streams a rider’s locations reported on one process to a subscriber on another, until delivery there', {
    timeout: 60_000,
  }, async () => {
    const [watched, reporting] = [servers[0]!, servers[1]!];
    const order = await placeOrder(reporting);
    while (order.version < 5) await advance(reporting, order); // ready for pickup, rider 1 assigned

    const client = createClient({
      url: `${watched.url}/graphql`,
      retryAttempts: 0,
      headers: async (): Promise<Record<string, string>> => ({ authorization: `Bearer ${await token(DEMO.customer1)}` }),
    });
    cleanups.push(() => client.dispose());
    const heard: { lat: number; lng: number; at: string }[] = [];
    const results = client.iterate<{ riderLocationUpdated: { lat: number; lng: number; at: string } }>({
      query: 'subscription($id: ID!) { riderLocationUpdated(orderId: $id) { lat lng at } }',
      variables: { id: encodeGlobalID('Order', order.id) },
    });
    const ended = (async () => {
      for await (const result of results) {
        expect(result.errors).toBeUndefined();
        heard.push(result.data!.riderLocationUpdated);
      }
      return 'ended';
    })();
    ended.catch(() => {});

    const reported: { lat: number; lng: number }[] = [];
    const reportOverRest = async (lat: number, lng: number) => {
      const reply = await call(reporting, DEMO.rider1, 'PUT', '/riders/1/location', { json: { lat, lng } });
      expect(reply.status, reply.text).toBe(200);
      reported.push({ lat, lng });
    };
    // The subscription reaches Redis in its own time: report until the first location is heard on the other process.
    await until(
      async () => {
        if (heard.length) return null;
        await reportOverRest(37.5 + reported.length / 1000, 127);
        return 'nothing heard yet';
      },
      Date.now() + 10_000,
      'the subscriber hears a location',
    );
    await advance(reporting, order); // picked up: in transit
    const mutation = await gql(
      reporting,
      DEMO.rider1,
      'mutation($input: UpdateRiderLocationInput!) { updateRiderLocation(input: $input) { __typename } }',
      { input: { lat: 37.6, lng: 127.1 } },
    );
    expect(mutation.data?.updateRiderLocation).toEqual({ __typename: 'UpdateRiderLocationSuccess' });
    reported.push({ lat: 37.6, lng: 127.1 });
    await until(
      () => (heard.some((location) => location.lat === 37.6) ? null : JSON.stringify(heard)),
      Date.now() + 5_000,
      'the subscriber hears the location reported through GraphQL',
    );

    await advance(reporting, order); // delivered
    expect(await Promise.race([ended, sleep(5_000).then(() => 'still open')])).toBe('ended');
    // What was heard is what was reported, in order: a tail of the reports before the first was heard, then the rest.
    const positions = heard.map(({ lat, lng }) => ({ lat, lng }));
    expect(positions).toEqual(reported.slice(reported.length - positions.length));
    expect(heard.every((location) => !Number.isNaN(Date.parse(location.at)))).toBe(true);
  });

  it('delivers events committed while Redis is down and just after it restarts', { timeout: 60_000 }, async () => {
    const path = '/redis';
    const endpoint = await register(path);
    const first = await placeOrder(servers[0]!);
    const second = await placeOrder(servers[1]!);
    await advance(servers[0]!, first);
    const before = await eventsOf([first, second]);
    await until(() => unacknowledged(receiver, path, before), Date.now() + 10_000, 'the events before the outage arrive');

    await redis.kill();
    // Both processes have noticed the outage before the next changes.
    await Promise.all(servers.map((server) => readiness(server, 503, 10_000)));
    await advance(servers[1]!, first);
    await advance(servers[0]!, second);
    const third = await placeOrder(servers[1]!);

    await redis.start(); // empty, and the processes have not reconnected yet
    await advance(servers[0]!, first);
    await advance(servers[1]!, second);
    await advance(servers[0]!, third);
    const fourth = await placeOrder(servers[1]!);
    await advance(servers[0]!, fourth);

    const events = await eventsOf([first, second, third, fourth]);
    expect(events).toHaveLength(11);
    await until(() => unacknowledged(receiver, path, events), Date.now() + DELIVERED_WITHIN_MS, 'every event arrives');
    const repeats = expectDelivered(receiver, path, events, endpoint.secret);
    await expectAllRecordedDelivered(endpoint.id, events.length);
    await unregister(endpoint);
    // And the service is whole again by itself (the next test subscribes through this Redis).
    await Promise.all(servers.map((server) => readiness(server, 200, 15_000)));
    console.info(`[webhooks/processes] Redis restart: ${events.length} events delivered, ${repeats} requests beyond one per event`);
  });

  it('shares one endpoint between two processes, one killed -9 halfway: all events, one request at a time, in order', {
    timeout: 60_000,
  }, async () => {
    const path = '/shared';
    const answerDelayMs = 200;
    receiver.slow(path, answerDelayMs);
    const endpoint = await register(path);

    // Ten orders at once; each order's steps alternate between the processes. First half of the life cycle…
    const orders = await Promise.all(Array.from({ length: 10 }, (_, i) => placeOrder(servers[i % 2]!)));
    await Promise.all(
      orders.map(async (order, i) => {
        for (let step = 1; step <= 3; step++) await advance(servers[(i + step) % 2]!, order);
      }),
    );
    // …then kill -9 of the process that is sending them, while the receiver is still working through the backlog (its
    // requests on the wire are answered into the void), and a new process in its place. One endpoint's job runs in one
    // process at a time: the one whose delivered count moves now is the one holding it.
    const before = await Promise.all(servers.map(deliveredBy));
    await sleep(300);
    const after = await Promise.all(servers.map(deliveredBy));
    expect(receiver.acknowledged(path).length, 'deliveries are still behind the changes').toBeLessThan(40);
    const sending = after[1]! - before[1]! > after[0]! - before[0]! ? 1 : 0;
    await stop(servers[sending]!, 'SIGKILL');
    const killedAt = Date.now();
    servers[sending] = await start();
    const restartedAt = Date.now();
    await Promise.all(
      orders.map(async (order, i) => {
        while (order.version <= STEPS.length) await advance(servers[(i + order.version) % 2]!, order);
      }),
    );

    const events = await eventsOf(orders);
    expect(events).toHaveLength(orders.length * (STEPS.length + 1));
    const deliveredAt = await until(() => unacknowledged(receiver, path, events), restartedAt + DELIVERED_WITHIN_MS, 'every event arrives');
    const repeats = expectDelivered(receiver, path, events, endpoint.secret, answerDelayMs);
    const requests = receiver.received.filter((entry) => entry.path === path);
    expect(overlappingRepeats(requests, answerDelayMs), 'one event on the wire twice at once').toEqual([]);
    // One endpoint is worked on by one process at a time, and each order has at most one event on the wire.
    expect(receiver.maxInFlight(path)).toBeLessThanOrEqual(orders.length);
    await expectAllRecordedDelivered(endpoint.id, events.length);
    await unregister(endpoint);

    const delivered = await Promise.all(servers.map(deliveredBy));
    console.info(
      `[webhooks/processes] shared: ${events.length} events acknowledged ${deliveredAt - killedAt} ms after the kill, ` +
        `${deliveredAt - restartedAt} ms after the new process was ready; ${repeats} repeats; ` +
        `peak in flight ${receiver.maxInFlight(path)}; delivered by the survivor ${delivered[1 - sending]} (all tests), ` +
        `by the new process ${delivered[sending]}`,
    );
  });

  it('delivers an event committed right before kill -9, from a process restarted on the same database', { timeout: 60_000 }, async () => {
    const path = '/crash';
    receiver.hang(path, 1_000_000);
    const endpoint = await register(path);
    const order = await placeOrder(servers[0]!);
    // The receiver holds order.created: a delivery job is on the wire when the processes die.
    await until(
      () => (receiver.received.some((entry) => entry.path === path) ? null : 'no request yet'),
      Date.now() + 10_000,
      'the first delivery reaches the receiver',
    );
    await advance(servers[1]!, order); // order.paid commits, 200…
    // …and both processes are gone at once: no process is left to send anything, until one is started again.
    await Promise.all(servers.map((server) => stop(server, 'SIGKILL')));
    const killedAt = Date.now();
    expect(receiver.acknowledged(path)).toEqual([]);
    expect(await deliveryStates(endpoint.id), 'both events have a delivery owed').toEqual([{ state: 'pending', n: 2 }]);

    receiver.hang(path, 0);
    servers = [await start()];
    const restartedAt = Date.now();
    const events = await eventsOf([order]);
    expect(events.map((event) => event.type)).toEqual(['order.created', 'order.paid']);
    const deliveredAt = await until(() => unacknowledged(receiver, path, events), restartedAt + DELIVERED_WITHIN_MS, 'both events arrive');
    const repeats = expectDelivered(receiver, path, events, endpoint.secret);
    await expectAllRecordedDelivered(endpoint.id, 2);
    await unregister(endpoint);
    console.info(
      `[webhooks/processes] kill -9: both events acknowledged ${deliveredAt - killedAt} ms after the kill, ` +
        `${deliveredAt - restartedAt} ms after the restarted process was ready; ` +
        `${repeats} requests beyond one per event (the hung ones)`,
    );
  });
});
