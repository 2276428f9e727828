/**
 * Money through the provider, so that the promise "one charge per order, every charge accounted for" holds at the
 * provider and not only in our tables (SPEC §8). The shape is Brandur Leach's "atomic phases":
 *
 * 1. Before the call, an attempt row is written (payment_attempts) together with a recovery job that runs once the
 *    attempt's lease is over. At most one attempt per order is in flight (a partial unique index), and its provider
 *    idempotency key belongs to the order, so two devices paying the same order reach the provider with the same key
 *    and parameters, and the provider collapses them into one charge; a payment with other parameters waits.
 * 2. The call. Whatever happens to the response or to the process, the attempt row stays until it is settled.
 * 3. The charge is recorded with the order's change in one statement (order-change.ts), which also settles the
 *    attempt. A charge whose order moved on meanwhile is refunded instead.
 *
 * Recovery (the settle job, run by the job queue in every process) asks the provider what happened to an attempt
 * nobody settled, by sending the attempt's own request again: the charge is recorded on its order or, when the order
 * has moved on, refunded. Refunds are rows written with the change that causes them, and a job per refund sends it
 * to the provider at least once, with a key that belongs to the charge refunded.
 */
import type { JobHelpers, Task, TaskList } from 'graphile-worker';
import { Prisma, type PrismaClient } from '../../generated/prisma/client.ts';
import type { Actor } from '../auth.ts';
import { PaymentInProgressError, PaymentProviderUnavailableError } from '../errors.ts';
import { type EventData, eventInsert } from '../events/events.ts';
import { loadOrder, toSnapshot } from '../orders/order.queries.ts';
import type { ChargeOutcome, PaymentMethod, PaymentProvider } from './payment-provider.ts';

/** Job names of the job queue (see infra/job-queue.ts). */
export const JOBS = { settleAttempt: 'settle_payment_attempt', sendRefund: 'send_refund' } as const;

/** Enough retries of a refund to cover days of provider outage (graphile-worker backs off exponentially, up to 6 h). */
export const REFUND_MAX_ATTEMPTS = 25;

export type PaymentAttempt = Prisma.PaymentAttemptGetPayload<object>;

/** A charge the provider executed for an attempt. */
export type ExecutedCharge = ChargeOutcome & { attemptId: number; providerKey: string };

export type ChargeCommand = {
  order: { id: number; version: number; createdAt: Date };
  amount: number;
  method: PaymentMethod;
  actor: Actor;
  /** The client request's key and fingerprint, so that recovery can record the outcome as that request would. */
  idempotency: { key: string; fingerprint: string } | null;
};

/** Records a charge found by recovery on its order; false when the order has moved on (the charge is then refunded). */
export type RecordRecoveredCharge = (attempt: PaymentAttempt, charge: ExecutedCharge) => Promise<boolean>;

export class Payments {
  /** How long a request may still be talking to the provider about an attempt; recovery waits this long. */
  readonly attemptLeaseMs: number;

  constructor(
    private readonly prisma: PrismaClient,
    /** The provider client (public so that fault tests can wrap it). */
    readonly provider: PaymentProvider,
    options: { providerTimeoutMs: number },
  ) {
    // The SDK sends a request at most 3 times (MAX_NETWORK_RETRIES), backing off at most ~1.5 s in all.
    this.attemptLeaseMs = 3 * options.providerTimeoutMs + 5_000;
  }

  /**
   * Charges the order through the provider under the order's in-flight attempt (joining it when another request
   * with the same amount and method started it). Throws PaymentInProgressError when another charge of the order is
   * in flight, PaymentProviderUnavailableError when the provider's answer is unknown (the attempt stays in flight).
   * Null, without calling the provider, when the order is no longer waiting for payment at the version given.
   */
  async charge(command: ChargeCommand): Promise<ExecutedCharge | null> {
    const attempt = await this.claimAttempt(command);
    if (!attempt) return null;
    try {
      const outcome = await this.provider.charge({
        idempotencyKey: attempt.providerKey,
        orderId: command.order.id,
        amount: command.amount,
        method: command.method,
      });
      return { ...outcome, attemptId: attempt.id, providerKey: attempt.providerKey };
    } catch (error) {
      // The provider still working on the key this request itself sent (its earlier try timed out) is an unknown
      // outcome, like the timeout: 503. Only a request that joined another's attempt is told that one is running.
      if (error instanceof PaymentInProgressError && attempt.created) throw new PaymentProviderUnavailableError();
      throw error;
    }
  }

  /**
   * The order's attempt in flight for this charge: a new one, or the one with the same parameters; null when the
   * order has moved on since the caller read it. Without that check, a request that read the order before another
   * payment was recorded would start a second attempt, and the provider would make a second charge.
   */
  private async claimAttempt(command: ChargeCommand): Promise<{ id: number; providerKey: string; created: boolean } | null> {
    const { order, amount, method, actor, idempotency } = command;
    // The key names the order by its id and creation time, so that a re-created database can never meet the keys
    // (and the provider's stored answers) of the orders that had the same ids before.
    const keyBase = `qe_pay_${order.id}_${order.createdAt.getTime()}_v${order.version}_a`;
    // An empty answer means we raced another request inserting or settling the attempt: ask again.
    for (let round = 0; round < 5; round++) {
      const rows = await this.prisma.$queryRaw<{ kind: 'created' | 'joined' | 'busy' | 'stale'; id: number; provider_key: string }[]>`
        WITH payable AS (
          SELECT 1 FROM orders WHERE id = ${order.id}::integer AND version = ${order.version}::integer AND status = 'pending_payment'
        ), existing AS (
          SELECT id, provider_key, amount, method FROM payment_attempts WHERE order_id = ${order.id}::integer AND state = 'in_flight'
        ), joined AS (
          UPDATE payment_attempts a SET last_call_at = now()
          FROM existing e
          WHERE a.id = e.id AND a.state = 'in_flight' AND a.amount = ${amount}::integer AND a.method = ${method}::text
            AND EXISTS (SELECT 1 FROM payable)
          RETURNING a.id, a.provider_key
        ), next AS (
          SELECT coalesce(max(attempt_no), 0) + 1 AS attempt_no FROM payment_attempts
          WHERE order_id = ${order.id}::integer AND order_version = ${order.version}::integer
        ), created AS (
          INSERT INTO payment_attempts (order_id, order_version, attempt_no, provider_key, amount, method, actor_role, actor_id, idempotency_key, fingerprint)
          SELECT ${order.id}::integer, ${order.version}::integer, attempt_no, ${keyBase}::text || attempt_no, ${amount}::integer, ${method}::text,
                 ${actor.role}::actor_role, ${actor.id}::integer, ${idempotency?.key ?? null}::text, ${idempotency?.fingerprint ?? null}::text
          FROM next WHERE NOT EXISTS (SELECT 1 FROM existing) AND EXISTS (SELECT 1 FROM payable)
          ON CONFLICT DO NOTHING
          RETURNING id, provider_key
        ), recovery AS (
          SELECT graphile_worker.add_job(${JOBS.settleAttempt}::text, json_build_object('attemptId', id),
                 run_at := now() + make_interval(secs => ${this.attemptLeaseMs / 1000}::double precision),
                 job_key := 'payment-attempt:' || id, max_attempts := 100)
          FROM created
        )
        SELECT 'created' AS kind, id, provider_key FROM created, (SELECT count(*) FROM recovery) AS enqueued
        UNION ALL SELECT 'joined', id, provider_key FROM joined
        UNION ALL SELECT 'busy', id, provider_key FROM existing WHERE NOT (amount = ${amount}::integer AND method = ${method}::text)
        UNION ALL SELECT 'stale', 0, '' WHERE NOT EXISTS (SELECT 1 FROM payable)`;
      if (rows.some((candidate) => candidate.kind === 'stale')) return null;
      const row = rows[0];
      if (row?.kind === 'busy') throw new PaymentInProgressError();
      if (row) return { id: row.id, providerKey: row.provider_key, created: row.kind === 'created' };
    }
    throw new PaymentInProgressError();
  }

  /**
   * A charge whose order moved on before it could be recorded (the compare-and-swap lost): refund it, unless the
   * winner recorded this very charge. Runs after the winner committed, so its payments row is visible here.
   */
  async settleUnrecordedCharge(charge: ExecutedCharge, order: { id: number }, amount: number): Promise<void> {
    if (!charge.approved) {
      await this.prisma.$executeRaw`
        UPDATE payment_attempts SET state = 'abandoned', provider_payment_id = ${charge.paymentIntentId}, settled_at = now()
        WHERE id = ${charge.attemptId}::integer AND state = 'in_flight'`;
      return;
    }
    await this.refundStrayCharge(charge.attemptId, order.id, charge.paymentIntentId, amount);
  }

  /** Refunds a succeeded charge that no payments row records; settles its attempt (if any) as refunded. */
  async refundStrayCharge(attemptId: number | null, orderId: number, paymentIntentId: string, amount: number): Promise<void> {
    await this.prisma.$queryRaw`
      WITH refund AS (
        INSERT INTO refunds (order_id, provider_payment_id, amount, reason)
        SELECT ${orderId}::integer, ${paymentIntentId}::text, ${amount}::integer, 'charged after the order had moved on'
        WHERE NOT EXISTS (SELECT 1 FROM payments WHERE provider_payment_id = ${paymentIntentId}::text)
        ON CONFLICT (provider_payment_id) DO NOTHING
        RETURNING id
      ), job AS (
        SELECT graphile_worker.add_job(${JOBS.sendRefund}::text, json_build_object('refundId', id),
               job_key := 'refund:' || id, max_attempts := ${REFUND_MAX_ATTEMPTS}::integer)
        FROM refund
      ), settled AS (
        UPDATE payment_attempts SET state = 'refunded', provider_payment_id = ${paymentIntentId}::text, settled_at = now()
        WHERE id = ${attemptId}::integer AND state IN ('in_flight', 'abandoned')
          AND NOT EXISTS (SELECT 1 FROM payments WHERE provider_payment_id = ${paymentIntentId}::text)
        RETURNING id
      )
      SELECT (SELECT count(*) FROM job) AS jobs, (SELECT count(*) FROM settled) AS settled`;
  }

  /**
   * Recovery of one attempt nobody settled (its answer was lost, or its process died): sends the attempt's own request
   * again, with its key and parameters, which is the one question whose answer is certain. The provider answers with
   * what it did under that key (or does it now, which the customer asked for), and the charge is recorded on its
   * order, or refunded when the order has moved on. A search would not do: Stripe's is eventually consistent, and a
   * charge it has not seen yet would be given up for lost. Returns when to look again, or null once settled.
   * Safe to run in several processes at once: every write is conditional.
   */
  async settleAttempt(attemptId: number, record: RecordRecoveredCharge): Promise<Date | null> {
    const attempt = await this.prisma.paymentAttempt.findUnique({ where: { id: attemptId } });
    if (attempt?.state !== 'in_flight') return null;
    // A request that joined the attempt lately may still be waiting for the provider: its answer comes first.
    const leaseEnds = attempt.lastCallAt.getTime() + this.attemptLeaseMs;
    if (leaseEnds > Date.now()) return new Date(leaseEnds + 500);
    let outcome: ChargeOutcome;
    try {
      outcome = await this.provider.charge({
        idempotencyKey: attempt.providerKey,
        orderId: attempt.orderId,
        amount: attempt.amount,
        method: attempt.method as PaymentMethod,
      });
    } catch (error) {
      // The provider is still working on this key: ask again shortly.
      if (error instanceof PaymentInProgressError) return new Date(Date.now() + 2_000);
      throw error;
    }
    const charge: ExecutedCharge = { ...outcome, attemptId: attempt.id, providerKey: attempt.providerKey };
    if (!(await record(attempt, charge))) await this.settleUnrecordedCharge(charge, { id: attempt.orderId }, attempt.amount);
    return null;
  }

  /**
   * Sends one refund to the provider and records the provider's id. Throws while the provider is unavailable, so
   * the job queue retries with backoff; a refund already made (say, its key expired) is found and recorded.
   */
  async sendRefund(refundId: number): Promise<void> {
    const refund = await this.prisma.refund.findUnique({ where: { id: refundId } });
    if (!refund || refund.providerRefundId || refund.refundedAt) return;
    if (!refund.providerPaymentId) {
      // A charge recorded before payments went through a provider: there is nothing to send.
      await this.prisma.refund.update({ where: { id: refundId }, data: { refundedAt: new Date() } });
      return;
    }
    const request = {
      idempotencyKey: `qe_refund_${refund.providerPaymentId}`,
      paymentIntentId: refund.providerPaymentId,
      amount: refund.amount,
    };
    let providerRefundId: string;
    try {
      providerRefundId = (await this.provider.refund(request)).id;
    } catch (error) {
      if (error instanceof PaymentProviderUnavailableError) throw error;
      const existing = (await this.provider.refundsOf(refund.providerPaymentId)).find((candidate) => candidate.amount === refund.amount);
      if (!existing) throw error;
      providerRefundId = existing.id;
    }
    // The confirmation and its order.refunded event (SPEC §9) are one statement: one exists exactly when the other does.
    const order = await loadOrder(this.prisma, refund.orderId);
    const data: EventData = { order: order ? toSnapshot(order) : {}, refund: { id: providerRefundId, amount: refund.amount } };
    await this.prisma.$executeRaw`
      WITH confirmed AS (
        UPDATE refunds SET provider_refund_id = ${providerRefundId}::text, refunded_at = now()
        WHERE id = ${refundId}::integer AND provider_refund_id IS NULL
        RETURNING order_id
      )
      ${eventInsert('order.refunded', data, Prisma.sql`FROM confirmed`, Prisma.sql`order_id, NULL::integer`)}`;
  }

  /** Attempts in flight right now (metrics). */
  async attemptsInFlight(): Promise<number> {
    return this.prisma.paymentAttempt.count({ where: { state: 'in_flight' } });
  }
}

/** The SQL fragment for order-change.ts: enqueue the refund job for each refund row the statement inserts. */
export const enqueueRefundJobs = (refundCte: string): Prisma.Sql =>
  Prisma.sql`SELECT graphile_worker.add_job(${JOBS.sendRefund}::text, json_build_object('refundId', id), job_key := 'refund:' || id, max_attempts := ${REFUND_MAX_ATTEMPTS}::integer) FROM ${Prisma.raw(refundCte)}`;

/**
 * The job queue's payment tasks: send a refund, and recover an attempt (`settleAttempt`, which records on the order).
 */
export function paymentTasks(payments: Payments, settleAttempt: (attemptId: number) => Promise<Date | null>): TaskList {
  return {
    [JOBS.sendRefund]: whileProviderDown(async (payload) => {
      await payments.sendRefund(Number((payload as { refundId: number }).refundId));
    }),
    [JOBS.settleAttempt]: whileProviderDown(async (payload, helpers) => {
      const attemptId = Number((payload as { attemptId: number }).attemptId);
      const again = await settleAttempt(attemptId);
      if (again) await requeue(helpers, payload, again);
    }),
  };
}

/**
 * graphile-worker backs a failed job off exponentially (e^attempts seconds, up to hours), which would leave refunds
 * and recoveries far behind a provider that is back. While the provider is unavailable the job is put back itself,
 * a few seconds later (at most 10), for as long as the outage lasts; other failures use the queue's backoff.
 */
function whileProviderDown(task: Task): Task {
  return async (payload, helpers) => {
    try {
      await task(payload, helpers);
    } catch (error) {
      if (!(error instanceof PaymentProviderUnavailableError)) throw error;
      const tries = ((payload as { tries?: number }).tries ?? 0) + 1;
      helpers.logger.info(`payment provider unavailable; ${helpers.job.task_identifier} tries again (${tries})`);
      await requeue(helpers, { ...(payload as object), tries }, new Date(Date.now() + Math.min(2 ** tries, 10) * 1000));
    }
  };
}

/** Puts the running job back under its key for `runAt` (the running one then completes). */
async function requeue(helpers: JobHelpers, payload: unknown, runAt: Date): Promise<void> {
  const { job } = helpers;
  await helpers.addJob(job.task_identifier, payload as object, { runAt, jobKey: job.key ?? undefined, maxAttempts: job.max_attempts });
}
