/**
 * The REST façade (SPEC §5, §6) over the same domain service the GraphQL resolvers call:
 * `/v1` (legacy), `/v2` (action-oriented), `/openapi.json` (generated from the route definitions) and `/docs`.
 * Each version renders errors its own way from one mapper (errors.ts: describeError).
 */
import { OpenAPIHono } from '@hono/zod-openapi';
import type { Authenticator } from '../src/domain/auth.ts';
import { authenticate } from '../src/http/auth.ts';
import { type ActorRateLimiter, rateLimit } from '../src/http/rate-limit.ts';
import type { RestEnv, RestServices } from './env.ts';
import { HttpProblem } from './errors.ts';
import { mountOpenApi } from './openapi.ts';
import { problemHandler } from './render.ts';
import { createV1 } from './v1/index.ts';
import { createV2 } from './v2/index.ts';

export type RestApiServices = RestServices & { authenticator: Authenticator; rateLimiter: ActorRateLimiter };

/** The REST app; src/app.ts mounts it at `/api`. Larger request bodies than `maxBodyBytes` get 413. */
export function createRestApi(services: RestApiServices, options: { maxBodyBytes: number }) {
  const { authenticator, rateLimiter, ...versionServices } = services;
  // One budget for v1 and v2; the refusal is thrown so each version renders its 429 in its own format.
  const limitRate = rateLimit({
    limiter: rateLimiter,
    onLimited: (retryAfter) => {
      throw new HttpProblem(429, 'RATE_LIMITED', 'Too many requests', `Rate limit exceeded: retry in ${retryAfter} s`, {
        'Retry-After': String(retryAfter),
      });
    },
  });
  const app = new OpenAPIHono<RestEnv>();
  // Failures outside the versions (authentication's own lookups, unknown /api paths) answer in the current format.
  app.onError(problemHandler({ logger: services.logger }));
  // Sets c.var.actor / c.var.authError; each version answers 401 itself, in its own error format.
  app.use('/v1/*', authenticate(authenticator));
  app.use('/v2/*', authenticate(authenticator));
  app.route('/v1', createV1(versionServices, { maxBodyBytes: options.maxBodyBytes, limitRate }));
  app.route('/v2', createV2(versionServices, { maxBodyBytes: options.maxBodyBytes, limitRate }));
  mountOpenApi(app);
  app.all('*', (c) => {
    throw new HttpProblem(404, 'NOT_FOUND', 'Not found', `No route ${c.req.method} ${c.req.path}; the API is under /v1 and /v2`);
  });
  return app;
}
