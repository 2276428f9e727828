/**
 * The order life cycle as one pure table (SPEC §1): the single source for legality and for availableActions.
 */

export const ORDER_STATUSES = [
  'pending_payment',
  'pending_acceptance',
  'payment_failed',
  'cancelled',
  'preparing',
  'rejected',
  'ready_for_pickup',
  'in_transit',
  'delivered',
] as const;
export type OrderStatusName = (typeof ORDER_STATUSES)[number];

/** Actions on an existing order (creation is not a transition). */
export const ORDER_ACTIONS = ['pay', 'cancel', 'accept', 'reject', 'complete_preparation', 'assign_rider', 'pick_up', 'deliver'] as const;
export type OrderActionName = (typeof ORDER_ACTIONS)[number];

export const TERMINAL_STATUSES: ReadonlySet<OrderStatusName> = new Set(['payment_failed', 'rejected', 'cancelled', 'delivered']);

/** status × action → status. A missing entry is an illegal transition. */
const TRANSITIONS: Readonly<Record<OrderActionName, Partial<Record<OrderStatusName, OrderStatusName>>>> = {
  // `pay` leads to payment_failed instead when the gateway declines: see paymentTarget().
  pay: { pending_payment: 'pending_acceptance' },
  cancel: { pending_payment: 'cancelled', pending_acceptance: 'cancelled' },
  accept: { pending_acceptance: 'preparing' },
  reject: { pending_acceptance: 'rejected' },
  complete_preparation: { preparing: 'ready_for_pickup' },
  // Claiming a rider keeps the status; it is legal only while no rider is set (see targetStatus()).
  assign_rider: { preparing: 'preparing', ready_for_pickup: 'ready_for_pickup' },
  pick_up: { ready_for_pickup: 'in_transit' },
  deliver: { in_transit: 'delivered' },
};

export type OrderState = { status: OrderStatusName; riderId: number | null };

/** The status `action` leads to from `state`, or null when the action is illegal there. */
export function targetStatus(state: OrderState, action: OrderActionName): OrderStatusName | null {
  if (action === 'assign_rider' && state.riderId !== null) return null;
  // Only an assigned rider carries food: picking up an order nobody claimed is illegal, even for an admin.
  if (action === 'pick_up' && state.riderId === null) return null;
  return TRANSITIONS[action][state.status] ?? null;
}

/** The status a payment leads to, by the gateway's answer. */
export function paymentTarget(approved: boolean): OrderStatusName {
  return approved ? 'pending_acceptance' : 'payment_failed';
}

/** Every action legal in `state`, whoever runs it. */
export function legalActions(state: OrderState): OrderActionName[] {
  return ORDER_ACTIONS.filter((action) => targetStatus(state, action) !== null);
}

/** A transition as a rule written outside this module can state it: from a status, with or without a rider, to a status. */
export type LegalTransition = { from: OrderStatusName; riderSet: boolean; to: OrderStatusName };

/**
 * Every state in which `action` is legal and the status it leads to from there: targetStatus() asked about each
 * status, with and without a rider (the one other thing legality depends on). For the rules the database checks
 * itself (order-change.ts), so that they come from this table and not from a copy of it.
 */
export function legalTransitions(action: OrderActionName): LegalTransition[] {
  return ORDER_STATUSES.flatMap((from) =>
    [false, true].flatMap((riderSet) => {
      // Legality asks only whether a rider is set, never which one.
      const to = targetStatus({ status: from, riderId: riderSet ? 0 : null }, action);
      return to ? [{ from, riderSet, to }] : [];
    }),
  );
}
