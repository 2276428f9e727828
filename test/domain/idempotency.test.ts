/**
 * Idempotency keys through the service (SPEC §5, §7): a key executes at most once per actor, replays the stored
 * outcome, refuses another request under the same key, and records nothing for a refused request.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  ForbiddenError,
  IdempotencyKeyInProgressError,
  IdempotencyKeyReusedError,
  InvalidTransitionError,
  NotFoundError,
  ValidationError,
  VersionConflictError,
} from '../../src/domain/errors.ts';
import type { ActionResult } from '../../src/domain/orders/order.service.ts';
import { backend, clearRedis, DEMO, MENU, setUpTestService } from '../support/harness.ts';
import { holdCharges, orderIn, placeOrder } from '../support/orders.ts';
import { countStatements } from '../support/sql-counter.ts';

const service = setUpTestService();
afterEach(() => vi.restoreAllMocks());

const prisma = () => service.container.db.prisma;
const orders = () => service.container.orders;
const paymentRows = (orderId?: number) => prisma().payment.count(orderId === undefined ? undefined : { where: { orderId } });
const payRecords = () => prisma().idempotencyRecord.count({ where: { operation: 'pay' } });

describe(`idempotency keys (${backend})`, () => {
  it.each([
    ['as fast as it goes', false],
    ['while the first holds the key', true],
  ])('20 concurrent payOrder with one key charge once (%s); the rest replay or are told the key is in progress', async (_name, hold) => {
    const order = await placeOrder(service);
    const key = randomUUID();
    const pay = () =>
      orders().payOrder({
        actor: DEMO.customer1,
        orderId: order.id,
        expectedVersion: 1,
        idempotencyKey: key,
        paymentMethod: 'card',
        amount: order.totalAmount,
      });
    const gateway = holdCharges(service);
    if (!hold) gateway.release();
    // When holding, the gateway lets the one executing request go once the 19 others have been answered.
    let answered = 0;
    const calls = Array.from({ length: 20 }, () =>
      pay().finally(() => {
        answered += 1;
        if (answered === 19) gateway.release();
      }),
    );
    const settled = await Promise.allSettled(calls);
    gateway.release();
    expect(gateway.spy).toHaveBeenCalledTimes(1);

    expect(await paymentRows()).toBe(1);
    const results = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const failures = settled.flatMap((s) => (s.status === 'rejected' ? [s.reason as unknown] : []));
    for (const failure of failures) expect(failure).toBeInstanceOf(IdempotencyKeyInProgressError);
    if (hold) expect(failures).toHaveLength(19);
    const executed = results.filter((r) => !r.replayed);
    expect(executed).toHaveLength(1);
    const first = executed[0]!;
    expect(first.order).toMatchObject({ status: 'pending_acceptance', version: 2 });
    for (const replay of results.filter((r) => r.replayed)) expect(replay.outcome).toEqual(first.outcome);

    const later = await pay();
    expect(later.replayed).toBe(true);
    expect(later.outcome).toEqual(first.outcome);
    expect(later.order).toMatchObject({ id: order.id, status: 'pending_acceptance', version: 2 });
    expect(await paymentRows()).toBe(1);
    expect(await prisma().orderEvent.count({ where: { orderId: order.id } })).toBe(2);
  });

  it('20 concurrent acceptOrder with one key: one executes, the others wait for it and replay (no 409)', async () => {
    const order = await orderIn(service, 'pending_acceptance');
    const command = { actor: DEMO.restaurant1, orderId: order.id, expectedVersion: order.version, idempotencyKey: randomUUID() };
    // Nothing holds the key outside the database: every duplicate waits on the first one's row and then replays.
    const results = await Promise.all(Array.from({ length: 20 }, () => orders().acceptOrder(command)));
    const executed = results.filter((result) => !result.replayed);
    expect(executed).toHaveLength(1);
    expect(executed[0]!.order).toMatchObject({ status: 'preparing', version: order.version + 1 });
    for (const replay of results.filter((result) => result.replayed)) {
      expect(replay.outcome).toEqual(executed[0]!.outcome);
      expect(replay.order).toMatchObject({ status: 'preparing', version: order.version + 1 });
    }
    expect(await prisma().orderEvent.count({ where: { orderId: order.id, action: 'accept' } })).toBe(1);
    expect(await prisma().event.count({ where: { orderId: order.id, type: 'order.accepted' } })).toBe(1);
    expect(await prisma().idempotencyRecord.count({ where: { key: command.idempotencyKey } })).toBe(1);
  });

  it('20 concurrent createOrder with one key make one order; the others wait for it and replay', async () => {
    const command = {
      actor: DEMO.customer1,
      idempotencyKey: randomUUID(),
      restaurantId: 1,
      items: [{ menuItemId: MENU.r1[0], quantity: 1 }],
      deliveryAddress: '3 Race Road',
    };
    const results = await Promise.all(Array.from({ length: 20 }, () => orders().createOrder(command)));
    const executed = results.filter((result) => !result.replayed);
    expect(executed).toHaveLength(1);
    for (const replay of results.filter((result) => result.replayed)) expect(replay.outcome).toEqual(executed[0]!.outcome);
    expect(await prisma().order.count()).toBe(1);
    expect(await prisma().idempotencyRecord.count({ where: { key: command.idempotencyKey } })).toBe(1);
  });

  it('concurrent payOrder with different keys still pays once (the version guards the order)', async () => {
    const order = await placeOrder(service);
    const settled = await Promise.allSettled(
      Array.from({ length: 5 }, () =>
        orders().payOrder({
          actor: DEMO.customer1,
          orderId: order.id,
          expectedVersion: null,
          idempotencyKey: randomUUID(),
          paymentMethod: 'card',
          amount: order.totalAmount,
        }),
      ),
    );
    expect(settled.filter((s) => s.status === 'fulfilled')).toHaveLength(1);
    for (const s of settled) if (s.status === 'rejected') expect(s.reason).toBeInstanceOf(InvalidTransitionError);
    expect(await paymentRows(order.id)).toBe(1);
  });

  it('replays from the Redis cache without asking the idempotency table', async () => {
    const order = await placeOrder(service);
    const command = {
      actor: DEMO.customer1,
      orderId: order.id,
      expectedVersion: 1,
      idempotencyKey: 'k-cached',
      paymentMethod: 'card',
      amount: order.totalAmount,
    };
    const first = await orders().payOrder(command);
    const { result: again, statements } = await countStatements(service.container.db, () => orders().payOrder(command));
    expect(again).toMatchObject({ replayed: true, outcome: first.outcome });
    expect(statements.filter((sql) => sql.includes('idempotency_records'))).toEqual([]);
  });

  it('replays from the database when the Redis cache is gone', async () => {
    const order = await placeOrder(service);
    const command = {
      actor: DEMO.customer1,
      orderId: order.id,
      expectedVersion: 1,
      idempotencyKey: 'k-flush',
      paymentMethod: 'card',
      amount: order.totalAmount,
    };
    const first = await orders().payOrder(command);
    await clearRedis(service.container);
    const again = await orders().payOrder(command);
    expect(again).toMatchObject({ replayed: true, outcome: first.outcome });
    expect(await paymentRows()).toBe(1);
  });

  it('the same key with another amount (or another action) is IdempotencyKeyReusedError, before any business rule', async () => {
    const order = await placeOrder(service);
    const base = { actor: DEMO.customer1, orderId: order.id, expectedVersion: 1, idempotencyKey: 'k-reuse', paymentMethod: 'card' };
    await orders().payOrder({ ...base, amount: order.totalAmount });
    await expect(orders().payOrder({ ...base, amount: order.totalAmount + 1 })).rejects.toBeInstanceOf(IdempotencyKeyReusedError);
    await expect(orders().payOrder({ ...base, paymentMethod: 'wallet', amount: order.totalAmount })).rejects.toBeInstanceOf(
      IdempotencyKeyReusedError,
    );
    await expect(orders().cancelOrder({ ...base, expectedVersion: 2 })).rejects.toBeInstanceOf(IdempotencyKeyReusedError);
    const other = await placeOrder(service);
    await expect(orders().payOrder({ ...base, orderId: other.id, amount: other.totalAmount })).rejects.toBeInstanceOf(
      IdempotencyKeyReusedError,
    );
    expect(await paymentRows()).toBe(1);
  });

  it("keys are scoped to the actor: customer 2's key does not replay customer 1's", async () => {
    const mine = await placeOrder(service);
    const theirs = await placeOrder(service, { customer: DEMO.customer2 });
    const key = 'k-shared';
    const a = await orders().payOrder({
      actor: DEMO.customer1,
      orderId: mine.id,
      expectedVersion: 1,
      idempotencyKey: key,
      paymentMethod: 'card',
      amount: mine.totalAmount,
    });
    const b = await orders().payOrder({
      actor: DEMO.customer2,
      orderId: theirs.id,
      expectedVersion: 1,
      idempotencyKey: key,
      paymentMethod: 'card',
      amount: theirs.totalAmount,
    });
    expect(a.replayed).toBe(false);
    expect(b.replayed).toBe(false);
    expect(b.order).toMatchObject({ id: theirs.id, customerId: 2, status: 'pending_acceptance' });
    expect(await paymentRows(mine.id)).toBe(1);
    expect(await paymentRows(theirs.id)).toBe(1);
  });

  it('a declined payment is recorded and replays', async () => {
    const order = await placeOrder(service);
    const command = {
      actor: DEMO.customer1,
      orderId: order.id,
      expectedVersion: 1,
      idempotencyKey: 'k-decline',
      paymentMethod: 'test_decline',
      amount: order.totalAmount,
    };
    const first = await orders().payOrder(command);
    expect(first).toMatchObject({ replayed: false, order: { status: 'payment_failed', version: 2 } });
    const rows = await prisma().payment.findMany({ where: { orderId: order.id } });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 'declined', amount: order.totalAmount });
    const again = await orders().payOrder(command);
    expect(again).toMatchObject({ replayed: true, order: { status: 'payment_failed', version: 2 } });
    expect(again.outcome).toEqual(first.outcome);
    expect(await paymentRows()).toBe(1);
  });

  it('a request refused with a domain error records nothing: the same key then works once fixed', async () => {
    const order = await placeOrder(service);
    const base = { actor: DEMO.customer1, orderId: order.id, idempotencyKey: 'k-fix', paymentMethod: 'card' };
    await expect(orders().payOrder({ ...base, expectedVersion: 1, amount: order.totalAmount - 1 })).rejects.toBeInstanceOf(ValidationError);
    await expect(orders().payOrder({ ...base, expectedVersion: 7, amount: order.totalAmount })).rejects.toBeInstanceOf(
      VersionConflictError,
    );
    expect(await payRecords()).toBe(0);
    expect(await paymentRows()).toBe(0);
    const fixed = await orders().payOrder({ ...base, expectedVersion: 1, amount: order.totalAmount });
    expect(fixed).toMatchObject({ replayed: false, order: { status: 'pending_acceptance', version: 2 } });
    expect(await payRecords()).toBe(1);
    expect(await paymentRows()).toBe(1);
  });

  it('a replay with a stale expectedVersion still replays, with the order as it is now', async () => {
    const order = await placeOrder(service);
    const command = {
      actor: DEMO.customer1,
      orderId: order.id,
      expectedVersion: 1,
      idempotencyKey: 'k-stale',
      paymentMethod: 'card',
      amount: order.totalAmount,
    };
    const first = await orders().payOrder(command);
    await orders().acceptOrder({ actor: DEMO.restaurant1, orderId: order.id, expectedVersion: 2 });
    const again = await orders().payOrder(command);
    expect(again.replayed).toBe(true);
    expect(again.outcome).toEqual(first.outcome);
    expect(again.order).toMatchObject({ status: 'preparing', version: 3 });
    expect(await paymentRows()).toBe(1);
  });

  it('an optional key on another action replays too', async () => {
    const order = await orderIn(service, 'pending_acceptance');
    const command = { actor: DEMO.restaurant1, orderId: order.id, expectedVersion: order.version, idempotencyKey: 'k-accept' };
    const first = await orders().acceptOrder(command);
    const again = await orders().acceptOrder(command);
    expect(first.replayed).toBe(false);
    expect(again).toMatchObject({ replayed: true, outcome: first.outcome, order: { version: order.version + 1 } });
    expect(await prisma().orderEvent.count({ where: { orderId: order.id, action: 'accept' } })).toBe(1);
  });

  it('a key used for another request is refused (422) even where the action would succeed; 404 and 403 still come first', async () => {
    const [first, second] = [await orderIn(service, 'pending_acceptance'), await orderIn(service, 'pending_acceptance')];
    const elsewhere = await orderIn(service, 'pending_acceptance', { restaurantId: 2 });
    const base = { actor: DEMO.restaurant1, idempotencyKey: 'k-used' };
    await orders().acceptOrder({ ...base, orderId: first.id, expectedVersion: first.version });
    // One statement would accept `second`; the key's record refuses it, and nothing of it stays.
    await expect(orders().acceptOrder({ ...base, orderId: second.id, expectedVersion: second.version })).rejects.toBeInstanceOf(
      IdempotencyKeyReusedError,
    );
    await expect(orders().acceptOrder({ ...base, orderId: second.id, expectedVersion: 99 })).rejects.toBeInstanceOf(
      IdempotencyKeyReusedError,
    );
    await expect(orders().acceptOrder({ ...base, orderId: elsewhere.id, expectedVersion: elsewhere.version })).rejects.toBeInstanceOf(
      NotFoundError,
    );
    await expect(orders().cancelOrder({ ...base, orderId: second.id, expectedVersion: second.version })).rejects.toBeInstanceOf(
      ForbiddenError,
    );
    expect(await prisma().order.findUniqueOrThrow({ where: { id: second.id } })).toMatchObject({
      status: 'pending_acceptance',
      version: second.version,
    });
    expect(await prisma().orderEvent.count({ where: { orderId: second.id } })).toBe(second.version);
  });

  it('createOrder with the same key twice makes one order; another body under that key is refused', async () => {
    const command = {
      actor: DEMO.customer1,
      idempotencyKey: 'k-create',
      restaurantId: 1,
      items: [{ menuItemId: MENU.r1[1], quantity: 3 }],
      deliveryAddress: '2 Replay Road',
    };
    const first: ActionResult = await orders().createOrder(command);
    const again = await orders().createOrder(command);
    expect(first).toMatchObject({ replayed: false, outcome: { result: 'created' } });
    expect(again).toMatchObject({ replayed: true, order: { id: first.order.id } });
    expect(again.outcome).toEqual(first.outcome);
    await expect(orders().createOrder({ ...command, items: [{ menuItemId: MENU.r1[1], quantity: 4 }] })).rejects.toBeInstanceOf(
      IdempotencyKeyReusedError,
    );
    expect(await prisma().order.count()).toBe(1);
    // Another customer's identical request under the same key is its own order.
    const theirs = await orders().createOrder({ ...command, actor: DEMO.customer2 });
    expect(theirs).toMatchObject({ replayed: false, order: { customerId: 2 } });
    expect(await prisma().order.count()).toBe(2);
  });
});
