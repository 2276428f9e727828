/** Reads `Idempotency-Key` (1–255 characters, bare or quoted) into `c.var.idempotencyKey`. No storage here. */
import { createMiddleware } from 'hono/factory';
import { ValidationError } from '../../src/domain/errors.ts';
import { IdempotencyKey } from '../../src/domain/orders/commands.ts';

export type IdempotencyKeyVariables = { idempotencyKey: string | null };

/** The key inside a header value: surrounding double quotes are dropped (`"abc"` and `abc` are one key). */
export function parseIdempotencyKey(value: string | undefined): string | null {
  if (value === undefined) return null;
  const trimmed = value.trim();
  return trimmed.length >= 2 && trimmed.startsWith('"') && trimmed.endsWith('"') ? trimmed.slice(1, -1) : trimmed;
}

/**
 * Puts the key (or null) on the context; a malformed key, or a missing one when `required`, is 400.
 * @example app.post('/orders', idempotencyKey({ required: true }), handler)
 */
export function idempotencyKey(options: { required: boolean }) {
  return createMiddleware<{ Variables: IdempotencyKeyVariables }>(async function readIdempotencyKey(c, next) {
    const key = parseIdempotencyKey(c.req.header('idempotency-key'));
    if (key === null && options.required) throw ValidationError.of('Idempotency-Key', 'is required for this request');
    // Checked here too, not only by the service, because a malformed header is a 400 that ranks before 428 and 404.
    if (key !== null && !IdempotencyKey.safeParse(key).success) {
      throw ValidationError.of('Idempotency-Key', `must be ${IdempotencyKey.minLength} to ${IdempotencyKey.maxLength} characters`);
    }
    c.set('idempotencyKey', key);
    await next();
  });
}
