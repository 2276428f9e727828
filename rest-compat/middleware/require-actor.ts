/** Refuses a request without a valid actor (401) before anything else looks at it (SPEC §5: 401 comes first). */
import { createMiddleware } from 'hono/factory';
import { UnauthenticatedError } from '../../src/domain/errors.ts';
import type { AuthVariables } from '../../src/http/auth.ts';

/**
 * Needs `authenticate(...)` from src/http/auth.ts earlier in the chain; throws its UnauthenticatedError.
 * @example app.use('*', requireActor())
 */
export function requireActor() {
  return createMiddleware<{ Variables: AuthVariables }>(async function requireAuthenticatedActor(c, next) {
    if (!c.get('actor')) throw c.get('authError') ?? new UnauthenticatedError();
    await next();
  });
}
