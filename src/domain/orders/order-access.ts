/**
 * Who may see an order and who may run which action on it (SPEC §3). Pure functions over an order's parties.
 */
import { Prisma } from '../../generated/prisma/client.ts';
import type { Actor } from '../auth.ts';
import { legalActions, type OrderActionName, type OrderState, type OrderStatusName } from './order-state-machine.ts';

export type OrderParties = OrderState & { customerId: number; restaurantId: number };

/** Statuses in which an order without a rider is offered to every rider. */
const CLAIMABLE: ReadonlySet<OrderStatusName> = new Set(['preparing', 'ready_for_pickup']);

/** Whether the actor can see (read) the order at all. */
export function canSee(actor: Actor, order: OrderParties): boolean {
  switch (actor.role) {
    case 'admin':
      return true;
    case 'customer':
      return order.customerId === actor.id;
    case 'restaurant':
      return order.restaurantId === actor.id;
    case 'rider':
      return order.riderId === actor.id || (order.riderId === null && CLAIMABLE.has(order.status));
  }
}

/**
 * Whether the order exists for the actor when it attempts `action`. Same as canSee, except that any rider may
 * attempt a claim on a preparing/ready order: when another rider was faster, the claim is an illegal transition
 * (409), not a 404 (SPEC §1).
 */
export function canSeeFor(actor: Actor, order: OrderParties, action: OrderActionName): boolean {
  if (action === 'assign_rider' && actor.role === 'rider' && CLAIMABLE.has(order.status)) return true;
  return canSee(actor, order);
}

/** Whether the action is this actor's to run on this order, legal or not right now. */
export function isActorsAction(actor: Actor, order: OrderParties, action: OrderActionName): boolean {
  if (actor.role === 'admin') return true;
  switch (action) {
    case 'pay':
    case 'cancel':
      return actor.role === 'customer' && order.customerId === actor.id;
    case 'accept':
    case 'reject':
    case 'complete_preparation':
      return actor.role === 'restaurant' && order.restaurantId === actor.id;
    case 'assign_rider':
      return actor.role === 'rider';
    case 'pick_up':
    case 'deliver':
      return actor.role === 'rider' && order.riderId === actor.id;
  }
}

/** What the actor may do with the order now: legal, its own, and on an order it can see. */
export function availableActions(actor: Actor, order: OrderParties): OrderActionName[] {
  if (!canSee(actor, order)) return [];
  return legalActions(order).filter((action) => isActorsAction(actor, order, action));
}

/** Whether the actor may load a customer directly: the customer itself, or an admin (others reach one through orders). */
export function canSeeCustomer(actor: Actor | null, customerId: number): boolean {
  return actor?.role === 'admin' || (actor?.role === 'customer' && actor.id === customerId);
}

/** Whether the actor may follow every change of a restaurant's orders: the restaurant itself, or an admin. */
export function canWatchRestaurant(actor: Actor, restaurantId: number): boolean {
  return actor.role === 'admin' || (actor.role === 'restaurant' && actor.id === restaurantId);
}

/** The Prisma filter for the orders an actor (none: no order) can see; the same rule as canSee(), for lists. */
export function visibleOrdersWhere(actor: Actor | null): Prisma.OrderWhereInput {
  switch (actor?.role) {
    case undefined:
      return { id: -1 };
    case 'admin':
      return {};
    case 'customer':
      return { customerId: actor.id };
    case 'restaurant':
      return { restaurantId: actor.id };
    case 'rider':
      return { OR: [{ riderId: actor.id }, { riderId: null, status: { in: [...CLAIMABLE] } }] };
  }
}

/**
 * visibleOrdersWhere as a SQL condition on the orders row `alias`, for the reads that are compiled into one
 * statement (the order lists). test/domain/visibility-sql.test.ts checks that both select the same rows for every role.
 */
export function visibleOrdersSql(actor: Actor | null, alias: string): Prisma.Sql {
  const column = (name: string) => Prisma.raw(`${alias}.${name}`);
  switch (actor?.role) {
    case undefined:
      return Prisma.sql`false`;
    case 'admin':
      return Prisma.sql`true`;
    case 'customer':
      return Prisma.sql`${column('customer_id')} = ${actor.id}::integer`;
    case 'restaurant':
      return Prisma.sql`${column('restaurant_id')} = ${actor.id}::integer`;
    case 'rider':
      return Prisma.sql`(${column('rider_id')} = ${actor.id}::integer OR (${column('rider_id')} IS NULL AND ${column('status')}::text IN (${Prisma.join([...CLAIMABLE])})))`;
  }
}

/**
 * canSeeFor() and isActorsAction() together, as a SQL condition on the orders row `alias`: the order exists for the
 * actor attempting `action`, and the action is its to run. For the statement that decides and writes an action
 * without reading the order first (order-change.ts); test/domain/action-rules-sql.test.ts checks it against both
 * functions on real rows, for every role, action, status and set of parties.
 */
export function mayRunSql(actor: Actor, action: OrderActionName, alias: string): Prisma.Sql {
  const column = (name: string) => Prisma.raw(`${alias}.${name}`);
  // As canSeeFor(): any rider may attempt a claim on a claimable order.
  const claimable = Prisma.sql`${column('status')}::text IN (${Prisma.join([...CLAIMABLE])})`;
  const sees =
    action === 'assign_rider' && actor.role === 'rider'
      ? Prisma.sql`(${claimable} OR ${visibleOrdersSql(actor, alias)})`
      : visibleOrdersSql(actor, alias);
  return Prisma.sql`(${sees} AND ${isActorsActionSql(actor, action, column)})`;
}

/** isActorsAction() as a SQL condition on the orders row whose columns `column` names. */
function isActorsActionSql(actor: Actor, action: OrderActionName, column: (name: string) => Prisma.Sql): Prisma.Sql {
  const owns = (role: Actor['role'], name: string) =>
    actor.role === role ? Prisma.sql`${column(name)} = ${actor.id}::integer` : Prisma.sql`false`;
  if (actor.role === 'admin') return Prisma.sql`true`;
  switch (action) {
    case 'pay':
    case 'cancel':
      return owns('customer', 'customer_id');
    case 'accept':
    case 'reject':
    case 'complete_preparation':
      return owns('restaurant', 'restaurant_id');
    case 'assign_rider':
      return actor.role === 'rider' ? Prisma.sql`true` : Prisma.sql`false`;
    case 'pick_up':
    case 'deliver':
      return owns('rider', 'rider_id');
  }
}
