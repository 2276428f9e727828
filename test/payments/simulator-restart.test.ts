/**
 * The built-in simulator is the provider of `npm start`: its books must outlive a restart exactly as long as the
 * embedded database that refers to them, or a refund after a restart would name a PaymentIntent it never heard of.
 */

import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { backend, DEMO, startTestService } from '../support/harness.ts';
import { placeOrder } from '../support/orders.ts';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'simulator-restart-'));
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

describe.runIf(backend === 'embedded')('the built-in payment simulator across a restart (embedded)', () => {
  it('refunds after a restart a charge made before it', { timeout: 120_000 }, async () => {
    const pglite = path.join(dataDir, 'pglite');
    const before = await startTestService({ EMBEDDED_DATA_DIR: pglite });
    const order = await placeOrder(before);
    const paid = await before.container.orders.payOrder({
      actor: DEMO.customer1,
      orderId: order.id,
      expectedVersion: 1,
      idempotencyKey: randomUUID(),
      paymentMethod: 'card',
      amount: order.totalAmount,
    });
    expect(paid.order.status).toBe('pending_acceptance');
    await before.close();
    expect(fs.existsSync(`${pglite}.payment-simulator.json`)).toBe(true);

    const after = await startTestService({ EMBEDDED_DATA_DIR: pglite });
    try {
      await after.container.orders.cancelOrder({ actor: DEMO.customer1, orderId: order.id, expectedVersion: 2 });
      const deadline = Date.now() + 30_000;
      let refund = await after.container.db.prisma.refund.findFirst({ where: { orderId: order.id } });
      while (!refund?.providerRefundId && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        refund = await after.container.db.prisma.refund.findFirst({ where: { orderId: order.id } });
      }
      expect(refund?.providerRefundId).toMatch(/^re_/);
      const payment = await after.container.db.prisma.payment.findFirst({ where: { orderId: order.id } });
      expect(refund?.providerPaymentId).toBe(payment?.providerPaymentId);
    } finally {
      await after.close();
    }
  });
});
