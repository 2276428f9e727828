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
import type { IdempotencyRecordFields } from '../idempotency.ts';
import type { OrderActionName, OrderStatusName } from './order-state-machine.ts';

/** A charge the gateway has executed, to be recorded with the change. */
export type PaymentRecord = { amount: number; method: string; approved: boolean; gatewayKey: string; gatewayRef: string };

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
  if (payment) {
    parts.push(Prisma.sql`payment AS (
      INSERT INTO payments (order_id, amount, method, status, gateway_key, gateway_ref)
      SELECT id, ${payment.amount}::integer, ${payment.method}::text, ${payment.approved ? 'succeeded' : 'declined'}::payment_status,
             ${payment.gatewayKey}::text, ${payment.gatewayRef}::text
      FROM updated
    )`);
  }
  if (change.refund) {
    // The statement's snapshot predates it, so this sees the payments committed before, never one inserted above.
    parts.push(Prisma.sql`refund AS (
      INSERT INTO refunds (order_id, payment_id, amount, reason)
      SELECT p.order_id, p.id, p.amount, ${change.reason}::text
      FROM payments p JOIN updated u ON p.order_id = u.id
      WHERE p.status = 'succeeded'
    )`);
  }
  if (idempotency) {
    parts.push(Prisma.sql`idempotency AS (
      INSERT INTO idempotency_records (actor_role, actor_id, key, operation, fingerprint, order_id, outcome, expires_at)
      SELECT ${idempotency.actorRole}::actor_role, ${idempotency.actorId}::integer, ${idempotency.key}::text, ${idempotency.operation}::text,
             ${idempotency.fingerprint}::text, ${idempotency.orderId}::integer, ${JSON.stringify(idempotency.outcome)}::jsonb, ${idempotency.expiresAt}::timestamptz
      FROM updated
    )`);
  }
  const rows = await prisma.$queryRaw<{ version: number }[]>`WITH ${Prisma.join(parts, ',\n')} SELECT version FROM updated`;
  return rows[0]?.version ?? null;
}
