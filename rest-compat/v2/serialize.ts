/** v2 JSON: orders, their ETags, related rows, and each action's path segment. */
import type { FeedEvent } from '../../src/domain/events/events.ts';
import type { OrderActionName } from '../../src/domain/orders/order-state-machine.ts';
import type { RestaurantWithMenu } from '../../src/domain/restaurants/restaurant.queries.ts';
import type { RiderView } from '../../src/domain/riders/rider.queries.ts';
import type { Restaurant } from '../../src/generated/prisma/client.ts';
import { type OrderFields, orderFields } from '../serialize.ts';

export { orderFields as orderJson };

/** Each action's v2 path segment: `POST /orders/{id}/<segment>`. */
export const V2_ACTION_PATHS = {
  pay: 'payment',
  cancel: 'cancellation',
  accept: 'acceptance',
  reject: 'rejection',
  complete_preparation: 'preparation-complete',
  assign_rider: 'rider-assignment',
  pick_up: 'pickup',
  deliver: 'delivery',
} as const satisfies Record<OrderActionName, string>;

/** The opaque part of an order version's ETag; it depends only on (id, version), so every process agrees. */
export const etagOpaque = (order: Pick<OrderFields, 'id' | 'version'>) => `o${order.id}-v${order.version}`;

/** The strong ETag header value, e.g. `"o42-v3"`. */
export const etagOf = (order: Pick<OrderFields, 'id' | 'version'>) => `"${etagOpaque(order)}"`;

export const restaurantJson = (restaurant: Pick<Restaurant, 'id' | 'name' | 'address'>) => ({
  id: restaurant.id,
  name: restaurant.name,
  address: restaurant.address,
});

export const restaurantWithMenuJson = (restaurant: RestaurantWithMenu) => ({
  ...restaurantJson(restaurant),
  menu: restaurant.menuItems.map((item) => ({ id: item.id, name: item.name, price: item.price, available: item.available })),
});

export const riderJson = (rider: RiderView) => ({ id: rider.id, name: rider.name, current_location: rider.location });

/** An event as the feed and webhooks send it (SPEC §9): the order in its v2 JSON at that version. */
export const eventJson = (event: FeedEvent) => ({
  id: event.id,
  type: event.type,
  created_at: event.createdAt.toISOString(),
  data: { order: orderFields(event.data.order), ...(event.data.refund ? { refund: event.data.refund } : {}) },
});
