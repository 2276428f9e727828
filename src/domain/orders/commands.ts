/**
 * The inputs of the order actions (SPEC §1), each rule written once. OrderService parses every command with these
 * schemas; REST builds its snake_case bodies from the same pieces (rest-compat/schemas.ts). GraphQL inputs stay
 * GraphQL types: their bounds are enforced by the service's parse, so both transports refuse the same inputs with the
 * same field paths and messages.
 */
import { z } from 'zod';
import { type FieldError, ValidationError } from '../errors.ts';
import { PAYMENT_METHODS } from '../payments/payment-provider.ts';

/** The largest PostgreSQL `integer`: the type of every id, amount and total column. */
const MAX_INTEGER = 2_147_483_647;
const LINES = { min: 1, max: 50 };
const QUANTITY = { min: 1, max: 99 };
const MAX_TEXT_LENGTH = 500;
const MAX_KEY_LENGTH = 255;

/** PostgreSQL text cannot hold NUL characters: refuse them as bad input instead of failing at the database. */
const NO_NUL = { check: (text: string) => !text.includes('\u0000'), error: 'must not contain NUL characters' };

/** A row id. */
export const DatabaseId = z.int({ error: 'must be a positive integer id' }).min(1).max(MAX_INTEGER);

/** Whether `id` can name a row at all; reads answer "not found" for one that cannot. */
export const isDatabaseId = (id: number): boolean => DatabaseId.safeParse(id).success;

/** DatabaseId reporting every failure as `message`. */
const idReportedAs = (message: string) => DatabaseId.clone({ ...DatabaseId.def, error: () => message });

/** An order's total: what its column holds. */
export const OrderTotal = z.int().max(MAX_INTEGER, `the total must be at most ${MAX_INTEGER}`);

/** The lines of an order, each shaped by `line`. */
export const orderLines = <Line extends z.ZodType>(line: Line) =>
  z
    .array(line)
    .min(LINES.min, `must have ${LINES.min} to ${LINES.max} lines`)
    .max(LINES.max, `must have ${LINES.min} to ${LINES.max} lines`);

/** An Idempotency-Key: 1–255 characters. */
export const IdempotencyKey = z
  .string({ error: 'is required' })
  .min(1, { error: 'is required', abort: true })
  .refine(NO_NUL.check, { error: NO_NUL.error, abort: true })
  .max(MAX_KEY_LENGTH, `must be at most ${MAX_KEY_LENGTH} characters`);

export const OrderLineInput = z.object({
  menuItemId: idReportedAs('must be a menu item id'),
  quantity: z
    .int({ error: `must be an integer from ${QUANTITY.min} to ${QUANTITY.max}` })
    .min(QUANTITY.min)
    .max(QUANTITY.max),
});

export const CreateOrderInput = z.object({
  restaurantId: idReportedAs('must be a restaurant id'),
  items: orderLines(OrderLineInput),
  deliveryAddress: z
    .string()
    .refine((address) => address.trim().length > 0, 'must not be empty')
    .refine(NO_NUL.check, NO_NUL.error)
    .max(MAX_TEXT_LENGTH, `must be at most ${MAX_TEXT_LENGTH} characters`),
});

export const PayOrderInput = z.object({
  paymentMethod: z.enum(PAYMENT_METHODS, { error: `must be one of ${PAYMENT_METHODS.join(', ')}` }),
  /** Integer KRW. */
  amount: z.int({ error: 'must be a non-negative integer (KRW)' }).min(0).max(MAX_INTEGER),
});

/** Cancellation and rejection: an optional reason. */
export const ReasonInput = z.object({
  reason: z
    .string()
    .max(MAX_TEXT_LENGTH, { error: `must be at most ${MAX_TEXT_LENGTH} characters`, abort: true })
    .refine(NO_NUL.check, NO_NUL.error)
    .nullish(),
});

export const AssignRiderInput = z.object({ riderId: DatabaseId.nullish() });

export const RiderLocationInput = z.object({
  lat: z.number({ error: 'must be between -90 and 90' }).min(-90).max(90),
  lng: z.number({ error: 'must be between -180 and 180' }).min(-180).max(180),
});

/** `input` as `schema` reads it, or the ValidationError naming each failing field (under `path`). */
export function parseInput<Schema extends z.ZodType>(schema: Schema, input: unknown, path: string[] = []): z.output<Schema> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const fields: FieldError[] = result.error.issues.map((issue) => ({ path: [...path, ...issue.path.map(String)], message: issue.message }));
  throw new ValidationError(fields);
}
