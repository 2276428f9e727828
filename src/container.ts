/**
 * The composition root: opens the database and Redis for a Config and wires the domain services over them.
 * Transports receive a Container and never reach for process.env or globals.
 */
import type { Config } from './config.ts';
import { Authenticator } from './domain/auth.ts';
import { IdempotencyStore } from './domain/idempotency.ts';
import { type OrderChangeListener, OrderService } from './domain/orders/order.service.ts';
import { SimulatedPaymentGateway } from './domain/orders/payment-gateway.ts';
import { type Database, openDatabase } from './infra/db.ts';
import { type ActorRateLimiter, createRateLimiter } from './http/rate-limit.ts';
import { createLogger, type Logger } from './infra/logger.ts';
import { createMetrics, type Metrics } from './infra/metrics.ts';
import { migrate } from './infra/migrate.ts';
import { createOrderPubSub, type OrderPubSub } from './infra/pubsub.ts';
import { connectRedis, type RedisConnection } from './infra/redis.ts';
import { seedDemoData } from './infra/seed.ts';

export type Container = {
  config: Config;
  logger: Logger;
  db: Database;
  redis: RedisConnection;
  authenticator: Authenticator;
  idempotency: IdempotencyStore;
  orders: OrderService;
  metrics: Metrics;
  /** One per-actor request budget for every transport. */
  rateLimiter: ActorRateLimiter;
  /** Order changes for subscriptions (Redis pub/sub or in-process). */
  pubsub: OrderPubSub;
  /** Listeners for committed order changes (subscriptions, metrics). */
  orderChangeListeners: Set<OrderChangeListener>;
  close(): Promise<void>;
};

export type ContainerOptions = {
  logger?: Logger;
  /** Apply pending migrations (default true). */
  migrate?: boolean;
};

/** Opens everything a process needs: database (migrated, seeded when configured), Redis, services. */
export async function createContainer(config: Config, options: ContainerOptions = {}): Promise<Container> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const db = await openDatabase({ url: config.databaseUrl, embeddedDataDir: config.embeddedDataDir, poolSize: config.databasePoolSize });
  if (options.migrate !== false) {
    const applied = await migrate(db);
    if (applied.length) logger.info({ applied }, 'applied migrations');
  }
  if (config.seedDemoData && (await seedDemoData(db))) logger.info('filled the empty database with demo data');
  const redis = await connectRedis({ url: config.redisUrl, keyPrefix: config.redisKeyPrefix });
  const idempotency = new IdempotencyStore(db.prisma, redis.client);
  const metrics = createMetrics({ dbPool: db.poolStats });
  db.onStatement(() => metrics.dbStatements.inc());
  const orderChangeListeners = new Set<OrderChangeListener>();
  const pubsub = createOrderPubSub(redis, config.redisKeyPrefix);
  orderChangeListeners.add((order) => pubsub.pubsub.publishOrderChanged(order));
  const orders = new OrderService({
    prisma: db.prisma,
    idempotency,
    paymentGateway: new SimulatedPaymentGateway(),
    onActionOutcome: (action, outcome) => metrics.actionOutcomes.inc({ action, outcome }),
    onOrderChanged: (order) => {
      for (const listener of orderChangeListeners) listener(order);
    },
  });
  return {
    config,
    logger,
    db,
    redis,
    authenticator: new Authenticator(db.prisma, config.jwtSecret),
    idempotency,
    orders,
    pubsub: pubsub.pubsub,
    metrics,
    rateLimiter: createRateLimiter(config.rateLimitPerMinute, redis),
    orderChangeListeners,
    async close() {
      await pubsub.close();
      await redis.close();
      await db.close();
    },
  };
}
