/** zod schemas shared by v1 and v2: they validate requests and, through @hono/zod-openapi, generate the OpenAPI document. */
import { z } from '@hono/zod-openapi';
import { CreateOrderInput, IdempotencyKey, OrderLineInput, orderLines, PayOrderInput } from '../src/domain/orders/commands.ts';
import { ORDER_STATUSES } from '../src/domain/orders/order-state-machine.ts';

const NOT_AN_ID = 'must be a positive integer id';

/**
 * A database id in a path: decimal digits without a leading zero, so `abc`, `-1`, `+1`, ` 1`, `01`, `0x10`, `1e3` and
 * `1.5` are 400 rather than another order; a well-formed id naming nothing is 404.
 */
export const IdParams = z.object({
  id: z
    .string()
    .regex(/^[1-9][0-9]*$/, NOT_AN_ID)
    .transform(Number)
    .refine(Number.isSafeInteger, NOT_AN_ID)
    .openapi({ param: { name: 'id', in: 'path' }, example: '42', description: 'Database id' }),
});

export const OrderStatusSchema = z.enum(ORDER_STATUSES).openapi('OrderStatus');

const OrderItemSchema = z.object({
  menu_item_id: z.number().int(),
  name: z.string().openapi({ description: 'The menu item name when the order was placed' }),
  quantity: z.number().int(),
  unit_price: z.number().int().openapi({ description: 'Integer KRW, fixed when the order was placed' }),
  line_total: z.number().int(),
});

/** The order JSON of SPEC §5/§6, registered under `name`. */
export function orderSchema(name: string) {
  return z
    .object({
      id: z.number().int(),
      status: OrderStatusSchema,
      version: z.number().int().openapi({ description: 'Starts at 1, +1 per change; equals the history length' }),
      total_amount: z.number().int().openapi({ description: 'Integer KRW' }),
      items: z.array(OrderItemSchema),
      restaurant_id: z.number().int(),
      rider_id: z.number().int().nullable(),
      customer_id: z.number().int(),
      created_at: z.string().openapi({ format: 'date-time' }),
      updated_at: z.string().openapi({ format: 'date-time' }),
    })
    .openapi(name);
}

/** `POST /orders`, the same body in v1 and v2: the domain's CreateOrderInput in snake_case; unknown fields are refused. */
export const CreateOrderBody = z
  .strictObject({
    restaurant_id: CreateOrderInput.shape.restaurantId,
    items: orderLines(z.strictObject({ menu_item_id: OrderLineInput.shape.menuItemId, quantity: OrderLineInput.shape.quantity })),
    delivery_address: CreateOrderInput.shape.deliveryAddress,
  })
  .openapi('CreateOrderRequest', {
    example: { restaurant_id: 1, items: [{ menu_item_id: 1, quantity: 2 }], delivery_address: '1 Test Street' },
  });

/**
 * The body of v1 `/pay` and v2 `/payment`, registered under `name`: the domain's PayOrderInput in snake_case. Domain
 * schemas may be built before @hono/zod-openapi extends zod, so they are documented with zod's own `describe`.
 */
export const paymentBody = (name: string) =>
  z
    .strictObject({
      payment_method: PayOrderInput.shape.paymentMethod.describe('`test_decline` is always declined'),
      amount: PayOrderInput.shape.amount.describe('Must equal the order total (integer KRW)'),
    })
    .openapi(name);

/** The status filter of order lists: one status or several, comma-separated. */
export const StatusListParam = z
  .string()
  .regex(
    new RegExp(`^(${ORDER_STATUSES.join('|')})(,(${ORDER_STATUSES.join('|')}))*$`),
    `must be statuses from ${ORDER_STATUSES.join(', ')}, comma-separated`,
  )
  .openapi({ description: 'Only orders in these statuses (comma-separated)', example: 'preparing,ready_for_pickup' });

export const LimitParam = z.coerce.number().int().min(1).max(100).openapi({ description: 'Page size, 1–100 (default 20)', example: 20 });
export const CursorParam = z.string().min(1).max(200).openapi({ description: 'The next_cursor of the previous page' });

/** Splits a validated comma-separated list. */
export const commaList = <T extends string>(value: string | undefined): T[] => (value ? (value.split(',') as T[]) : []);

export const IdempotencyKeyHeader = z.string().openapi({
  description: `${IdempotencyKey.minLength}–${IdempotencyKey.maxLength} characters, bare or quoted. A repeat with the same key and request replays the first outcome.`,
  example: '3f7c9a52-0d0e-4c55-9f0b-2d8f1a3e6b10',
});
