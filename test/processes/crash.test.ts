/**
 * kill -9 in the middle of payments, restart, retry every payment with its key (SPEC §7): every order is charged at
 * most once and its status agrees with its payments.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type Actor, secretKey, signToken } from '../../src/domain/auth.ts';
import { findViolations, formatViolations } from '../../src/domain/invariants.ts';
import { openDatabase } from '../../src/infra/db.ts';
import { backend, createScratchDatabase, DEMO } from '../support/harness.ts';
import { freePort, type ServerProcess, startServerProcess } from '../support/server-process.ts';

const JWT_SECRET = 'crash-test-secret-of-at-least-32-chars!';
const PAY = `mutation($id: ID!, $v: Int!, $key: String!, $amount: Int!) {
  payOrder(orderId: $id, expectedVersion: $v, input: { idempotencyKey: $key, paymentMethod: "card", amount: $amount }) {
    __typename ... on PayOrderSuccess { replayed order { status version } } ... on VersionConflictError { currentVersion } } }`;

describe(`crash mid-payment (${backend})`, () => {
  let server: ServerProcess | undefined;
  const cleanups: (() => Promise<void> | void)[] = [];
  afterAll(async () => {
    server?.kill('SIGKILL');
    for (const cleanup of cleanups) await cleanup();
  });

  it('charges each order at most once across kill -9, restart and retries', { timeout: 180_000 }, async () => {
    const scratch = backend === 'postgres' ? await createScratchDatabase() : null;
    if (scratch) cleanups.push(scratch.drop);
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'crash-pglite-'));
    cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    const port = await freePort();
    const env = {
      PORT: String(port),
      JWT_SECRET,
      RATE_LIMIT_PER_MINUTE: '0',
      DATABASE_URL: scratch?.url,
      REDIS_URL: process.env.TEST_REDIS_URL,
      REDIS_KEY_PREFIX: `crash-${randomUUID()}:`,
      EMBEDDED_DATA_DIR: dataDir,
    };
    server = await startServerProcess(env);
    const token = await signToken(DEMO.customer1 as Actor, secretKey(JWT_SECRET), '1h');
    const gql = async (query: string, variables: Record<string, unknown>) => {
      const response = await fetch(`${server!.url}/graphql`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ query, variables }),
      });
      return (await response.json()) as { data: any };
    };

    const orders: { id: string; totalAmount: number; key: string }[] = [];
    for (let i = 0; i < 20; i++) {
      const body = await gql(
        `mutation($key: String!) { createOrder(input: { idempotencyKey: $key, restaurantId: "1", items: [{ menuItemId: "2", quantity: 1 }], deliveryAddress: "x" }) {
          ... on CreateOrderSuccess { order { id totalAmount } } } }`,
        { key: randomUUID() },
      );
      orders.push({ ...body.data.createOrder.order, key: randomUUID() });
    }

    // Fire all 20 payments and kill the process as soon as the first one is answered.
    const attempts = orders.map((order) => gql(PAY, { id: order.id, v: 1, key: order.key, amount: order.totalAmount }).catch(() => null));
    await Promise.race(attempts);
    server.kill('SIGKILL');
    await server.exited;
    await Promise.all(attempts);

    server = await startServerProcess(env);
    for (const order of orders) {
      // The same key and body: replays what committed before the crash, or executes now.
      let result = (await gql(PAY, { id: order.id, v: 1, key: order.key, amount: order.totalAmount })).data.payOrder;
      // A lock left by the killed process frees itself within 10 s.
      for (let wait = 0; result.__typename === 'IdempotencyKeyInProgressError' && wait < 15; wait++) {
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        result = (await gql(PAY, { id: order.id, v: 1, key: order.key, amount: order.totalAmount })).data.payOrder;
      }
      expect(result.__typename).toBe('PayOrderSuccess');
      expect(result.order).toEqual({ status: 'PENDING_ACCEPTANCE', version: 2 });
    }
    server.kill('SIGTERM');
    await server.exited;
    server = undefined;

    const db = await openDatabase({ url: scratch?.url, embeddedDataDir: dataDir });
    try {
      const payments = await db.prisma.payment.groupBy({ by: ['orderId'], _count: true });
      expect(payments).toHaveLength(20);
      expect(payments.every((row) => row._count === 1)).toBe(true);
      expect(formatViolations(await findViolations(db.prisma))).toBe('All invariants hold.');
    } finally {
      await db.close();
    }
  });
});
