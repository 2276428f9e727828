/** The Hono environment of the REST façade: what src/app.ts and the REST middleware put on the context. */
import type { MiddlewareHandler } from 'hono';
import type { RequestIdVariables } from 'hono/request-id';
import type { AuthVariables } from '../src/http/auth.ts';
import type { IdempotencyKeyVariables } from './middleware/idempotency-key.ts';
import type { IfMatchVariables } from './middleware/if-match.ts';

export type RestEnv = { Variables: RequestIdVariables & AuthVariables & IfMatchVariables & IdempotencyKeyVariables };

/** What createRestApi hands each version app. */
export type VersionOptions = {
  maxBodyBytes: number;
  /** Per-actor rate limiting, shared by the versions (throws a 429 HttpProblem). */
  limitRate: MiddlewareHandler;
};
