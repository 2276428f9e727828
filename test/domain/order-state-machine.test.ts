/**
 * The order life cycle (SPEC §1) as a table: every status × every action, with and without a rider, and what each
 * role may do on a few orders. Pure: the expectations are written out here from the SPEC, not derived from the code.
 */
import { describe, expect, it } from 'vitest';
import type { Actor } from '../../src/domain/auth.ts';
import { availableActions, type OrderParties } from '../../src/domain/orders/order-access.ts';
import {
  legalActions,
  ORDER_ACTIONS,
  ORDER_STATUSES,
  type OrderActionName,
  type OrderStatusName,
  paymentTarget,
  TERMINAL_STATUSES,
  targetStatus,
} from '../../src/domain/orders/order-state-machine.ts';

/** SPEC §1, transcribed: action → from → to. Anything absent is illegal. */
const SPEC_TABLE: Record<OrderActionName, Partial<Record<OrderStatusName, OrderStatusName>>> = {
  pay: { pending_payment: 'pending_acceptance' },
  cancel: { pending_payment: 'cancelled', pending_acceptance: 'cancelled' },
  accept: { pending_acceptance: 'preparing' },
  reject: { pending_acceptance: 'rejected' },
  complete_preparation: { preparing: 'ready_for_pickup' },
  assign_rider: { preparing: 'preparing', ready_for_pickup: 'ready_for_pickup' },
  pick_up: { ready_for_pickup: 'in_transit' },
  deliver: { in_transit: 'delivered' },
};

/**
 * What SPEC §1 says `action` does from `status`, given whether a rider is set: a claim needs none yet ("with no
 * rider yet"), a pick-up needs one ("the assigned one").
 */
function expectedTarget(status: OrderStatusName, action: OrderActionName, hasRider: boolean): OrderStatusName | null {
  if (action === 'assign_rider' && hasRider) return null;
  if (action === 'pick_up' && !hasRider) return null;
  return SPEC_TABLE[action][status] ?? null;
}

const cells = ORDER_STATUSES.flatMap((status) =>
  ORDER_ACTIONS.flatMap((action) =>
    [false, true].map((hasRider) => ({ status, action, hasRider, expected: expectedTarget(status, action, hasRider) })),
  ),
);

describe('order state machine', () => {
  it('knows exactly the nine statuses and eight actions of the SPEC', () => {
    expect([...ORDER_STATUSES].sort()).toEqual([
      'cancelled',
      'delivered',
      'in_transit',
      'payment_failed',
      'pending_acceptance',
      'pending_payment',
      'preparing',
      'ready_for_pickup',
      'rejected',
    ]);
    expect([...ORDER_ACTIONS].sort()).toEqual([
      'accept',
      'assign_rider',
      'cancel',
      'complete_preparation',
      'deliver',
      'pay',
      'pick_up',
      'reject',
    ]);
    expect(cells).toHaveLength(9 * 8 * 2);
  });

  it.each(cells)('$action from $status (rider set: $hasRider) → $expected', ({ status, action, hasRider, expected }) => {
    expect(targetStatus({ status, riderId: hasRider ? 1 : null }, action)).toBe(expected);
  });

  it('has exactly 9 legal (status, action) pairs without a rider and 8 with one', () => {
    expect(cells.filter((c) => !c.hasRider && c.expected !== null)).toHaveLength(9);
    expect(cells.filter((c) => c.hasRider && c.expected !== null)).toHaveLength(8);
  });

  it.each([...ORDER_STATUSES])('legalActions(%s) lists the legal actions in table order', (status) => {
    for (const riderId of [null, 1]) {
      const expected = ORDER_ACTIONS.filter((action) => expectedTarget(status, action, riderId !== null) !== null);
      expect(legalActions({ status, riderId })).toEqual(expected);
    }
  });

  it('terminal statuses are exactly those with no way out', () => {
    expect([...TERMINAL_STATUSES].sort()).toEqual(['cancelled', 'delivered', 'payment_failed', 'rejected']);
    for (const status of ORDER_STATUSES) {
      const stuck = legalActions({ status, riderId: null }).length === 0 && legalActions({ status, riderId: 1 }).length === 0;
      expect(stuck, status).toBe(TERMINAL_STATUSES.has(status));
    }
  });

  it('a payment leads to pending_acceptance when approved, payment_failed when declined', () => {
    expect(paymentTarget(true)).toBe('pending_acceptance');
    expect(paymentTarget(false)).toBe('payment_failed');
  });
});

/** The demo actors (as in test/support/harness.ts, repeated so this file loads no database code). */
const DEMO = {
  customer1: { role: 'customer', id: 1 },
  customer2: { role: 'customer', id: 2 },
  restaurant1: { role: 'restaurant', id: 1 },
  restaurant2: { role: 'restaurant', id: 2 },
  rider1: { role: 'rider', id: 1 },
  rider2: { role: 'rider', id: 2 },
  admin: { role: 'admin', id: 1 },
} as const satisfies Record<string, Actor>;
type Role = keyof typeof DEMO;

/** Orders of customer 1 at restaurant 1, in a few states, and what each demo actor may do with them (SPEC §1, §3). */
const order = (status: OrderStatusName, riderId: number | null = null): OrderParties => ({
  status,
  riderId,
  customerId: 1,
  restaurantId: 1,
});
const none: OrderActionName[] = [];

const AVAILABLE: { name: string; order: OrderParties; expected: Partial<Record<Role, OrderActionName[]>> }[] = [
  { name: 'pending_payment', order: order('pending_payment'), expected: { customer1: ['pay', 'cancel'], admin: ['pay', 'cancel'] } },
  {
    name: 'pending_acceptance',
    order: order('pending_acceptance'),
    expected: { customer1: ['cancel'], restaurant1: ['accept', 'reject'], admin: ['cancel', 'accept', 'reject'] },
  },
  {
    name: 'preparing, no rider',
    order: order('preparing'),
    expected: {
      restaurant1: ['complete_preparation'],
      rider1: ['assign_rider'],
      rider2: ['assign_rider'],
      admin: ['complete_preparation', 'assign_rider'],
    },
  },
  {
    name: 'preparing, rider 1',
    order: order('preparing', 1),
    expected: { restaurant1: ['complete_preparation'], admin: ['complete_preparation'] },
  },
  {
    name: 'ready_for_pickup, no rider',
    order: order('ready_for_pickup'),
    expected: { rider1: ['assign_rider'], rider2: ['assign_rider'], admin: ['assign_rider'] },
  },
  { name: 'ready_for_pickup, rider 1', order: order('ready_for_pickup', 1), expected: { rider1: ['pick_up'], admin: ['pick_up'] } },
  { name: 'in_transit, rider 1', order: order('in_transit', 1), expected: { rider1: ['deliver'], admin: ['deliver'] } },
  { name: 'delivered, rider 1', order: order('delivered', 1), expected: {} },
  { name: 'cancelled', order: order('cancelled'), expected: {} },
];

const availableCases = AVAILABLE.flatMap(({ name, order, expected }) =>
  (Object.keys(DEMO) as Role[]).map((role) => ({ name, role, order, actions: expected[role] ?? none })),
);

describe('availableActions', () => {
  it.each(availableCases)('$name: $role may $actions', ({ role, order, actions }) => {
    const actor: Actor = DEMO[role];
    expect(availableActions(actor, order)).toEqual(actions);
  });
});
