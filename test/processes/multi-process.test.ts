/**
 * Three server processes on one PostgreSQL and one Redis are one service (SPEC §2, §7): requests are spread over
 * them round-robin, exactly as a load balancer would.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Actor, secretKey, signToken } from '../../src/domain/auth.ts';
import { backend, createScratchDatabase, DEMO } from '../support/harness.ts';
import { type ServerProcess, startServerProcess } from '../support/server-process.ts';

const JWT_SECRET = 'multi-process-test-secret-of-32-chars!!';

describe.runIf(backend === 'postgres')('several processes as one service', () => {
  let servers: ServerProcess[] = [];
  let database: Awaited<ReturnType<typeof createScratchDatabase>>;
  let sql: pg.Client;

  beforeAll(async () => {
    database = await createScratchDatabase();
    const env = {
      JWT_SECRET,
      DATABASE_URL: database.url,
      REDIS_URL: process.env.TEST_REDIS_URL,
      REDIS_KEY_PREFIX: `mp-${randomUUID()}:`,
      RATE_LIMIT_PER_MINUTE: '0',
    };
    servers = await Promise.all([startServerProcess(env), startServerProcess(env), startServerProcess(env)]);
    sql = new pg.Client({ connectionString: database.url });
    await sql.connect();
  }, 120_000);

  afterAll(async () => {
    for (const server of servers) server.kill('SIGKILL');
    await sql?.end();
    await database?.drop();
  });

  const token = (actor: Actor) => signToken(actor, secretKey(JWT_SECRET), '1h');
  async function gql(server: ServerProcess, actor: Actor, query: string, variables: Record<string, unknown> = {}) {
    const response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await token(actor)}`, 'content-type': 'application/json' },
      body: JSON.stringify({ query, variables }),
    });
    return (await response.json()) as { data: any; errors?: unknown[] };
  }

  async function createOrder(server: ServerProcess): Promise<{ id: string; version: number; totalAmount: number }> {
    const body = await gql(
      server,
      DEMO.customer1,
      `mutation($key: String!) { createOrder(input: { idempotencyKey: $key, restaurantId: "1", items: [{ menuItemId: "1", quantity: 1 }], deliveryAddress: "x" }) {
        ... on CreateOrderSuccess { order { id version totalAmount } } } }`,
      { key: randomUUID() },
    );
    return body.data.createOrder.order;
  }

  const PAY = `mutation($id: ID!, $v: Int!, $key: String!, $amount: Int!) {
    payOrder(orderId: $id, expectedVersion: $v, input: { idempotencyKey: $key, paymentMethod: "card", amount: $amount }) { __typename ... on PayOrderSuccess { replayed order { version } } } }`;

  it('lets exactly one of 12 conflicting accepts spread over the processes succeed', async () => {
    const order = await createOrder(servers[0]!);
    await gql(servers[1]!, DEMO.customer1, PAY, { id: order.id, v: 1, key: randomUUID(), amount: order.totalAmount });
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        gql(
          servers[i % 3]!,
          DEMO.restaurant1,
          'mutation($id: ID!) { acceptOrder(orderId: $id, expectedVersion: 2, input: {}) { __typename } }',
          { id: order.id },
        ),
      ),
    );
    const kinds = results.map((result) => result.data.acceptOrder.__typename).sort();
    expect(kinds.filter((kind) => kind === 'AcceptOrderSuccess')).toHaveLength(1);
    expect(kinds.filter((kind) => kind === 'VersionConflictError')).toHaveLength(11);
    const { rows } = await sql.query('SELECT status, version FROM orders WHERE id = $1', [
      Buffer.from(order.id, 'base64').toString().split(':')[1],
    ]);
    expect(rows[0]).toEqual({ status: 'preparing', version: 3 });
  });

  it('charges once for 20 same-key payments spread over the processes', async () => {
    const order = await createOrder(servers[2]!);
    const key = randomUUID();
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        gql(servers[i % 3]!, DEMO.customer1, PAY, { id: order.id, v: 1, key, amount: order.totalAmount }),
      ),
    );
    const kinds = results.map((result) => result.data.payOrder.__typename);
    expect(kinds.every((kind) => kind === 'PayOrderSuccess' || kind === 'IdempotencyKeyInProgressError')).toBe(true);
    expect(results.filter((result) => result.data.payOrder.replayed === false)).toHaveLength(1);
    const databaseId = Number(Buffer.from(order.id, 'base64').toString().split(':')[1]);
    const { rows } = await sql.query('SELECT count(*)::int AS n FROM payments WHERE order_id = $1', [databaseId]);
    expect(rows[0].n).toBe(1);
    // Once the first has finished, every process replays it.
    for (const server of servers) {
      expect((await gql(server, DEMO.customer1, PAY, { id: order.id, v: 1, key, amount: order.totalAmount })).data.payOrder).toMatchObject({
        replayed: true,
      });
    }
  });

  it('delivers a change made through one process to a subscriber on another', async () => {
    const order = await createOrder(servers[0]!);
    const controller = new AbortController();
    const response = await fetch(`${servers[0]!.url}/graphql`, {
      method: 'POST',
      signal: controller.signal,
      headers: { authorization: `Bearer ${await token(DEMO.customer1)}`, 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({
        query: 'subscription($id: ID!) { orderUpdated(orderId: $id) { status version } }',
        variables: { id: order.id },
      }),
    });
    const reader = response.body!.getReader();
    // Give the subscription a moment to reach Redis before the change.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const changedAt = Date.now();
    await gql(servers[1]!, DEMO.customer1, PAY, { id: order.id, v: 1, key: randomUUID(), amount: order.totalAmount });
    let text = '';
    const decoder = new TextDecoder();
    while (!text.includes('event: next')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value);
    }
    const deliveredIn = Date.now() - changedAt;
    controller.abort();
    expect(text).toContain('"orderUpdated":{"status":"PENDING_ACCEPTANCE","version":2}');
    expect(deliveredIn).toBeLessThan(2_000);
  });
});
