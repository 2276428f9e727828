/**
 * Who may do what (SPEC §1, §3): every action × every demo actor, on an order of customer 1 at restaurant 1 in a
 * state where the action is legal. NotFoundError where the order does not exist for the actor, ForbiddenError where
 * it is visible but not the actor's action, success otherwise. Plus the reads, per role.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Actor } from '../../src/domain/auth.ts';
import { ForbiddenError, InvalidTransitionError, NotFoundError, ValidationError, VersionConflictError } from '../../src/domain/errors.ts';
import { getVisibleOrder, listVisibleOrders, type OrderWithItems } from '../../src/domain/orders/order.queries.ts';
import type { OrderActionName, OrderStatusName } from '../../src/domain/orders/order-state-machine.ts';
import { backend, DEMO, MENU, setUpTestService } from '../support/harness.ts';
import { orderIn } from '../support/orders.ts';

const service = setUpTestService();

type Role = keyof typeof DEMO;
type Outcome = 'ok' | 'not_found' | 'forbidden';
const ROLES = Object.keys(DEMO) as Role[];

/** Runs `action` as `actor` at the order's current version, with the input that actor must send. */
function run(action: OrderActionName, actor: Actor, order: OrderWithItems) {
  const orders = service.container.orders;
  const base = { actor, orderId: order.id, expectedVersion: order.version };
  switch (action) {
    case 'pay':
      return orders.payOrder({ ...base, idempotencyKey: randomUUID(), paymentMethod: 'card', amount: order.totalAmount });
    case 'cancel':
      return orders.cancelOrder({ ...base, reason: 'changed my mind' });
    case 'accept':
      return orders.acceptOrder(base);
    case 'reject':
      return orders.rejectOrder({ ...base, reason: 'closing early' });
    case 'complete_preparation':
      return orders.completeOrderPreparation(base);
    case 'assign_rider':
      // An admin names the rider; a rider claims for itself and must not name one.
      return orders.assignRider(actor.role === 'admin' ? { ...base, riderId: 2 } : base);
    case 'pick_up':
      return orders.pickUpOrder(base);
    case 'deliver':
      return orders.deliverOrder(base);
  }
}

const TARGET: Record<OrderActionName, OrderStatusName | null> = {
  pay: 'pending_acceptance',
  cancel: 'cancelled',
  accept: 'preparing',
  reject: 'rejected',
  complete_preparation: 'ready_for_pickup',
  assign_rider: null, // unchanged
  pick_up: 'in_transit',
  deliver: 'delivered',
};

/** The matrix, from SPEC §3: columns customer1 customer2 restaurant1 restaurant2 rider1 rider2 admin. */
const o = 'ok' as const;
const n = 'not_found' as const;
const f = 'forbidden' as const;
type Row = { action: OrderActionName; status: OrderStatusName; withRider: boolean; outcomes: (Outcome | null)[] };
const MATRIX: Row[] = [
  { action: 'pay', status: 'pending_payment', withRider: false, outcomes: [o, n, f, n, n, n, o] },
  { action: 'cancel', status: 'pending_acceptance', withRider: false, outcomes: [o, n, f, n, n, n, o] },
  { action: 'accept', status: 'pending_acceptance', withRider: false, outcomes: [f, n, o, n, n, n, o] },
  { action: 'reject', status: 'pending_acceptance', withRider: false, outcomes: [f, n, o, n, n, n, o] },
  // Unclaimed preparing orders are offered to every rider, so riders see it: not theirs to complete.
  { action: 'complete_preparation', status: 'preparing', withRider: false, outcomes: [f, n, o, n, f, f, o] },
  { action: 'assign_rider', status: 'preparing', withRider: false, outcomes: [f, n, f, n, o, o, o] },
  { action: 'pick_up', status: 'ready_for_pickup', withRider: true, outcomes: [f, n, f, n, o, n, o] },
  { action: 'deliver', status: 'in_transit', withRider: true, outcomes: [f, n, f, n, o, n, o] },
  // Variants of the same rules in the other states where the action is legal.
  { action: 'cancel', status: 'pending_payment', withRider: false, outcomes: [o, n, f, n, n, n, o] },
  { action: 'complete_preparation', status: 'preparing', withRider: true, outcomes: [f, n, o, n, f, n, o] },
  { action: 'assign_rider', status: 'ready_for_pickup', withRider: false, outcomes: [f, n, f, n, o, o, o] },
  // "A rider picking up an order it has not claimed" is the SPEC's example of 403 (admin: see the report).
  { action: 'pick_up', status: 'ready_for_pickup', withRider: false, outcomes: [f, n, f, n, f, f, null] },
];

const cases = MATRIX.flatMap((row) =>
  row.outcomes.flatMap((outcome, column) => (outcome === null ? [] : [{ ...row, role: ROLES[column]!, outcome }])),
);

describe(`authorization matrix (${backend})`, () => {
  it('covers every action for every role', () => {
    expect(ROLES).toEqual(['customer1', 'customer2', 'restaurant1', 'restaurant2', 'rider1', 'rider2', 'admin']);
    const covered = new Set(cases.map((c) => `${c.action}/${c.role}`));
    expect(covered.size).toBe(8 * 7);
  });

  it.each(cases)(
    '$action on a $status order (rider: $withRider) as $role → $outcome',
    async ({ action, status, withRider, role, outcome }) => {
      const actor = DEMO[role];
      const order = await orderIn(service, status, { withRider });
      const attempt = run(action, actor, order);
      const stored = () => service.container.db.prisma.order.findUniqueOrThrow({ where: { id: order.id } });
      if (outcome === 'ok') {
        const result = await attempt;
        const expectedRider = action === 'assign_rider' ? (actor.role === 'admin' ? 2 : actor.id) : order.riderId;
        expect(result.order).toMatchObject({ status: TARGET[action] ?? status, version: order.version + 1, riderId: expectedRider });
        expect(await stored()).toMatchObject({ status: TARGET[action] ?? status, version: order.version + 1 });
        return;
      }
      await expect(attempt).rejects.toBeInstanceOf(outcome === 'not_found' ? NotFoundError : ForbiddenError);
      expect(await stored()).toMatchObject({ status, version: order.version, riderId: order.riderId });
    },
  );
});

describe(`authorization details (${backend})`, () => {
  it('assignRider: a rider must not name a rider, an admin must, and the named rider must exist', async () => {
    const order = await orderIn(service, 'preparing');
    const base = { orderId: order.id, expectedVersion: order.version };
    await expect(service.container.orders.assignRider({ ...base, actor: DEMO.rider1, riderId: 1 })).rejects.toBeInstanceOf(ValidationError);
    await expect(service.container.orders.assignRider({ ...base, actor: DEMO.admin })).rejects.toBeInstanceOf(ValidationError);
    await expect(service.container.orders.assignRider({ ...base, actor: DEMO.admin, riderId: 999 })).rejects.toBeInstanceOf(
      ValidationError,
    );
  });

  it('a claim on an order another rider already holds is an illegal transition, never 403/404', async () => {
    for (const status of ['preparing', 'ready_for_pickup'] as const) {
      const order = await orderIn(service, status, { withRider: true });
      const attempt = service.container.orders.assignRider({ actor: DEMO.rider2, orderId: order.id, expectedVersion: order.version });
      await expect(attempt).rejects.toBeInstanceOf(InvalidTransitionError);
      await expect(attempt).rejects.toMatchObject({ currentStatus: status, allowedActions: [] });
    }
  });

  it('only customers place orders', async () => {
    for (const actor of [DEMO.restaurant1, DEMO.rider1, DEMO.admin]) {
      await expect(
        service.container.orders.createOrder({
          actor,
          idempotencyKey: randomUUID(),
          restaurantId: 1,
          items: [{ menuItemId: MENU.r1[0], quantity: 1 }],
          deliveryAddress: 'x',
        }),
      ).rejects.toBeInstanceOf(ForbiddenError);
    }
  });

  it('an order that does not exist is NotFoundError for everyone', async () => {
    for (const role of ROLES) {
      await expect(service.container.orders.acceptOrder({ actor: DEMO[role], orderId: 424242, expectedVersion: 1 })).rejects.toBeInstanceOf(
        NotFoundError,
      );
    }
  });

  it('which failure wins: 404 → 403 → 412 → 409', async () => {
    const order = await orderIn(service, 'pending_acceptance');
    const orders = service.container.orders;
    // Not visible and stale: 404.
    await expect(orders.cancelOrder({ actor: DEMO.customer2, orderId: order.id, expectedVersion: 99 })).rejects.toBeInstanceOf(
      NotFoundError,
    );
    // Visible, not its action, and stale: 403.
    await expect(orders.cancelOrder({ actor: DEMO.restaurant1, orderId: order.id, expectedVersion: 99 })).rejects.toBeInstanceOf(
      ForbiddenError,
    );
    // Its action, stale, and illegal now: 412.
    await expect(
      orders.payOrder({
        actor: DEMO.customer1,
        orderId: order.id,
        expectedVersion: 99,
        idempotencyKey: 'k',
        paymentMethod: 'card',
        amount: 1,
      }),
    ).rejects.toBeInstanceOf(VersionConflictError);
    // Current version, illegal now, wrong amount: 409, with what this actor may do instead.
    const illegal = orders.payOrder({
      actor: DEMO.customer1,
      orderId: order.id,
      expectedVersion: order.version,
      idempotencyKey: 'k',
      paymentMethod: 'card',
      amount: 1,
    });
    await expect(illegal).rejects.toBeInstanceOf(InvalidTransitionError);
    await expect(illegal).rejects.toMatchObject({ currentStatus: 'pending_acceptance', allowedActions: ['cancel'] });
    // Visible, not its action, and illegal in this state anyway: 403 before 409.
    const done = await orderIn(service, 'delivered');
    await expect(orders.acceptOrder({ actor: DEMO.customer1, orderId: done.id, expectedVersion: done.version })).rejects.toBeInstanceOf(
      ForbiddenError,
    );
  });
});

describe(`reads per role (${backend})`, () => {
  it('getVisibleOrder and listVisibleOrders show each actor exactly its orders', async () => {
    // a: customer 1 at restaurant 1, unpaid; b: customer 2 at restaurant 2, preparing, unclaimed (offered to riders);
    // c: customer 1 at restaurant 2, ready, rider 1; d: customer 2 at restaurant 1, in transit with rider 1; e: cancelled.
    const a = await orderIn(service, 'pending_payment');
    const b = await orderIn(service, 'preparing', { customer: DEMO.customer2, restaurantId: 2 });
    const c = await orderIn(service, 'ready_for_pickup', { restaurantId: 2, withRider: true });
    const d = await orderIn(service, 'in_transit', { customer: DEMO.customer2 });
    const e = await orderIn(service, 'cancelled');
    const all = { a, b, c, d, e };
    const visible: Record<Role, (keyof typeof all)[]> = {
      customer1: ['a', 'c', 'e'],
      customer2: ['b', 'd'],
      restaurant1: ['a', 'd', 'e'],
      restaurant2: ['b', 'c'],
      rider1: ['b', 'c', 'd'],
      rider2: ['b'],
      admin: ['a', 'b', 'c', 'd', 'e'],
    };
    const prisma = service.container.db.prisma;
    for (const role of ROLES) {
      for (const [name, order] of Object.entries(all)) {
        const read = getVisibleOrder(prisma, DEMO[role], order.id);
        if (visible[role].includes(name as keyof typeof all))
          await expect(read, `${role} reads ${name}`).resolves.toMatchObject({ id: order.id });
        else await expect(read, `${role} reads ${name}`).rejects.toBeInstanceOf(NotFoundError);
      }
      const { orders, nextCursor } = await listVisibleOrders(prisma, DEMO[role], {});
      // Newest first: the orders were created in a..e order.
      expect(
        orders.map((order) => order.id),
        role,
      ).toEqual(visible[role].map((name) => all[name].id).reverse());
      expect(nextCursor).toBeNull();
    }
    const preparing = await listVisibleOrders(prisma, DEMO.admin, { statuses: ['preparing', 'cancelled'] });
    expect(preparing.orders.map((order) => order.id)).toEqual([e.id, b.id]);
    const firstPage = await listVisibleOrders(prisma, DEMO.admin, { limit: 2 });
    expect(firstPage.orders.map((order) => order.id)).toEqual([e.id, d.id]);
    const secondPage = await listVisibleOrders(prisma, DEMO.admin, { limit: 2, cursor: firstPage.nextCursor });
    expect(secondPage.orders.map((order) => order.id)).toEqual([c.id, b.id]);
  });
});
