/**
 * Legacy v1 `PUT /orders/{id} {"status": …}` (SPEC §6): the target status picks the action, and a target equal to the
 * current status is a no-op answered with the order unchanged (PUT is idempotent). Kept in the domain so no transport
 * decides a rule; the action itself runs through OrderService with `expectedVersion: null`, whose compare-and-swap
 * retry guarantees that of two racing targets exactly one is applied and the other sees an illegal transition.
 */
import type { PrismaClient } from '../../generated/prisma/client.ts';
import type { Actor } from '../auth.ts';
import { InvalidTransitionError, ValidationError } from '../errors.ts';
import { loadOrder, type OrderWithItems } from './order.queries.ts';
import type { OrderService } from './order.service.ts';
import { ORDER_STATUSES, type OrderStatusName } from './order-state-machine.ts';

/** The v1 target statuses and the action each one runs. Statuses missing here have no action leading to them. */
const LEGACY_STATUS_ACTIONS = {
  cancelled: 'cancelOrder',
  preparing: 'acceptOrder',
  rejected: 'rejectOrder',
  ready_for_pickup: 'completeOrderPreparation',
  in_transit: 'pickUpOrder',
  delivered: 'deliverOrder',
} as const satisfies Partial<Record<OrderStatusName, keyof OrderService>>;

const TARGETS = Object.keys(LEGACY_STATUS_ACTIONS).join(', ');

/** The action a v1 target status stands for; ValidationError for a status no action leads to, or an unknown one. */
function legacyActionFor(target: string) {
  if (Object.hasOwn(LEGACY_STATUS_ACTIONS, target)) return LEGACY_STATUS_ACTIONS[target as keyof typeof LEGACY_STATUS_ACTIONS];
  const known = (ORDER_STATUSES as readonly string[]).includes(target);
  throw ValidationError.of(
    'status',
    known ? `no action leads to ${target}; use one of ${TARGETS}` : `unknown status; use one of ${TARGETS}`,
  );
}

export type SetOrderStatusCommand = { actor: Actor; orderId: number; status: string };

/**
 * Moves an order to a v1 target status: 400 for a target without action, then the action as the service runs it
 * (404 → 403 → 409 when it is illegal where the order now is), applied to whatever version is current. An order
 * already at the target is answered unchanged.
 */
export async function setOrderStatus(
  deps: { prisma: PrismaClient; orders: OrderService },
  command: SetOrderStatusCommand,
): Promise<OrderWithItems> {
  const { actor, orderId, status } = command;
  const action = legacyActionFor(status);
  try {
    return (await deps.orders[action]({ actor, orderId, expectedVersion: null })).order;
  } catch (error) {
    // No action leads from a status to itself, so an order already at the target (before this request, or just now
    // through a concurrent identical PUT) is an illegal transition found after the 404 and 403 checks: it is a no-op.
    if (error instanceof InvalidTransitionError && error.currentStatus === status) {
      const current = await loadOrder(deps.prisma, orderId);
      if (current?.status === status) return current;
    }
    throw error;
  }
}
