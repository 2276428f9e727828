/** Reads the bearer token into `c.var.actor` (or `c.var.authError`); each transport decides what a missing actor means. */
import { createMiddleware } from 'hono/factory';
import type { Actor, Authenticator } from '../domain/auth.ts';
import { UnauthenticatedError } from '../domain/errors.ts';

export type AuthVariables = { actor: Actor | null; authError: UnauthenticatedError | null };

/**
 * @example app.use('*', authenticate(container.authenticator))
 */
export function authenticate(authenticator: Authenticator) {
  return createMiddleware<{ Variables: AuthVariables }>(async function authenticateRequest(c, next) {
    try {
      c.set('actor', await authenticator.authenticate(c.req.header('authorization')));
      c.set('authError', null);
    } catch (error) {
      if (!(error instanceof UnauthenticatedError)) throw error;
      c.set('actor', null);
      c.set('authError', error);
    }
    await next();
  });
}
