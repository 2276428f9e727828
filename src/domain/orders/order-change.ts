/**
 * The one write of every action on an existing order: a compare-and-swap on (id, version) that, in the same
 * statement, appends the history event, records the payment or refund, and stores the idempotency record.
 *
 * One statement is one round trip, and atomic on its own: PostgreSQL applies a statement's data-modifying CTEs all
 * or nothing, and every insert selects from the UPDATE's RETURNING, so when the version has moved on (0 rows) nothing
 * at all is written. A unique-index violation in any part (an idempotency key recorded meanwhile, a second succeeded
 * payment) undoes the whole statement, exactly as a rolled-back transaction would.
 *
 * Written as SQL because Prisma cannot make inserts depend on an update within one statement, and the interactive
 * transaction it would take instead costs five round trips (BEGIN, UPDATE, two INSERTs, COMMIT) on the hottest path.
 * Tables and columns are those of prisma/schema.prisma; every action test runs through this statement.
 */
import { Prisma, type PrismaClient } from '../../generated/prisma/client.ts';
import type { Actor } from '../auth.ts';
import { eventInsert, eventTypeOf } from '../events/events.ts';
import { type IdempotencyRecordFields, recordInsert } from '../idempotency.ts';
import { enqueueRefundJobs } from '../payments/payments.ts';
import type { OrderActionName, OrderStatusName } from './order-state-machine.ts';

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
  /** The version the change was decided on; the write happens only if the order is still there. */
  expectedVersion: number;
  action: OrderActionName;
  actor: Actor;
  fromStatus: OrderStatusName;
  toStatus: OrderStatusName;
  /** The order's rider after the change. */
  riderId: number | null;
  /** The rider this change assigned (history), if any. */
  assignedRiderId: number | null;
  reason: string | null;
  /** The order's new `updated_at`, also the event's time. */
  at: Date;
  payment?: PaymentRecord;
  /** Refund the order's succeeded payment, if it has one. */
  refund?: boolean;
  idempotency?: IdempotencyRecordFields;
  /** The order as the change leaves it, for the event that goes out with it (SPEC §9). */
  snapshot: Prisma.JsonObject;
};

/** Commits the change; returns the new version, or null when the order was no longer at `expectedVersion`. */
export async function commitOrderChange(prisma: PrismaClient, change: OrderChange): Promise<number | null> {
  const { payment, idempotency } = change;
  const parts: Prisma.Sql[] = [
    Prisma.sql`updated AS (
      UPDATE orders
      SET status = ${change.toStatus}::order_status, rider_id = ${change.riderId}::integer, version = version + 1, updated_at = ${change.at}::timestamptz
      WHERE id = ${change.orderId}::integer AND version = ${change.expectedVersion}::integer
      RETURNING id, version
    )`,
    Prisma.sql`event AS (
      INSERT INTO order_events (order_id, version, action, from_status, to_status, actor_role, actor_id, rider_id, reason, created_at)
      SELECT id, version, ${change.action}::order_action, ${change.fromStatus}::order_status, ${change.toStatus}::order_status,
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
    // The statement's snapshot predates it, so this sees the payments committed before, never one inserted above.
    // The refund row is the outbox entry: its job sends it to the provider once this statement has committed.
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
  if (idempotency) parts.push(Prisma.sql`idempotency AS (${recordInsert(idempotency, Prisma.sql`FROM updated`)})`);
  const type = eventTypeOf(change.action, change.toStatus);
  parts.push(Prisma.sql`outgoing AS (${eventInsert(type, { order: change.snapshot }, Prisma.sql`FROM updated`)})`);
  const extra = mustRun.length ? Prisma.sql`, ${Prisma.join(mustRun, ', ')}` : Prisma.empty;
  const rows = await prisma.$queryRaw<{ version: number }[]>`WITH ${Prisma.join(parts, ',\n')} SELECT version${extra} FROM updated`;
  return rows[0]?.version ?? null;
}
