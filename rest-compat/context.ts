/** Small readers of the request context shared by both versions. */
import type { Context } from 'hono';
import type { Actor } from '../src/domain/auth.ts';
import { UnauthenticatedError } from '../src/domain/errors.ts';
import type { RestEnv } from './env.ts';

/** The authenticated actor; requireActor() guarantees one on every versioned route. */
export function actorOf(c: Context<RestEnv>): Actor {
  const actor = c.get('actor');
  if (!actor) throw new UnauthenticatedError();
  return actor;
}
