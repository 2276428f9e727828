/** The Hono environment of the REST façade, and what src/app.ts hands it. */
import type { MiddlewareHandler } from 'hono';
import type { RequestIdVariables } from 'hono/request-id';
import type { OrderService } from '../src/domain/orders/order.service.ts';
import type { Webhooks } from '../src/domain/webhooks/webhooks.ts';
import type { PrismaClient } from '../src/generated/prisma/client.ts';
import type { AuthVariables } from '../src/http/auth.ts';
import type { Database } from '../src/infra/db.ts';
import type { Logger } from '../src/infra/logger.ts';
import type { IdempotencyKeyVariables } from './middleware/idempotency-key.ts';
import type { IfMatchVariables } from './middleware/if-match.ts';

export type RestEnv = { Variables: RequestIdVariables & AuthVariables & IfMatchVariables & IdempotencyKeyVariables };

/**
 * The services the versions call: the order actions, the webhook endpoints, the database the domain's read queries
 * run on, the logger.
 */
export type RestServices = {
  orders: OrderService;
  webhooks: Webhooks;
  prisma: PrismaClient;
  /** The one-statement reads' runner (Database.readRows). */
  readRows: Database['readRows'];
  logger: Logger;
};

/** What createRestApi hands each version app besides its services. */
export type VersionOptions = {
  maxBodyBytes: number;
  /** Per-actor rate limiting, shared by the versions (throws a 429 HttpProblem). */
  limitRate: MiddlewareHandler;
};
