/**
 * The payment provider, spoken to through the official `stripe` SDK (SPEC §8): Stripe itself, any Stripe-compatible
 * gateway at PAYMENT_PROVIDER_URL, or — the embedded default — the built-in simulator, which the same SDK reaches
 * through an in-process fetch instead of the network. Every path through the service is therefore the same code.
 *
 * Network behaviour, decided here once:
 * - every POST carries the idempotency key the caller chose (it belongs to the order or refund, never to a client);
 *   the SDK's own retries (connection errors, 409, 5xx) resend the same key, so they can never charge twice;
 * - a timeout, a refused connection, a 5xx or a 429 means "unavailable": the caller keeps its attempt in flight and
 *   recovery finds out later what the provider did;
 * - a 409 that outlives the retries means the same key is still being processed by another request.
 */
import fs from 'node:fs';
import Stripe from 'stripe';
import { PaymentInProgressError, PaymentProviderUnavailableError } from '../errors.ts';
import { createProviderSimulator, type SimulatorState, type SimulatorStore } from './provider-simulator.ts';

export const PAYMENT_METHODS = ['card', 'bank_transfer', 'wallet', 'test_decline'] as const;
export type PaymentMethod = (typeof PAYMENT_METHODS)[number];

/** How many times the SDK resends a request that failed on the network or with 409/5xx (same idempotency key). */
const MAX_NETWORK_RETRIES = 2;

export type ChargeRequest = { idempotencyKey: string; orderId: number; amount: number; method: PaymentMethod };
/** A charge the provider executed: succeeded, or declined (the PaymentIntent then needs another payment method). */
export type ChargeOutcome = { approved: boolean; paymentIntentId: string };
export type ProviderPaymentIntent = {
  id: string;
  amount: number;
  succeeded: boolean;
  orderId: string | undefined;
  /** When the provider created it (Stripe's `created`), if the provider says. */
  createdAt: Date | undefined;
};
export type RefundRequest = { idempotencyKey: string; paymentIntentId: string; amount: number };
export type ProviderRefund = { id: string; amount: number };

export type ProviderCallObserver = (operation: string, outcome: 'ok' | 'declined' | 'unavailable' | 'in_progress' | 'error') => void;

export type PaymentProviderOptions = {
  /** Base URL and secret key of a Stripe-compatible API; undefined selects the built-in simulator. */
  remote: { url: string; secretKey: string } | undefined;
  timeoutMs: number;
  /** Where the built-in simulator keeps its books across restarts (beside a persistent embedded database). */
  simulatorFile?: string | undefined;
  /** Counts every call by operation and outcome (metrics). */
  onCall?: ProviderCallObserver;
};

/** The subset of a Stripe-compatible API the service uses. */
export class PaymentProvider {
  private readonly stripe: Stripe;

  constructor(private readonly options: PaymentProviderOptions) {
    const common = { timeout: options.timeoutMs, maxNetworkRetries: MAX_NETWORK_RETRIES, telemetry: false } as const;
    if (options.remote) {
      const url = new URL(options.remote.url);
      this.stripe = new Stripe(options.remote.secretKey, {
        ...common,
        host: url.hostname,
        port: url.port || (url.protocol === 'https:' ? 443 : 80),
        protocol: url.protocol === 'https:' ? 'https' : 'http',
      });
    } else {
      const simulator = createProviderSimulator(options.simulatorFile ? { store: fileStore(options.simulatorFile) } : {});
      this.stripe = new Stripe('sk_test_builtin_simulator', {
        ...common,
        host: 'simulator.invalid',
        protocol: 'http',
        httpClient: Stripe.createFetchHttpClient(async (input, init) => simulator.app.fetch(new Request(input, init))),
      });
    }
  }

  /**
   * Creates and confirms a PaymentIntent for the order. A decline is an outcome, not an error; the provider being
   * unreachable is PaymentProviderUnavailableError, the same key still running elsewhere PaymentInProgressError.
   */
  async charge(request: ChargeRequest): Promise<ChargeOutcome> {
    return this.call('charge', async () => {
      try {
        const intent = await this.stripe.paymentIntents.create(
          {
            amount: request.amount,
            currency: 'krw',
            confirm: true,
            payment_method: request.method === 'test_decline' ? 'pm_card_chargeDeclined' : 'pm_card_visa',
            metadata: { order_id: String(request.orderId), payment_method: request.method },
          },
          { idempotencyKey: request.idempotencyKey },
        );
        if (intent.status !== 'succeeded') throw new Error(`PaymentIntent ${intent.id} is ${intent.status}, expected succeeded`);
        return { approved: true, paymentIntentId: intent.id };
      } catch (error) {
        if (error instanceof Stripe.errors.StripeCardError && error.payment_intent?.id) {
          return { approved: false, paymentIntentId: error.payment_intent.id };
        }
        throw error;
      }
    });
  }

  /**
   * The PaymentIntents the provider holds for this order (Stripe's search by metadata). An account shared with another
   * database (a re-created one, another environment) may hold intents for an order with the same id: those created
   * before this order was are not its own, and are left out.
   */
  paymentIntentsOfOrder(order: { id: number; createdAt: Date }): Promise<ProviderPaymentIntent[]> {
    return this.call('search', async () => {
      const result = await this.stripe.paymentIntents.search({ query: `metadata['order_id']:'${order.id}'`, limit: 100 });
      // Stripe's `created` has whole seconds; a minute of slack covers that and clock skew between us and the provider.
      const notBefore = order.createdAt.getTime() - 60_000;
      const mine = result.data.filter((intent) => intent.metadata?.order_id === String(order.id) && !(intent.created * 1000 < notBefore));
      return mine.map((intent) => ({
        id: intent.id,
        amount: intent.amount,
        succeeded: intent.status === 'succeeded',
        orderId: intent.metadata?.order_id,
        createdAt: typeof intent.created === 'number' ? new Date(intent.created * 1000) : undefined,
      }));
    });
  }

  /** Refunds `amount` of a PaymentIntent; the key belongs to the charge refunded, so a resend never refunds twice. */
  refund(request: RefundRequest): Promise<ProviderRefund> {
    return this.call('refund', async () => {
      const refund = await this.stripe.refunds.create(
        { payment_intent: request.paymentIntentId, amount: request.amount },
        { idempotencyKey: request.idempotencyKey },
      );
      return { id: refund.id, amount: refund.amount };
    });
  }

  /** The refunds the provider holds for a PaymentIntent. */
  refundsOf(paymentIntentId: string): Promise<ProviderRefund[]> {
    return this.call('list_refunds', async () => {
      const list = await this.stripe.refunds.list({ payment_intent: paymentIntentId, limit: 100 });
      return list.data
        .filter((refund) => refund.status !== 'failed' && refund.status !== 'canceled')
        .map((refund) => ({ id: refund.id, amount: refund.amount }));
    });
  }

  /** Runs one SDK call, translating the provider's failures into domain errors and counting the outcome. */
  private async call<T>(operation: string, run: () => Promise<T>): Promise<T> {
    try {
      const result = await run();
      const declined = operation === 'charge' && !(result as ChargeOutcome).approved;
      this.options.onCall?.(operation, declined ? 'declined' : 'ok');
      return result;
    } catch (error) {
      const translated = translate(error);
      this.options.onCall?.(
        operation,
        translated instanceof PaymentProviderUnavailableError
          ? 'unavailable'
          : translated instanceof PaymentInProgressError
            ? 'in_progress'
            : 'error',
      );
      throw translated;
    }
  }
}

/** A JSON file holding the simulator's books; written whole after each change (they stay small in development). */
function fileStore(file: string): SimulatorStore {
  return {
    load: () => (fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as SimulatorState) : undefined),
    save: (state) => {
      fs.writeFileSync(`${file}.tmp`, JSON.stringify(state));
      fs.renameSync(`${file}.tmp`, file);
    },
  };
}

/** Which of the provider's failures is which for us. Anything else (a 400 we caused) stays an unexpected error. */
function translate(error: unknown): unknown {
  if (!(error instanceof Stripe.errors.StripeError)) return error;
  // The same key still running elsewhere: the SDK raises it as a StripeAPIError with status 409 (after its retries).
  if (error.statusCode === 409 && error.rawType === 'idempotency_error') return new PaymentInProgressError();
  const unavailable =
    error instanceof Stripe.errors.StripeConnectionError ||
    error instanceof Stripe.errors.StripeRateLimitError ||
    error instanceof Stripe.errors.StripeAuthenticationError ||
    error instanceof Stripe.errors.StripePermissionError ||
    (error.statusCode ?? 500) >= 500;
  return unavailable ? new PaymentProviderUnavailableError() : error;
}
