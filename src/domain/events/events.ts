/**
 * Order events (SPEC §9): what leaves the service. One row per history entry, inserted by the same statement or
 * transaction that commits the version it describes, so an event exists exactly when its change committed; plus
 * `order.refunded` when the provider confirms a refund. Ids come from a sequence: never reused, never changed.
 */
import { Prisma, type PrismaClient } from '../../generated/prisma/client.ts';
import type { Actor } from '../auth.ts';
import { ValidationError } from '../errors.ts';
import { visibleOrdersWhere } from '../orders/order-access.ts';
import type { OrderActionName, OrderStatusName } from '../orders/order-state-machine.ts';

export const EVENT_TYPES = [
  'order.created',
  'order.paid',
  'order.payment_failed',
  'order.cancelled',
  'order.accepted',
  'order.rejected',
  'order.preparation_completed',
  'order.rider_assigned',
  'order.picked_up',
  'order.delivered',
  'order.refunded',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

const TYPE_OF_ACTION: Record<Exclude<OrderActionName, 'pay'>, EventType> = {
  cancel: 'order.cancelled',
  accept: 'order.accepted',
  reject: 'order.rejected',
  complete_preparation: 'order.preparation_completed',
  assign_rider: 'order.rider_assigned',
  pick_up: 'order.picked_up',
  deliver: 'order.delivered',
};

/** The event a history entry is: its action, or the creation; a payment is paid or failed by where it led. */
export function eventTypeOf(action: OrderActionName | null, toStatus: OrderStatusName): EventType {
  if (action === null) return 'order.created';
  if (action === 'pay') return toStatus === 'payment_failed' ? 'order.payment_failed' : 'order.paid';
  return TYPE_OF_ACTION[action];
}

/** What an event carries: the order as its version left it (a snapshot), and for a refund the refund. */
export type EventData = { order: Prisma.JsonObject; refund?: { id: string; amount: number } };

/**
 * The one way an event is written: an INSERT … SELECT whose order id and version come from `from` (the CTE of the
 * change it describes, so that nothing is written when the change writes nothing), or given when `from` is empty.
 * `data` is the event's data, or an SQL expression that builds it from `from` (a change that renders its order itself).
 */
export function eventInsert(
  type: EventType,
  data: EventData | Prisma.Sql,
  from: Prisma.Sql,
  columns = Prisma.sql`id, version`,
): Prisma.Sql {
  const json = data instanceof Prisma.Sql ? data : JSON.stringify(data);
  return Prisma.sql`INSERT INTO events (type, order_id, version, data)
      SELECT ${type}::text, ${columns}, (${json})::jsonb ${from}`;
}

/** An event's public id, e.g. `evt_42`. */
export const eventId = (id: bigint | number) => `evt_${id}`;

/** The sequence number inside a public event id, or null when it is not one. */
function sequenceOf(id: string): bigint | null {
  const match = /^evt_([1-9][0-9]{0,17})$/.exec(id);
  return match ? BigInt(match[1]!) : null;
}

/** An `events` row as the feed and the webhooks show it. */
export function feedEventOf(row: { id: bigint; type: string; createdAt: Date; orderId: number; data: Prisma.JsonValue }): FeedEvent {
  return {
    id: eventId(row.id),
    type: row.type as EventType,
    createdAt: row.createdAt,
    orderId: row.orderId,
    data: row.data as unknown as EventData,
  };
}

export const FEED_PAGE = { default: 20, max: 100 } as const;

export type FeedEvent = { id: string; type: EventType; createdAt: Date; orderId: number; data: EventData };

/** Feed placement takes this advisory lock, so that placements never interleave. */
const PLACEMENT_LOCK = 0x71e_feed;

/**
 * Gives the committed events that have no feed position yet the next positions, in id order, one placement at a
 * time (an advisory lock). Event ids come from a sequence and are taken before commit, so a later id can commit
 * first; a feed paged by id would step over the earlier one still in flight, and its poller would never see it.
 * Positions are handed out only to committed rows (the others are invisible here), so a position is never handed
 * out behind one a reader has already passed. An order's events commit one after another, so they stay in version
 * order. Hand-written: this is the "transactional outbox with commit-order sequencing" pattern, a few lines of SQL.
 */
async function placeCommittedEvents(prisma: PrismaClient): Promise<void> {
  // Usually there is nothing to place: a read, no lock. When another reader is placing, this one goes on without
  // waiting: whatever it leaves unplaced gets positions after every position there is now, so no cursor passes it.
  const [pending] = await prisma.$queryRaw<{ any: boolean }[]>`SELECT EXISTS (SELECT 1 FROM events WHERE position IS NULL) AS any`;
  if (!pending?.any) return;
  await prisma.$transaction(async (tx) => {
    const [lock] = await tx.$queryRaw<{ got: boolean }[]>`SELECT pg_try_advisory_xact_lock(${PLACEMENT_LOCK}) AS got`;
    if (!lock?.got) return;
    // A statement of its own, after the lock: its snapshot sees every placement committed before.
    await tx.$executeRaw`
      WITH top AS (SELECT coalesce(max(position), 0) AS position FROM events),
      unplaced AS (SELECT id, row_number() OVER (ORDER BY id) AS n FROM events WHERE position IS NULL)
      UPDATE events SET position = top.position + unplaced.n FROM top, unplaced WHERE events.id = unplaced.id`;
  });
}

/**
 * The events of the orders the actor may see (SPEC §3), oldest first (in commit order), after the cursor.
 * `nextCursor` is the last event's id, or the cursor given when there is nothing new: a client polls with it and
 * never misses an event, even one whose change committed after a later id's.
 */
export async function listEvents(
  prisma: PrismaClient,
  actor: Actor,
  options: { after?: string | undefined; limit?: number | undefined },
): Promise<{ events: FeedEvent[]; nextCursor: string | null; hasMore: boolean }> {
  const after = options.after === undefined ? null : sequenceOf(options.after);
  if (options.after !== undefined && after === null) throw ValidationError.of('after', 'is not an event id (evt_…)');
  const limit = options.limit ?? FEED_PAGE.default;
  if (!Number.isInteger(limit) || limit < 1 || limit > FEED_PAGE.max)
    throw ValidationError.of('limit', `must be from 1 to ${FEED_PAGE.max}`);
  await placeCommittedEvents(prisma);
  let from = 0n;
  if (after !== null) {
    const cursor = await prisma.event.findUnique({ where: { id: after }, select: { position: true } });
    if (!cursor?.position) throw ValidationError.of('after', 'is not an event of this feed');
    from = cursor.position;
  }
  const rows = await prisma.event.findMany({
    where: { position: { gt: from }, order: visibleOrdersWhere(actor) },
    orderBy: { position: 'asc' },
    take: limit + 1,
  });
  const hasMore = rows.length > limit;
  const events = rows.slice(0, limit).map(feedEventOf);
  return { events, nextCursor: events.at(-1)?.id ?? options.after ?? null, hasMore };
}
