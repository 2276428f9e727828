/**
 * Legacy v1 `PUT /orders/{id} {"status": …}` (SPEC §6): the target status picks the action, and a target equal to the
 * current status is a no-op answered with the order unchanged (PUT is idempotent). Kept in the domain so no transport
 * decides a rule; the action itself runs through OrderService with `expectedVersion: null`, whose compare-and-swap
 * retry guarantees that of two racing targets exactly one is applied and the other sees an illegal transition.
 */
import type { PrismaClient } from '../../generated/prisma/client.ts';
import type { Actor } from '../auth.ts';
import { ForbiddenError, InvalidTransitionError, NotFoundError, ValidationError } from '../errors.ts';
import { loadOrder, type OrderWithItems } from './order.queries.ts';
import type { OrderService } from './order.service.ts';
import { canSeeFor, isActorsAction } from './order-access.ts';
import { ORDER_STATUSES, type OrderActionName, type OrderStatusName } from './order-state-machine.ts';

/** The v1 target statuses and the action each one means. Statuses missing here have no action leading to them. */
export const LEGACY_STATUS_ACTIONS = {
  cancelled: 'cancel',
  preparing: 'accept',
  rejected: 'reject',
  ready_for_pickup: 'complete_preparation',
  in_transit: 'pick_up',
  delivered: 'deliver',
} as const satisfies Partial<Record<OrderStatusName, OrderActionName>>;

export type LegacyTargetStatus = keyof typeof LEGACY_STATUS_ACTIONS;

const TARGETS = Object.keys(LEGACY_STATUS_ACTIONS).join(', ');

/** The action a v1 target status stands for; ValidationError for a status no action leads to, or an unknown one. */
export function legacyActionFor(target: string): OrderActionName {
  if (Object.hasOwn(LEGACY_STATUS_ACTIONS, target)) return LEGACY_STATUS_ACTIONS[target as LegacyTargetStatus];
  const known = (ORDER_STATUSES as readonly string[]).includes(target);
  throw ValidationError.of(
    'status',
    known ? `no action leads to ${target}; use one of ${TARGETS}` : `unknown status; use one of ${TARGETS}`,
  );
}

export type SetOrderStatusCommand = { actor: Actor; orderId: number; status: string };

/** `changed: false` when the order already had the target status (version unchanged). */
export type SetOrderStatusResult = { order: OrderWithItems; changed: boolean };

/**
 * Moves an order to a v1 target status: 400 for a target without action → 404 when the actor cannot see the order →
 * 403 when the action is not the actor's → the order unchanged when it already has the target status → otherwise
 * the action, applied to whatever version is current (409 when it is illegal there, unless a concurrent request has
 * just reached the same target).
 */
export async function setOrderStatus(
  deps: { prisma: PrismaClient; orders: OrderService },
  command: SetOrderStatusCommand,
): Promise<SetOrderStatusResult> {
  const { actor, orderId, status } = command;
  const action = legacyActionFor(status);
  const order = await loadOrder(deps.prisma, orderId);
  if (!order || !canSeeFor(actor, order, action)) throw new NotFoundError('Order', orderId);
  if (!isActorsAction(actor, order, action)) throw new ForbiddenError(`A ${actor.role} cannot ${action.replaceAll('_', ' ')} this order`);
  if (order.status === status) return { order, changed: false };
  try {
    const result = await deps.orders.run(action, { actor, orderId, expectedVersion: null });
    return { order: result.order, changed: true };
  } catch (error) {
    // Two identical PUTs can both hold: when a concurrent one reached the target first, this one is answered as if
    // it had arrived second (unchanged), rather than as a conflict.
    if (error instanceof InvalidTransitionError && error.currentStatus === status) {
      const current = await loadOrder(deps.prisma, orderId);
      if (current?.status === status) return { order: current, changed: false };
    }
    throw error;
  }
}
