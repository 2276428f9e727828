/**
 * Reads of orders, always through the actor's visibility (SPEC §3): an order the actor may not see does not exist.
 */
import type { Order, OrderItem, Prisma, PrismaClient } from '../../generated/prisma/client.ts';
import type { Actor } from '../auth.ts';
import { NotFoundError, ValidationError } from '../errors.ts';
import { isDatabaseId } from './commands.ts';
import { canSee, visibleOrdersWhere } from './order-access.ts';
import type { OrderStatusName } from './order-state-machine.ts';

export type OrderWithItems = Order & { items: OrderItem[] };

/** JSON form of an order as idempotency records and events keep it (dates as ISO strings). */
export function toSnapshot(order: OrderWithItems): Prisma.JsonObject {
  return JSON.parse(JSON.stringify(order)) as Prisma.JsonObject;
}

export const itemsInOrder = { items: { orderBy: { position: 'asc' } } } as const satisfies Prisma.OrderInclude;

/** Items plus the order's restaurant and rider rows, loaded in the same statement (relation joins). */
export const itemsAndParties = { ...itemsInOrder, restaurant: true, rider: true } as const satisfies Prisma.OrderInclude;

export type OrderWithParties = Prisma.OrderGetPayload<{ include: typeof itemsAndParties }>;

/** Newest first, with the id as tie-breaker so the order is total and cursors are stable. */
export const NEWEST_FIRST = [{ createdAt: 'desc' }, { id: 'desc' }] as const satisfies Prisma.OrderOrderByWithRelationInput[];

export const PAGE_SIZE = { default: 20, max: 100 } as const;

/** Loads an order with its items (and what else `include` names), or null; no visibility check (the caller decides). */
export function loadOrder<Include extends typeof itemsInOrder | typeof itemsAndParties = typeof itemsInOrder>(
  prisma: PrismaClient,
  orderId: number,
  include: Include = itemsInOrder as Include,
): Promise<Prisma.OrderGetPayload<{ include: Include }> | null> {
  if (!isDatabaseId(orderId)) return Promise.resolve(null);
  return prisma.order.findUnique({ where: { id: orderId }, include }) as Promise<Prisma.OrderGetPayload<{ include: Include }> | null>;
}

/** The order if the actor can see it, else NotFoundError. */
export async function getVisibleOrder<Include extends typeof itemsInOrder | typeof itemsAndParties = typeof itemsInOrder>(
  prisma: PrismaClient,
  actor: Actor,
  orderId: number,
  include: Include = itemsInOrder as Include,
): Promise<Prisma.OrderGetPayload<{ include: Include }>> {
  const order = await loadOrder(prisma, orderId, include);
  if (!order || !canSee(actor, order)) throw new NotFoundError('Order', orderId);
  return order;
}

type Cursor = { createdAt: Date; id: number };

/** Opaque keyset cursor: the (created_at, id) of the last row of a page. */
export function encodeCursor(order: Pick<Order, 'createdAt' | 'id'>): string {
  return Buffer.from(`${order.createdAt.toISOString()}|${order.id}`).toString('base64url');
}

/** Parses a cursor from encodeCursor(), or throws ValidationError. */
export function decodeCursor(cursor: string): Cursor {
  const [iso, id, ...rest] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const createdAt = new Date(iso ?? '');
  const parsedId = Number(id);
  if (
    rest.length ||
    Number.isNaN(createdAt.getTime()) ||
    !Number.isSafeInteger(parsedId) ||
    parsedId < 1 ||
    encodeCursor({ createdAt, id: parsedId }) !== cursor
  ) {
    throw ValidationError.of('cursor', 'is not a cursor this API issued');
  }
  return { createdAt, id: parsedId };
}

export type ListOrdersOptions = { limit?: number; cursor?: string | null; statuses?: OrderStatusName[] | null };

/** The page a list request asks for, checked: its size, and the row it continues after; else ValidationError. */
export function checkedPage(options: ListOrdersOptions): { limit: number; after: Cursor | null } {
  const limit = options.limit ?? PAGE_SIZE.default;
  if (!Number.isInteger(limit) || limit < 1 || limit > PAGE_SIZE.max)
    throw ValidationError.of('limit', `must be an integer from 1 to ${PAGE_SIZE.max}`);
  return { limit, after: options.cursor ? decodeCursor(options.cursor) : null };
}

/** One page of the orders the actor can see, newest first, with their items (and what else `include` names). */
export async function listVisibleOrders<Include extends typeof itemsInOrder | typeof itemsAndParties = typeof itemsInOrder>(
  prisma: PrismaClient,
  actor: Actor,
  options: ListOrdersOptions,
  include: Include = itemsInOrder as Include,
): Promise<{ orders: Prisma.OrderGetPayload<{ include: Include }>[]; nextCursor: string | null }> {
  const { limit, after } = checkedPage(options);
  const { where, orderBy } = visibleOrdersNewestFirst(actor, options.statuses ?? []);
  const page = after ? { OR: [{ createdAt: { lt: after.createdAt } }, { createdAt: after.createdAt, id: { lt: after.id } }] } : {};
  const rows = (await prisma.order.findMany({
    where: { AND: [where, page] },
    orderBy,
    take: limit + 1,
    include,
  })) as Prisma.OrderGetPayload<{
    include: Include;
  }>[];
  const orders = rows.slice(0, limit);
  const last = orders.at(-1);
  return { orders, nextCursor: rows.length > limit && last ? encodeCursor(last) : null };
}

/** Prisma's share of a GraphQL selection (Pothos's `query`): what to include or select. */
export type OrderSelection = Pick<Prisma.OrderFindFirstArgs, 'include' | 'select'>;
/** A GraphQL connection's selection: what to load, and the page (Pothos's `query` of a prismaConnection). */
export type OrderPageSelection = Omit<Prisma.OrderFindManyArgs, 'where' | 'orderBy'>;

/** The unique filter for order `orderId`, matching nothing when the actor may not see it. */
export const visibleOrderWhere = (actor: Actor | null, orderId: number) =>
  ({ id: orderId, AND: [visibleOrdersWhere(actor)] }) satisfies Prisma.OrderWhereUniqueInput;

/** The unique filter for payment `paymentId`, matching nothing when the actor may not see its order. */
export const visiblePaymentWhere = (actor: Actor | null, paymentId: number) =>
  ({ id: paymentId, order: visibleOrdersWhere(actor) }) satisfies Prisma.PaymentWhereUniqueInput;

/** The orders the actor can see (of `statuses`, when any), newest first: the filter and order of every order list. */
export function visibleOrdersNewestFirst(actor: Actor | null, statuses: readonly OrderStatusName[] = []) {
  const where = { AND: [visibleOrdersWhere(actor), statuses.length ? { status: { in: [...statuses] } } : {}] };
  return { where, orderBy: [...NEWEST_FIRST] } satisfies Prisma.OrderFindManyArgs;
}

/** Order `orderId` if the actor can see it, else null, loaded as `query` selects. */
export function findVisibleOrder(prisma: PrismaClient, actor: Actor, orderId: number, query: OrderSelection = {}) {
  return prisma.order.findFirst({ ...query, where: visibleOrderWhere(actor, orderId) });
}

/** The orders the actor can see, newest first, loaded and paged as `query` says. */
export function findVisibleOrders(
  prisma: PrismaClient,
  actor: Actor | null,
  statuses: readonly OrderStatusName[],
  query: OrderPageSelection,
) {
  return prisma.order.findMany({ ...query, ...visibleOrdersNewestFirst(actor, statuses) });
}

/** Order `orderId` loaded as `query` selects, with no visibility check (the caller decided); throws when it is gone. */
export function orderById(prisma: PrismaClient, orderId: number, query: OrderSelection = {}) {
  return prisma.order.findUniqueOrThrow({ ...query, where: { id: orderId } });
}
