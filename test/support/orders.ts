/** Test helpers that put orders into a given state through the real service (never by writing rows). */
import { randomUUID } from 'node:crypto';
import { vi } from 'vitest';
import type { Actor } from '../../src/domain/auth.ts';
import type { OrderWithItems } from '../../src/domain/orders/order.queries.ts';
import type { OrderStatusName } from '../../src/domain/orders/order-state-machine.ts';
import { DEMO, MENU, type TestService } from './harness.ts';

/** Places an order for customer 1 (default) at restaurant 1: 2 × item 1 (11,000) = 22,000 KRW. */
export async function placeOrder(
  service: TestService,
  options: { customer?: Actor; restaurantId?: number; items?: { menuItemId: number; quantity: number }[] } = {},
): Promise<OrderWithItems> {
  const restaurantId = options.restaurantId ?? 1;
  const result = await service.container.orders.createOrder({
    actor: options.customer ?? DEMO.customer1,
    idempotencyKey: randomUUID(),
    restaurantId,
    items: options.items ?? [{ menuItemId: restaurantId === 1 ? MENU.r1[0] : MENU.r2[0], quantity: 2 }],
    deliveryAddress: '1 Test Street',
  });
  return result.order;
}

/** The path of actions from pending_payment to each status. */
const PATHS: Record<OrderStatusName, string[]> = {
  pending_payment: [],
  pending_acceptance: ['pay'],
  payment_failed: ['decline'],
  cancelled: ['pay', 'cancel'],
  preparing: ['pay', 'accept'],
  rejected: ['pay', 'reject'],
  ready_for_pickup: ['pay', 'accept', 'complete'],
  in_transit: ['pay', 'accept', 'complete', 'claim', 'pickup'],
  delivered: ['pay', 'accept', 'complete', 'claim', 'pickup', 'deliver'],
};

/**
 * Places an order and drives it to `status` through the service, as its customer, restaurant and rider 1 would.
 * `withRider` also claims it for rider 1 when the status allows (preparing, ready_for_pickup).
 */
export async function orderIn(
  service: TestService,
  status: OrderStatusName,
  options: { customer?: Actor; restaurantId?: number; withRider?: boolean } = {},
): Promise<OrderWithItems> {
  let order = await placeOrder(service, options);
  const orders = service.container.orders;
  const customer = options.customer ?? DEMO.customer1;
  const restaurant = { role: 'restaurant', id: order.restaurantId } as const;
  const steps = [...PATHS[status]];
  if (options.withRider && (status === 'preparing' || status === 'ready_for_pickup')) steps.push('claim');
  for (const step of steps) {
    const base = { orderId: order.id, expectedVersion: order.version };
    switch (step) {
      case 'pay':
      case 'decline':
        order = (
          await orders.payOrder({
            ...base,
            actor: customer,
            idempotencyKey: randomUUID(),
            paymentMethod: step === 'pay' ? 'card' : 'test_decline',
            amount: order.totalAmount,
          })
        ).order;
        break;
      case 'cancel':
        order = (await orders.cancelOrder({ ...base, actor: customer })).order;
        break;
      case 'accept':
        order = (await orders.acceptOrder({ ...base, actor: restaurant })).order;
        break;
      case 'reject':
        order = (await orders.rejectOrder({ ...base, actor: restaurant })).order;
        break;
      case 'complete':
        order = (await orders.completeOrderPreparation({ ...base, actor: restaurant })).order;
        break;
      case 'claim':
        order = (await orders.assignRider({ ...base, actor: DEMO.rider1 })).order;
        break;
      case 'pickup':
        order = (await orders.pickUpOrder({ ...base, actor: DEMO.rider1 })).order;
        break;
      case 'deliver':
        order = (await orders.deliverOrder({ ...base, actor: DEMO.rider1 })).order;
        break;
    }
  }
  if (order.status !== status) throw new Error(`orderIn: reached ${order.status}, wanted ${status}`);
  return order;
}

/**
 * Holds every charge at the payment provider until `release()` (or 10 s, so that no test hangs): a request inside it
 * keeps its idempotency key meanwhile. `entered` resolves when the first charge arrives; `spy` sees every charge.
 */
export function holdCharges(service: TestService) {
  const provider = service.container.payments.provider;
  const charge = provider.charge.bind(provider);
  let arrive!: () => void;
  let release!: () => void;
  const entered = new Promise<void>((resolve) => {
    arrive = resolve;
  });
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const fallback = setTimeout(release, 10_000);
  const spy = vi.spyOn(provider, 'charge').mockImplementation(async (request) => {
    arrive();
    await gate;
    return charge(request);
  });
  return {
    spy,
    entered,
    release: () => {
      clearTimeout(fallback);
      release();
    },
  };
}
