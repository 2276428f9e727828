/**
 * The one write of every action on an existing order: a compare-and-swap that, in the same statement, appends the
 * history event, records the payment or refund, stores the idempotency record and the outgoing event, and returns the
 * order as the change left it.
 *
 * The change is decided in one of two ways:
 * - on a read (`decided: { version, toStatus }`): the caller read the order, ran the checks of SPEC §5 and decided;
 *   the statement writes only if the order is still at the version read. A payment takes this way (its charge needs
 *   the order first), and so does every retry after a lost race.
 * - by the statement (`decided: { expectedVersion }`): nothing was read. The WHERE carries what those checks ask of
 *   a success: the expected version(s), a state in which the state machine allows the action, an order that exists
 *   for the actor with the action its to run (order-access.ts), and a rider to assign that exists; the state
 *   machine's target sets the status. When it matches nothing, the caller reads the order to find out why: a success
 *   costs one round trip. Every action but a payment.
 *
 * One statement is one round trip, and atomic on its own: PostgreSQL applies a statement's data-modifying CTEs all
 * or nothing, and every insert selects from the UPDATE's RETURNING, so when nothing matches nothing at all is written.
 * A unique-index violation in any part (an idempotency key recorded meanwhile, a second succeeded payment) undoes the
 * whole statement, exactly as a rolled-back transaction would. The row is updated only while it is still the version
 * the statement's snapshot found (`seen`): after waiting on a concurrent change, PostgreSQL re-checks the WHERE on the
 * new row version, which has another version number, and matches nothing. So every part (the history's from_status,
 * the refund's payments, the snapshot) describes the very version the change replaced.
 *
 * Written as SQL because Prisma cannot make inserts depend on an update within one statement, and the interactive
 * transaction it would take instead costs five round trips (BEGIN, UPDATE, two INSERTs, COMMIT) on the hottest path.
 * Tables and columns are those of prisma/schema.prisma; every action test runs through this statement.
 */
import { Prisma } from '../../generated/prisma/client.ts';
import type { Database } from '../../infra/db.ts';
import type { Actor } from '../auth.ts';
import { eventInsert, eventTypeOf } from '../events/events.ts';
import { type IdempotencyRecordFields, recordInsert } from '../idempotency.ts';
import { enqueueRefundJobs } from '../payments/payments.ts';
import { isDatabaseId } from './commands.ts';
import type { OrderWithItems } from './order.queries.ts';
import { mayRunSql } from './order-access.ts';
import { legalTransitions, type OrderActionName, type OrderStatusName } from './order-state-machine.ts';

/**
 * What an action expects the order's version to be: the version the client last read, any of several (an If-Match
 * tag list), or null for whatever is current (If-Match: *, v1).
 */
export type ExpectedVersion = number | readonly number[] | null;

/** A charge the provider has executed, to be recorded with the change; it settles the attempt that made it. */
export type PaymentRecord = {
  amount: number;
  method: string;
  approved: boolean;
  providerKey: string;
  providerPaymentId: string;
  attemptId: number;
};

export type OrderChange = {
  orderId: number;
  /** Decided on a read of `version`, leading to `toStatus`; or by the statement, for the expected version(s). */
  decided: { version: number; toStatus: OrderStatusName } | { expectedVersion: ExpectedVersion };
  action: OrderActionName;
  actor: Actor;
  /** The rider this change assigns, if any. */
  assignedRiderId: number | null;
  reason: string | null;
  /** The order's new `updated_at`, also the event's time. */
  at: Date;
  payment?: PaymentRecord;
  /** Refund the order's succeeded payment, if it has one. */
  refund?: boolean;
  /** The idempotency record to store, with the change's outcome as its outcome. */
  idempotency?: IdempotencyRecordFields;
};

/** The order as a committed change left it, and its snapshot (what the outcome and the event carry). */
export type CommittedChange = { order: OrderWithItems; snapshot: Prisma.JsonObject };

/** Commits the change; null when it matched nothing (the order was not where the change was decided to apply). */
export async function commitOrderChange(readRows: Database['readRows'], change: OrderChange): Promise<CommittedChange | null> {
  // An id no row can have matches nothing, as loadOrder answers (and the integer cast would fail).
  if (!isDatabaseId(change.orderId)) return null;
  const { decided, payment, idempotency } = change;
  const { where, toStatus } = decisionSql(change);
  const parts: Prisma.Sql[] = [
    Prisma.sql`updated AS (
      UPDATE orders o
      SET status = ${toStatus}, rider_id = coalesce(${change.assignedRiderId}::integer, o.rider_id), version = o.version + 1,
          updated_at = ${change.at}::timestamptz
      FROM (SELECT s.id, s.version, s.status FROM orders s WHERE s.id = ${change.orderId}::integer AND ${where}) seen
      WHERE o.id = seen.id AND o.version = seen.version
      RETURNING o.*, seen.status AS from_status
    )`,
    Prisma.sql`changed AS (SELECT id, version, ${snapshotSql('updated')} AS snapshot FROM updated)`,
    Prisma.sql`event AS (
      INSERT INTO order_events (order_id, version, action, from_status, to_status, actor_role, actor_id, rider_id, reason, created_at)
      SELECT id, version, ${change.action}::order_action, from_status, status,
             ${change.actor.role}::actor_role, ${change.actor.id}::integer, ${change.assignedRiderId}::integer, ${change.reason}::text, ${change.at}::timestamptz
      FROM updated
    )`,
  ];
  // Function calls in a plain SELECT CTE run only when the final SELECT reads it; this list makes sure it does.
  const mustRun: Prisma.Sql[] = [];
  if (payment) {
    parts.push(Prisma.sql`payment AS (
      INSERT INTO payments (order_id, amount, method, status, gateway_key, gateway_ref, provider_payment_id)
      SELECT id, ${payment.amount}::integer, ${payment.method}::text, ${payment.approved ? 'succeeded' : 'declined'}::payment_status,
             ${payment.providerKey}::text, ${payment.providerPaymentId}::text, ${payment.providerPaymentId}::text
      FROM updated
    )`);
    parts.push(Prisma.sql`attempt AS (
      UPDATE payment_attempts a SET state = 'recorded', provider_payment_id = ${payment.providerPaymentId}::text, settled_at = now()
      FROM updated WHERE a.id = ${payment.attemptId}::integer AND a.state = 'in_flight'
    )`);
  }
  if (change.refund) {
    // The statement's snapshot is of the version it replaced, so this sees the payments committed with that version
    // and before, never one inserted above. The refund row is the outbox entry: its job sends it to the provider once
    // this statement has committed.
    parts.push(Prisma.sql`refund AS (
      INSERT INTO refunds (order_id, payment_id, provider_payment_id, amount, reason)
      SELECT p.order_id, p.id, p.provider_payment_id, p.amount, ${change.reason}::text
      FROM payments p JOIN updated u ON p.order_id = u.id
      WHERE p.status = 'succeeded'
      RETURNING id
    )`);
    parts.push(Prisma.sql`refund_job AS (${enqueueRefundJobs('refund')})`);
    mustRun.push(Prisma.sql`(SELECT count(*) FROM refund_job)`);
  }
  if (idempotency) {
    const outcome = Prisma.sql`json_build_object('result', 'ok', 'order', snapshot)`;
    parts.push(Prisma.sql`idempotency AS (${recordInsert(idempotency, outcome, Prisma.sql`FROM changed`)})`);
  }
  // Only a payment's event depends on where it led, and a payment is always decided on a read.
  const type = eventTypeOf(change.action, 'version' in decided ? decided.toStatus : legalTransitions(change.action)[0]!.to);
  parts.push(Prisma.sql`outgoing AS (${eventInsert(type, Prisma.sql`json_build_object('order', snapshot)`, Prisma.sql`FROM changed`)})`);
  const extra = mustRun.length ? Prisma.sql`, ${Prisma.join(mustRun, ', ')}` : Prisma.empty;
  // A prepared statement (Database.readRows): each shape of this long statement is parsed and planned once per
  // connection instead of on every action, which was most of its cost to PostgreSQL.
  const rows = await readRows(Prisma.sql`WITH ${Prisma.join(parts, ',\n')} SELECT snapshot${extra} FROM changed`);
  const snapshot = rows[0]?.[0] as Prisma.JsonObject | undefined;
  return snapshot ? { order: orderOf(snapshot), snapshot } : null;
}

/**
 * What the statement checks on the row `s` before it writes, and the status it sets (`seen` is that row): the version
 * read, and the status decided on it; or every rule a success needs, and the state machine's target.
 */
function decisionSql({ decided, actor, action, assignedRiderId }: OrderChange): { where: Prisma.Sql; toStatus: Prisma.Sql } {
  if ('version' in decided) {
    return { where: Prisma.sql`s.version = ${decided.version}::integer`, toStatus: Prisma.sql`${decided.toStatus}::order_status` };
  }
  const conditions = [versionIn(decided.expectedVersion), actionAllowedSql(actor, action, 's')];
  if (assignedRiderId !== null) conditions.push(Prisma.sql`EXISTS (SELECT 1 FROM riders r WHERE r.id = ${assignedRiderId}::integer)`);
  const targets = new Map(legalTransitions(action).map(({ from, to }) => [from, to]));
  const cases = [...targets].map(([from, to]) => Prisma.sql`WHEN ${from}::order_status THEN ${to}::order_status`);
  return { where: Prisma.join(conditions, ' AND '), toStatus: Prisma.sql`CASE seen.status ${Prisma.join(cases, ' ')} END` };
}

/**
 * Whether `action` may run on the orders row `alias` as it is, as far as the row can tell: the state machine allows
 * it in the row's state (order-state-machine.ts), and the order exists for the actor, who may run it (order-access.ts).
 */
export function actionAllowedSql(actor: Actor, action: OrderActionName, alias: string): Prisma.Sql {
  const states = legalTransitions(action).map(({ from, riderSet }) => Prisma.sql`(${from}::order_status, ${riderSet}::boolean)`);
  const state = Prisma.sql`(${Prisma.raw(`${alias}.status`)}, ${Prisma.raw(`${alias}.rider_id`)} IS NOT NULL)`;
  return Prisma.sql`(${state} IN (${Prisma.join(states)}) AND ${mayRunSql(actor, action, alias)})`;
}

/** The version condition on the row `s`: one version, any of several, or any at all. */
function versionIn(expected: ExpectedVersion): Prisma.Sql {
  if (expected === null) return Prisma.sql`true`;
  // A version no row can have (an If-Match tag may name any ten digits) matches nothing.
  const versions = (typeof expected === 'number' ? [expected] : expected).filter(isDatabaseId);
  if (!versions.length) return Prisma.sql`false`;
  return Prisma.sql`s.version IN (${Prisma.join(versions.map((version) => Prisma.sql`${version}::integer`))})`;
}

/**
 * The orders row `alias` with its items as JSON, exactly as toSnapshot() (order.queries.ts) renders the Prisma order:
 * the model's fields in its order, the items by position, times as ISO-8601 UTC with milliseconds.
 */
export function snapshotSql(alias: string): Prisma.Sql {
  const column = (name: string) => Prisma.raw(`${alias}.${name}`);
  const iso = (name: string) => Prisma.sql`to_char(${column(name)} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
  return Prisma.sql`json_build_object(
    'id', ${column('id')}, 'customerId', ${column('customer_id')}, 'restaurantId', ${column('restaurant_id')},
    'riderId', ${column('rider_id')}, 'status', ${column('status')}, 'version', ${column('version')},
    'totalAmount', ${column('total_amount')}, 'deliveryAddress', ${column('delivery_address')},
    'createdAt', ${iso('created_at')}, 'updatedAt', ${iso('updated_at')},
    'items', coalesce((
      SELECT json_agg(json_build_object(
        'id', i.id, 'orderId', i.order_id, 'menuItemId', i.menu_item_id, 'position', i.position, 'name', i.name,
        'quantity', i.quantity, 'unitPrice', i.unit_price, 'lineTotal', i.line_total
      ) ORDER BY i.position)
      FROM order_items i WHERE i.order_id = ${column('id')}
    ), '[]'::json)
  )`;
}

/** The order a snapshot renders, as Prisma would load it (times as Dates). */
function orderOf(snapshot: Prisma.JsonObject): OrderWithItems {
  const order = snapshot as unknown as OrderWithItems & { createdAt: string; updatedAt: string };
  return { ...order, createdAt: new Date(order.createdAt), updatedAt: new Date(order.updatedAt) };
}
