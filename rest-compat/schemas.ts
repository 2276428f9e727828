/** zod schemas shared by v1 and v2: they validate requests and, through @hono/zod-openapi, generate the OpenAPI document. */
import { z } from '@hono/zod-openapi';
import { ORDER_LIMITS } from '../src/domain/orders/order.service.ts';
import { ORDER_STATUSES } from '../src/domain/orders/order-state-machine.ts';

export const MAX_ID = 2_147_483_647;

/** A database id in a path: digits only (`abc`, `-1`, `1.5` are 400); a well-formed id naming nothing is 404. */
export const IdParams = z.object({
  id: z.coerce
    .number({ error: 'must be a positive integer id' })
    .int('must be a positive integer id')
    .min(1, 'must be a positive integer id')
    .openapi({ param: { name: 'id', in: 'path' }, example: 42, description: 'Database id' }),
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

const positiveId = z.number().int().min(1).max(MAX_ID);

/** Free text stored as is: bounded, and without NUL, which PostgreSQL text cannot hold (it would be a 500, not a 400). */
export const storedText = (maxLength: number) =>
  z
    .string()
    .max(maxLength)
    .refine((value) => !value.includes('\u0000'), 'must not contain NUL characters');

/** `POST /orders`, the same body in v1 and v2; unknown fields are refused. */
export const CreateOrderBody = z
  .strictObject({
    restaurant_id: positiveId,
    items: z
      .array(
        z.strictObject({
          menu_item_id: positiveId,
          quantity: z.number().int().min(ORDER_LIMITS.minQuantity).max(ORDER_LIMITS.maxQuantity),
        }),
      )
      .min(ORDER_LIMITS.minLines)
      .max(ORDER_LIMITS.maxLines),
    delivery_address: storedText(ORDER_LIMITS.maxTextLength).refine((value) => value.trim().length > 0, 'must not be empty'),
  })
  .openapi('CreateOrderRequest', {
    example: { restaurant_id: 1, items: [{ menu_item_id: 1, quantity: 2 }], delivery_address: '1 Test Street' },
  });

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
  description: '1–255 characters, bare or quoted. A repeat with the same key and request replays the first outcome.',
  example: '3f7c9a52-0d0e-4c55-9f0b-2d8f1a3e6b10',
});
