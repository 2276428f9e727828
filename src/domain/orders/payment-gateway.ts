/**
 * The payment gateway boundary. A real provider implements PaymentGateway; the built-in one is simulated (SPEC §1).
 */
import { createHash } from 'node:crypto';

export const PAYMENT_METHODS = ['card', 'bank_transfer', 'wallet', 'test_decline'] as const;
export type PaymentMethod = (typeof PAYMENT_METHODS)[number];

export type ChargeRequest = {
  /** Derived from the client's idempotency key: a provider that honours it never charges twice for one key. */
  gatewayKey: string;
  orderId: number;
  amount: number;
  method: PaymentMethod;
};

export type ChargeResult = { approved: boolean; reference: string };

export interface PaymentGateway {
  charge(request: ChargeRequest): Promise<ChargeResult>;
}

/** Approves every method but `test_decline`; deterministic per gateway key, like a provider's idempotent API. */
export class SimulatedPaymentGateway implements PaymentGateway {
  async charge(request: ChargeRequest): Promise<ChargeResult> {
    const reference = `sim_${createHash('sha256').update(request.gatewayKey).digest('hex').slice(0, 24)}`;
    return { approved: request.method !== 'test_decline', reference };
  }
}
