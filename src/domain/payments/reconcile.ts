/**
 * Reconciliation: what the provider holds against what our tables say, for the orders touched in a time window
 * (`npm run payments:reconcile`). Each difference is reported; `fix` settles the ones the service can settle itself,
 * through the same paths it uses every day (recovery of an attempt, a refund of a stray charge, the refund job).
 */
import type { PrismaClient } from '../../generated/prisma/client.ts';
import type { OrderService } from '../orders/order.service.ts';
import type { Payments } from './payments.ts';

export type Difference = {
  kind:
    | 'unaccounted_charge'
    | 'refund_not_at_provider'
    | 'refund_amount_differs'
    | 'refund_unknown_to_us'
    | 'payment_unknown_to_provider'
    | 'payment_status_differs';
  orderId: number;
  detail: string;
  /** What --fix did about it, if anything. */
  fixed?: string;
};

export type ReconcileOptions = { since: Date; until: Date; fix: boolean };

/** Compares every order with payments activity in [since, until) with the provider; fixes what it can when asked. */
export async function reconcilePayments(
  deps: { prisma: PrismaClient; payments: Payments; orders: OrderService },
  options: ReconcileOptions,
): Promise<{ orders: number; differences: Difference[] }> {
  const { prisma, payments, orders } = deps;
  const window = { gte: options.since, lt: options.until };
  const touched = await prisma.order.findMany({
    where: {
      OR: [{ createdAt: window }, { payments: { some: { createdAt: window } } }, { paymentAttempts: { some: { createdAt: window } } }],
    },
    select: { id: true, createdAt: true },
    orderBy: { id: 'asc' },
  });
  const differences: Difference[] = [];
  for (const order of touched) {
    const orderId = order.id;
    const intents = await payments.provider.paymentIntentsOfOrder(order);
    const [ourPayments, ourRefunds, attempts] = await Promise.all([
      prisma.payment.findMany({ where: { orderId } }),
      prisma.refund.findMany({ where: { orderId } }),
      prisma.paymentAttempt.findMany({ where: { orderId } }),
    ]);
    const inFlight = attempts.find((attempt) => attempt.state === 'in_flight');
    const byIntent = new Map(intents.map((intent) => [intent.id, intent]));
    for (const intent of intents.filter((candidate) => candidate.succeeded)) {
      const recorded = ourPayments.some((payment) => payment.providerPaymentId === intent.id);
      const refunded = ourRefunds.some((refund) => refund.providerPaymentId === intent.id);
      if (!recorded && !refunded) {
        // Ours only if one of our attempts made it: an account shared with another database (or charges made outside
        // the service) can hold intents for an order with the same id, and those are not ours to refund.
        const madeBy = attempts.find((attempt) => attempt.providerPaymentId === intent.id);
        const pending = inFlight?.amount === intent.amount ? inFlight : undefined;
        const difference: Difference = {
          kind: 'unaccounted_charge',
          orderId,
          detail: `${intent.id} (${intent.amount}) is neither recorded nor refunded${madeBy || pending ? '' : '; none of our attempts made it: check it by hand'}`,
        };
        if (options.fix && pending) {
          // Recovery sends the attempt's own request again and records or refunds what it gets.
          const later = await orders.settlePaymentAttempt(pending.id);
          difference.fixed = later ? `attempt ${pending.id} is still running; recovery will settle it` : `settled attempt ${pending.id}`;
        } else if (options.fix && madeBy) {
          await payments.refundStrayCharge(madeBy.id, orderId, intent.id, intent.amount);
          difference.fixed = 'refund queued';
        }
        differences.push(difference);
      }
    }
    for (const payment of ourPayments.filter((row) => row.providerPaymentId)) {
      const intent = byIntent.get(payment.providerPaymentId!);
      if (!intent) {
        differences.push({
          kind: 'payment_unknown_to_provider',
          orderId,
          detail: `payment ${payment.id} names ${payment.providerPaymentId}, which the provider does not know`,
        });
      } else if (intent.succeeded !== (payment.status === 'succeeded')) {
        differences.push({
          kind: 'payment_status_differs',
          orderId,
          detail: `payment ${payment.id} is ${payment.status}; ${intent.id} is ${intent.succeeded ? 'succeeded' : 'not succeeded'}`,
        });
      }
    }
    for (const intent of intents.filter((candidate) => candidate.succeeded)) {
      const atProvider = await payments.provider.refundsOf(intent.id);
      const ours = ourRefunds.filter((refund) => refund.providerPaymentId === intent.id);
      for (const refund of ours) {
        const match = atProvider.find((candidate) => candidate.id === refund.providerRefundId);
        if (!refund.providerRefundId || !match) {
          const difference: Difference = {
            kind: 'refund_not_at_provider',
            orderId,
            detail: `refund ${refund.id} of ${refund.amount} for ${intent.id} is not confirmed by the provider`,
          };
          if (options.fix && !refund.providerRefundId) {
            await payments.sendRefund(refund.id);
            difference.fixed = 'refund sent';
          }
          differences.push(difference);
        } else if (match.amount !== refund.amount) {
          differences.push({
            kind: 'refund_amount_differs',
            orderId,
            detail: `refund ${refund.id}: ${refund.amount} here, ${match.amount} at the provider`,
          });
        }
      }
      for (const extra of atProvider.filter((candidate) => !ours.some((refund) => refund.providerRefundId === candidate.id))) {
        differences.push({
          kind: 'refund_unknown_to_us',
          orderId,
          detail: `${extra.id} refunds ${extra.amount} of ${intent.id}, and no refunds row names it`,
        });
      }
    }
  }
  return { orders: touched.length, differences };
}
