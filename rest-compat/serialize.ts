/**
 * Reading an order from either source REST serializes: a live OrderWithItems, or the JSON snapshot an idempotency
 * record stores (StoredOutcome.order), whose dates are ISO strings. Both versions build their JSON from this.
 */

import type { OrderWithItems } from '../src/domain/orders/order.queries.ts';
import type { OrderStatusName } from '../src/domain/orders/order-state-machine.ts';
import type { Prisma } from '../src/generated/prisma/client.ts';

export type OrderFields = {
  id: number;
  status: OrderStatusName;
  version: number;
  total_amount: number;
  items: { menu_item_id: number; name: string; quantity: number; unit_price: number; line_total: number }[];
  restaurant_id: number;
  rider_id: number | null;
  customer_id: number;
  created_at: string;
  updated_at: string;
};

/** What the JSON is made of: the order's columns and its items' (a live order, or one read as rows). */
export type OrderSource = Pick<OrderWithItems, 'id' | 'status' | 'version' | 'totalAmount' | 'restaurantId' | 'riderId' | 'customerId'> & {
  items: Pick<OrderWithItems['items'][number], 'menuItemId' | 'name' | 'quantity' | 'unitPrice' | 'lineTotal'>[];
  createdAt: Date | string;
  updatedAt: Date | string;
};

const iso = (value: Date | string) => new Date(value).toISOString();

/** The snake_case order of SPEC §5, from a live order or a stored snapshot. */
export function orderFields(order: OrderSource | Prisma.JsonObject): OrderFields {
  const source = order as unknown as OrderSource;
  return {
    id: source.id,
    status: source.status,
    version: source.version,
    total_amount: source.totalAmount,
    items: source.items.map((item) => ({
      menu_item_id: item.menuItemId,
      name: item.name,
      quantity: item.quantity,
      unit_price: item.unitPrice,
      line_total: item.lineTotal,
    })),
    restaurant_id: source.restaurantId,
    rider_id: source.riderId,
    customer_id: source.customerId,
    created_at: iso(source.createdAt),
    updated_at: iso(source.updatedAt),
  };
}
