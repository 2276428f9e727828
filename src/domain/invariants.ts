/**
 * Whole-database invariants of the order domain: what must hold whatever crashed, raced or was retried.
 * Used by `npm run check:invariants` and by the fault and hostile-input tests.
 */
import type { PrismaClient } from '../generated/prisma/client.ts';
import { RECORD_TTL_MS } from './idempotency.ts';
import { ORDER_ACTIONS, ORDER_STATUSES, type OrderActionName, type OrderStatusName, targetStatus } from './orders/order-state-machine.ts';

export type Violation = { invariant: string; orderId: number | null; detail: string };

type Check = { invariant: string; sql: string };

/** Each query returns rows (order_id, detail) that break the invariant. */
const CHECKS: Check[] = [
  {
    invariant: 'version equals the number of history entries',
    sql: `SELECT o.id AS order_id, format('version %s, %s history entries', o.version, count(e.id)) AS detail
          FROM orders o LEFT JOIN order_events e ON e.order_id = o.id
          GROUP BY o.id HAVING o.version <> count(e.id) OR o.version <> coalesce(max(e.version), 0)`,
  },
  {
    invariant: 'the status is the last history entry',
    sql: `SELECT o.id AS order_id, format('status %s, last entry %s', o.status, e.to_status) AS detail
          FROM orders o JOIN order_events e ON e.order_id = o.id AND e.version = o.version
          WHERE e.to_status <> o.status OR e.rider_id IS DISTINCT FROM CASE WHEN e.action = 'assign_rider' THEN o.rider_id ELSE e.rider_id END`,
  },
  {
    invariant: 'history entries chain (each starts where the previous ended)',
    sql: `SELECT e.order_id, format('v%s starts at %s, v%s ended at %s', e.version, e.from_status, p.version, p.to_status) AS detail
          FROM order_events e JOIN order_events p ON p.order_id = e.order_id AND p.version = e.version - 1
          WHERE e.from_status IS DISTINCT FROM p.to_status`,
  },
  {
    invariant: 'the first history entry is the creation',
    sql: `SELECT order_id, format('first entry: action %s, %s → %s', action, from_status, to_status) AS detail
          FROM order_events WHERE version = 1 AND (action IS NOT NULL OR from_status IS NOT NULL OR to_status <> 'pending_payment')`,
  },
  {
    invariant: 'at most one successful payment per order',
    sql: `SELECT order_id, format('%s successful payments', count(*)) AS detail
          FROM payments WHERE status = 'succeeded' GROUP BY order_id HAVING count(*) > 1`,
  },
  {
    invariant: 'the status agrees with the payments',
    sql: `SELECT o.id AS order_id, format('status %s with %s successful and %s declined payments', o.status, count(p.id) FILTER (WHERE p.status = 'succeeded'), count(p.id) FILTER (WHERE p.status = 'declined')) AS detail
          FROM orders o LEFT JOIN payments p ON p.order_id = o.id
          GROUP BY o.id
          HAVING (o.status IN ('pending_acceptance', 'preparing', 'ready_for_pickup', 'in_transit', 'delivered', 'rejected')
                  AND count(p.id) FILTER (WHERE p.status = 'succeeded') <> 1)
              OR (o.status IN ('pending_payment', 'payment_failed') AND count(p.id) FILTER (WHERE p.status = 'succeeded') <> 0)
              OR (o.status = 'payment_failed' AND count(p.id) FILTER (WHERE p.status = 'declined') = 0)
              OR count(p.id) FILTER (WHERE p.status = 'succeeded' AND p.amount <> o.total_amount) > 0`,
  },
  {
    invariant: 'every paid order that was cancelled or rejected has its refund',
    sql: `SELECT o.id AS order_id, format('%s, paid %s, refunded %s', o.status, p.amount, r.amount) AS detail
          FROM orders o JOIN payments p ON p.order_id = o.id AND p.status = 'succeeded'
          LEFT JOIN refunds r ON r.payment_id = p.id
          WHERE (o.status IN ('cancelled', 'rejected') AND (r.id IS NULL OR r.amount <> p.amount))
             OR (o.status NOT IN ('cancelled', 'rejected') AND r.id IS NOT NULL)`,
  },
  {
    invariant: 'a refund refunds a charge: a recorded payment, or a charge the provider made that was never recorded',
    sql: `SELECT r.order_id, format('refund %s names payment %s and charge %s', r.id, r.payment_id, r.provider_payment_id) AS detail
          FROM refunds r LEFT JOIN payments p ON p.id = r.payment_id
          WHERE (r.payment_id IS NULL AND r.provider_payment_id IS NULL)
             OR (p.id IS NOT NULL AND (p.status <> 'succeeded' OR p.order_id <> r.order_id OR p.provider_payment_id IS DISTINCT FROM r.provider_payment_id))`,
  },
  {
    invariant: 'every charge made through the provider carries the provider id (SPEC §8)',
    sql: `SELECT p.order_id, format('payment %s (%s) has no provider payment id', p.id, p.status) AS detail
          FROM payments p
          WHERE p.provider_payment_id IS NULL AND p.created_at > (SELECT coalesce(min(created_at), now()) FROM payment_attempts)`,
  },
  {
    invariant: 'refunds reach the provider within minutes (SPEC §8: 30 s while it is up)',
    sql: `SELECT r.order_id, format('refund %s of %s is not confirmed by the provider after %s', r.id, r.amount, date_trunc('second', now() - r.created_at)) AS detail
          FROM refunds r
          WHERE r.provider_refund_id IS NULL AND r.refunded_at IS NULL AND r.created_at < now() - interval '5 minutes'`,
  },
  {
    invariant: 'every change since the event feed began has its event (SPEC §9), and every event its change',
    sql: `SELECT coalesce(h.order_id, v.order_id) AS order_id, format('history v%s, event %s', h.version, v.id) AS detail
          FROM (SELECT * FROM order_events WHERE created_at >= (SELECT min(created_at) FROM events)) h
          FULL JOIN (SELECT * FROM events WHERE version IS NOT NULL) v ON v.order_id = h.order_id AND v.version = h.version
          WHERE h.id IS NULL OR v.id IS NULL`,
  },
  {
    invariant: 'every refund the provider confirmed has its order.refunded event',
    sql: `SELECT r.order_id, format('refund %s (%s) has no order.refunded event', r.id, r.provider_refund_id) AS detail
          FROM refunds r
          WHERE r.provider_refund_id IS NOT NULL AND r.refunded_at >= (SELECT min(created_at) FROM events)
            AND NOT EXISTS (SELECT 1 FROM events v WHERE v.type = 'order.refunded' AND v.data->'refund'->>'id' = r.provider_refund_id)`,
  },
  {
    invariant: 'no payment attempt stays in flight for minutes (recovery settles them)',
    sql: `SELECT a.order_id, format('attempt %s (%s) in flight since %s', a.id, a.provider_key, a.created_at) AS detail
          FROM payment_attempts a
          WHERE a.state = 'in_flight' AND a.last_call_at < now() - interval '5 minutes'`,
  },
  {
    invariant: 'the total is the sum of the lines, each line quantity × unit price',
    sql: `SELECT o.id AS order_id, format('total %s, lines sum to %s', o.total_amount, sum(i.line_total)) AS detail
          FROM orders o JOIN order_items i ON i.order_id = o.id
          GROUP BY o.id HAVING o.total_amount <> sum(i.line_total) OR bool_or(i.line_total <> i.quantity * i.unit_price) OR count(i.id) NOT BETWEEN 1 AND 50`,
  },
  {
    invariant: 'every idempotency record has its effect',
    sql: `SELECT r.order_id, format('record for %s (%s:%s) has no effect', r.operation, r.actor_role, r.actor_id) AS detail
          FROM idempotency_records r LEFT JOIN orders o ON o.id = r.order_id
          WHERE o.id IS NULL
             OR (r.operation = 'pay' AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.order_id = r.order_id))
             OR (r.operation <> 'create' AND NOT EXISTS (SELECT 1 FROM order_events e WHERE e.order_id = r.order_id AND e.action::text = r.operation))`,
  },
  {
    invariant: 'every recent payment has its idempotency record',
    sql: `SELECT p.order_id, format('payment %s (%s) has no idempotency record', p.id, p.status) AS detail
          FROM payments p
          WHERE p.created_at > now() - make_interval(secs => ${RECORD_TTL_MS / 1000 - 3600})
            AND NOT EXISTS (SELECT 1 FROM idempotency_records r WHERE r.order_id = p.order_id AND r.operation = 'pay')`,
  },
];

/** Runs every check; an empty list means the database is consistent. */
export async function findViolations(prisma: PrismaClient): Promise<Violation[]> {
  const violations: Violation[] = [];
  for (const check of CHECKS) {
    const rows = await prisma.$queryRawUnsafe<{ order_id: number | null; detail: string }[]>(check.sql);
    for (const row of rows) violations.push({ invariant: check.invariant, orderId: row.order_id, detail: row.detail });
  }
  violations.push(...(await illegalTransitions(prisma)));
  return violations;
}

/** Every recorded change must be a legal transition of the state machine, replayed in order with the rider it had. */
async function illegalTransitions(prisma: PrismaClient): Promise<Violation[]> {
  const events = await prisma.orderEvent.findMany({
    select: { orderId: true, version: true, action: true, fromStatus: true, toStatus: true, riderId: true },
    orderBy: [{ orderId: 'asc' }, { version: 'asc' }],
  });
  const riderOf = new Map<number, number | null>();
  const violations: Violation[] = [];
  for (const event of events) {
    if (event.version === 1) {
      riderOf.set(event.orderId, null);
      continue;
    }
    const action = event.action as OrderActionName | null;
    const from = event.fromStatus as OrderStatusName | null;
    const state = { status: from as OrderStatusName, riderId: riderOf.get(event.orderId) ?? null };
    const legal =
      action !== null &&
      from !== null &&
      ORDER_ACTIONS.includes(action) &&
      ORDER_STATUSES.includes(from) &&
      (action === 'pay'
        ? from === 'pending_payment' && (event.toStatus === 'pending_acceptance' || event.toStatus === 'payment_failed')
        : targetStatus(state, action) === event.toStatus);
    if (!legal) {
      violations.push({
        invariant: 'every change is a legal transition',
        orderId: event.orderId,
        detail: `v${event.version}: ${event.action ?? 'no action'} from ${event.fromStatus ?? 'nothing'} to ${event.toStatus}`,
      });
    }
    if (action === 'assign_rider') riderOf.set(event.orderId, event.riderId);
  }
  return violations;
}

/** A readable report of violations. */
export function formatViolations(violations: Violation[]): string {
  if (!violations.length) return 'All invariants hold.';
  return [
    `${violations.length} invariant violation(s):`,
    ...violations.map((violation) => `  - ${violation.invariant}: order ${violation.orderId ?? '?'} — ${violation.detail}`),
  ].join('\n');
}
