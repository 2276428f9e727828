/**
 * Per-actor rate limiting (SPEC §7): RATE_LIMIT_PER_MINUTE per minute with bursts of a sixth of it (1,200/min,
 * bursts of 200 by default), counted in Redis when configured so every process shares one budget per actor.
 */
import { getConnInfo } from '@hono/node-server/conninfo';
import { createMiddleware } from 'hono/factory';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { RedisConnection } from '../infra/redis.ts';
import type { AuthVariables } from './auth.ts';

/** Window length: a budget of perMinute/6 points every 10 s is perMinute per minute with bursts of perMinute/6. */
const WINDOW_SECONDS = 10;

/** One budget store per process; every transport's middleware draws from it, so an actor has one budget. */
export type ActorRateLimiter = { perMinute: number; limiter: RateLimiterMemory | RateLimiterRedis };

/** Creates the limiter for a process: in Redis when configured (shared by all processes), else in memory. */
export function createRateLimiter(perMinute: number, redis: RedisConnection): ActorRateLimiter {
  const points = Math.max(1, Math.round(perMinute / (60 / WINDOW_SECONDS)));
  const limiter =
    redis.kind === 'redis'
      ? new RateLimiterRedis({
          storeClient: redis.client,
          keyPrefix: 'rate',
          points,
          duration: WINDOW_SECONDS,
          // While Redis is unreachable, fall back to counting in this process rather than refusing everything.
          insuranceLimiter: new RateLimiterMemory({ points, duration: WINDOW_SECONDS }),
        })
      : new RateLimiterMemory({ points, duration: WINDOW_SECONDS });
  return { perMinute, limiter };
}

export type RateLimitOptions = {
  limiter: ActorRateLimiter;
  /** What to answer when the budget is spent; the middleware has already set Retry-After. */
  onLimited: (retryAfterSeconds: number) => Response;
};

/**
 * @example app.use('/graphql', rateLimit({ limiter: container.rateLimiter, onLimited: () => new Response(null, { status: 429 }) }))
 */
export function rateLimit(options: RateLimitOptions) {
  const { perMinute, limiter } = options.limiter;
  return createMiddleware<{ Variables: AuthVariables }>(async function limitRate(c, next) {
    if (perMinute === 0) return next();
    const actor = c.get('actor');
    const key = actor ? `${actor.role}:${actor.id}` : `anonymous:${clientAddress(c)}`;
    try {
      await limiter.consume(key);
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) throw rejection;
      const retryAfter = Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
      const response = options.onLimited(retryAfter);
      response.headers.set('Retry-After', String(retryAfter));
      return response;
    }
    return next();
  });
}

function clientAddress(c: Parameters<typeof getConnInfo>[0]): string {
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'unknown'; // app.request() in tests has no socket
  }
}
