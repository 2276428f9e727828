/**
 * The single-statement action write (src/domain/orders/order-change.ts): all or nothing. When the order is not where
 * the change was decided to apply, nothing is written; when any part is refused by the database (here: an idempotency
 * key recorded meanwhile), the order, its history and its payment stay exactly as they were. The order the statement
 * renders (for the outcome, the event and the caller) is exactly what toSnapshot() makes of the order loaded after it.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Actor } from '../../src/domain/auth.ts';
import { VersionConflictError } from '../../src/domain/errors.ts';
import { isKeyConflict } from '../../src/domain/idempotency.ts';
import { loadOrder, type OrderWithItems, toSnapshot } from '../../src/domain/orders/order.queries.ts';
import type { ActionResult } from '../../src/domain/orders/order.service.ts';
import { commitOrderChange, type OrderChange, snapshotSql } from '../../src/domain/orders/order-change.ts';
import { Prisma } from '../../src/generated/prisma/client.ts';
import { backend, DEMO, MENU, setUpTestService } from '../support/harness.ts';
import { orderIn, placeOrder } from '../support/orders.ts';
import { countStatements } from '../support/sql-counter.ts';

// No job runner: a refund's job would send statements in the background while a test counts a request's own.
const service = setUpTestService({}, { container: { runJobs: false } });

const prisma = () => service.container.db.prisma;
const readRows = () => service.container.db.readRows;

/** What a paid order's state is made of: the row, its history, payments, refunds and events, and its cancellation's record. */
async function stateOf(orderId: number) {
  const [order, history, payments, refunds, events, records] = await Promise.all([
    prisma().order.findUniqueOrThrow({ where: { id: orderId } }),
    prisma().orderEvent.count({ where: { orderId } }),
    prisma().payment.count({ where: { orderId } }),
    prisma().refund.count({ where: { orderId } }),
    prisma().event.count({ where: { orderId } }),
    prisma().idempotencyRecord.count({ where: { orderId, operation: 'cancel' } }),
  ]);
  return { status: order.status, version: order.version, updatedAt: order.updatedAt, history, payments, refunds, events, records };
}

/** A cancellation of a paid order by its customer, with a refund and an idempotency record. */
function cancellation(orderId: number, decided: OrderChange['decided'], key: string, actor: Actor = DEMO.customer1): OrderChange {
  return {
    orderId,
    decided,
    action: 'cancel',
    actor,
    assignedRiderId: null,
    reason: 'test',
    at: new Date(),
    refund: true,
    idempotency: {
      actorRole: actor.role,
      actorId: actor.id,
      key,
      operation: 'cancel',
      fingerprint: `fingerprint-${orderId}`,
      orderId,
      expiresAt: new Date(Date.now() + 60_000),
    },
  };
}

/** The order as loaded after the change, as toSnapshot() renders it. */
const snapshotOf = async (orderId: number) => toSnapshot((await loadOrder(prisma(), orderId))!);

describe(`the action write (${backend})`, () => {
  it('commits the change, its history, refund, event and idempotency record together, and renders the order as toSnapshot does', async () => {
    const order = await orderIn(service, 'pending_acceptance');
    const key = randomUUID();
    const committed = await commitOrderChange(readRows(), cancellation(order.id, { version: order.version, toStatus: 'cancelled' }, key));
    expect(await stateOf(order.id)).toMatchObject({
      status: 'cancelled',
      version: order.version + 1,
      history: order.version + 1,
      payments: 1,
      refunds: 1,
      events: order.version + 1,
      records: 1,
    });
    const snapshot = await snapshotOf(order.id);
    expect(committed).toEqual({ order: await loadOrder(prisma(), order.id), snapshot });
    const event = await prisma().event.findFirstOrThrow({ where: { orderId: order.id, version: order.version + 1 } });
    expect(event).toMatchObject({ type: 'order.cancelled', data: { order: snapshot } });
    const record = await prisma().idempotencyRecord.findFirstOrThrow({ where: { key } });
    expect(record.outcome).toEqual({ result: 'ok', order: snapshot });
    const history = await prisma().orderEvent.findFirstOrThrow({ where: { orderId: order.id, version: order.version + 1 } });
    expect(history).toMatchObject({ action: 'cancel', fromStatus: 'pending_acceptance', toStatus: 'cancelled', reason: 'test' });
  });

  it('writes nothing when the order is no longer at the version it was decided on', async () => {
    const order = await orderIn(service, 'pending_acceptance');
    const before = await stateOf(order.id);
    const decided = { version: order.version - 1, toStatus: 'cancelled' } as const;
    expect(await commitOrderChange(readRows(), cancellation(order.id, decided, randomUUID()))).toBeNull();
    expect(await stateOf(order.id)).toEqual(before);
  });

  it('undoes the whole change when its idempotency key was recorded meanwhile', async () => {
    const [first, second] = [await orderIn(service, 'pending_acceptance'), await orderIn(service, 'pending_acceptance')];
    const key = randomUUID();
    await commitOrderChange(readRows(), cancellation(first.id, { expectedVersion: first.version }, key));
    const before = await stateOf(second.id);

    const refused = await commitOrderChange(readRows(), cancellation(second.id, { expectedVersion: second.version }, key)).catch(
      (error: unknown) => error,
    );
    expect(isKeyConflict(refused)).toBe(true);
    // Not cancelled, no event, no refund: the update and the inserts before the refused one are gone too.
    expect(await stateOf(second.id)).toEqual(before);
    expect(before).toMatchObject({ status: 'pending_acceptance', payments: 1, refunds: 0, records: 0 });
  });

  it('decided by the statement: writes when the version, state, actor and rider allow it, and nothing otherwise', async () => {
    const order = await orderIn(service, 'pending_acceptance');
    const before = await stateOf(order.id);
    const refused: [string, OrderChange][] = [
      ['another version', cancellation(order.id, { expectedVersion: order.version + 1 }, randomUUID())],
      ['none of the versions listed', cancellation(order.id, { expectedVersion: [1, order.version + 1] }, randomUUID())],
      ['no version listed', cancellation(order.id, { expectedVersion: [] }, randomUUID())],
      ['a version no row can have', cancellation(order.id, { expectedVersion: [9_999_999_999, order.version + 1] }, randomUUID())],
      ['an id no row can have', { ...cancellation(order.id, { expectedVersion: null }, randomUUID()), orderId: 99_999_999_999 }],
      ['an actor who cannot see it', cancellation(order.id, { expectedVersion: null }, randomUUID(), DEMO.customer2)],
      ['an actor whose action it is not', { ...cancellation(order.id, { expectedVersion: null }, randomUUID()), actor: DEMO.restaurant1 }],
      ['an illegal transition', { ...cancellation(order.id, { expectedVersion: null }, randomUUID()), action: 'complete_preparation' }],
    ];
    for (const [why, change] of refused) {
      expect(await commitOrderChange(readRows(), change), why).toBeNull();
      expect(await stateOf(order.id), why).toEqual(before);
    }
    const committed = await commitOrderChange(readRows(), cancellation(order.id, { expectedVersion: [1, order.version] }, randomUUID()));
    expect(committed?.order).toMatchObject({ status: 'cancelled', version: order.version + 1 });
    expect(committed?.snapshot).toEqual(await snapshotOf(order.id));
  });

  it('decided by the statement: the status is the state machine’s target, a rider only one that exists', async () => {
    const order = await orderIn(service, 'ready_for_pickup');
    const claim = (riderId: number): OrderChange => ({
      orderId: order.id,
      decided: { expectedVersion: null },
      action: 'assign_rider',
      actor: DEMO.admin,
      assignedRiderId: riderId,
      reason: null,
      at: new Date(),
    });
    expect(await commitOrderChange(readRows(), claim(987_654))).toBeNull();
    const committed = await commitOrderChange(readRows(), claim(DEMO.rider2.id));
    expect(committed?.order).toMatchObject({ status: 'ready_for_pickup', riderId: DEMO.rider2.id, version: order.version + 1 });
    const history = await prisma().orderEvent.findFirstOrThrow({ where: { orderId: order.id, version: order.version + 1 } });
    expect(history).toMatchObject({ action: 'assign_rider', fromStatus: 'ready_for_pickup', toStatus: 'ready_for_pickup', riderId: 2 });
  });

  it('renders any order as toSnapshot does: with and without a rider, one item or several', async () => {
    const orders = [
      await placeOrder(service),
      await placeOrder(service, {
        items: [
          { menuItemId: MENU.r1[2], quantity: 1 },
          { menuItemId: MENU.r1[0], quantity: 99 },
          { menuItemId: MENU.r1[1], quantity: 3 },
          { menuItemId: MENU.r1[0], quantity: 2 },
        ],
      }),
      await orderIn(service, 'in_transit'),
      await orderIn(service, 'preparing', { customer: DEMO.customer2, restaurantId: 2, withRider: true }),
    ];
    for (const order of orders) {
      const [row] = await prisma().$queryRaw<{ snapshot: Prisma.JsonObject }[]>(
        Prisma.sql`SELECT ${snapshotSql('o')} AS snapshot FROM orders o WHERE o.id = ${order.id}::integer`,
      );
      expect(JSON.stringify(row!.snapshot)).toBe(JSON.stringify(await snapshotOf(order.id)));
    }
  });
});

describe(`an action through the service (${backend})`, () => {
  it('a fresh keyed accept is one SQL statement; the order is read only when that statement matched nothing', async () => {
    const order = await orderIn(service, 'pending_acceptance');
    const accept = (expectedVersion: number) =>
      service.container.orders.acceptOrder({ actor: DEMO.restaurant1, orderId: order.id, expectedVersion, idempotencyKey: randomUUID() });
    const stale = await countStatements(service.container.db, () => accept(order.version - 1).catch((error: unknown) => error));
    expect(stale.result).toBeInstanceOf(VersionConflictError);
    // The statement that matched nothing, the read that says why (412), and the key's record (none: not a replay).
    expect(stale.statements).toEqual([
      expect.stringMatching(/^WITH updated AS/),
      expect.stringMatching(/FROM "public"."orders"/),
      expect.stringMatching(/FROM "public"."idempotency_records"/),
    ]);
    const fresh = await countStatements(service.container.db, () => accept(order.version));
    expect(fresh.statements).toEqual([expect.stringMatching(/^WITH updated AS/)]);
    expect(fresh.result).toMatchObject({ replayed: false, order: { status: 'preparing', version: order.version + 1 } });
  });

  it('each action but a payment is one statement, and answers, stores and announces what a read of the order after it shows', async () => {
    const announced: OrderWithItems[] = [];
    const listener = (order: OrderWithItems) => announced.push(order);
    service.container.orderChangeListeners.add(listener);
    try {
      const orders = service.container.orders;
      const restaurant = DEMO.restaurant1;
      const key = () => ({ idempotencyKey: randomUUID() });
      const steps: [string, (order: OrderWithItems) => Promise<ActionResult>][] = [
        ['accept', (o) => orders.acceptOrder({ actor: restaurant, orderId: o.id, expectedVersion: o.version, ...key() })],
        ['complete', (o) => orders.completeOrderPreparation({ actor: restaurant, orderId: o.id, expectedVersion: [o.version], ...key() })],
        ['claim', (o) => orders.assignRider({ actor: DEMO.rider2, orderId: o.id, expectedVersion: null, ...key() })],
        ['pick up', (o) => orders.pickUpOrder({ actor: DEMO.rider2, orderId: o.id, expectedVersion: o.version })],
        ['deliver', (o) => orders.deliverOrder({ actor: DEMO.admin, orderId: o.id, expectedVersion: o.version, ...key() })],
      ];
      const cancelled = await orderIn(service, 'pending_acceptance');
      const rejected = await orderIn(service, 'pending_acceptance');
      let order: OrderWithItems = await orderIn(service, 'pending_acceptance');
      const runs: [string, () => Promise<ActionResult>][] = [
        ...steps.map(([name, step]): [string, () => Promise<ActionResult>] => [name, async () => step(order)]),
        ['cancel', () => orders.cancelOrder({ actor: DEMO.customer1, orderId: cancelled.id, expectedVersion: 2, reason: 'r', ...key() })],
        ['reject', () => orders.rejectOrder({ actor: restaurant, orderId: rejected.id, expectedVersion: 2, ...key() })],
      ];
      for (const [name, run] of runs) {
        announced.length = 0;
        const { result, statements } = await countStatements(service.container.db, run);
        expect(statements, name).toEqual([expect.stringMatching(/^WITH updated AS/)]);
        const stored = (await loadOrder(prisma(), result.order.id))!;
        expect(result, name).toEqual({ order: stored, replayed: false, outcome: { result: 'ok', order: toSnapshot(stored) } });
        expect(announced, name).toEqual([stored]);
        const event = await prisma().event.findFirstOrThrow({ where: { orderId: stored.id, version: stored.version } });
        expect(event.data, name).toEqual({ order: toSnapshot(stored) });
        if (result.order.id === order.id) order = result.order;
      }
      expect(order).toMatchObject({ status: 'delivered', riderId: DEMO.rider2.id });
    } finally {
      service.container.orderChangeListeners.delete(listener);
    }
  });
});
