/**
 * The composition root: opens the database and Redis for a Config and wires the domain services over them.
 * Transports receive a Container and never reach for process.env or globals.
 */
import path from 'node:path';
import { eventJson } from '../rest-compat/v2/serialize.ts';
import type { Config } from './config.ts';
import { Authenticator } from './domain/auth.ts';
import { IdempotencyStore } from './domain/idempotency.ts';
import { type OrderChangeListener, OrderService } from './domain/orders/order.service.ts';
import { PaymentProvider } from './domain/payments/payment-provider.ts';
import { Payments, paymentTasks } from './domain/payments/payments.ts';
import { Webhooks, webhookTasks } from './domain/webhooks/webhooks.ts';
import { type ActorRateLimiter, createRateLimiter } from './http/rate-limit.ts';
import { type Database, openDatabase } from './infra/db.ts';
import { createJobQueue, type JobQueue } from './infra/job-queue.ts';
import { createLogger, type Logger } from './infra/logger.ts';
import { createMetrics, type Metrics } from './infra/metrics.ts';
import { migrate } from './infra/migrate.ts';
import { createOrderPubSub, type OrderPubSub } from './infra/pubsub.ts';
import { connectRedis, type RedisConnection } from './infra/redis.ts';
import { seedDemoData } from './infra/seed.ts';

/** Webhook jobs one process runs at once (graphile-worker slots; they wait on receivers, not on the CPU). */
const WEBHOOK_SLOTS = 32;

export type Container = {
  config: Config;
  logger: Logger;
  db: Database;
  redis: RedisConnection;
  authenticator: Authenticator;
  idempotency: IdempotencyStore;
  orders: OrderService;
  payments: Payments;
  /** Webhook endpoints and their deliveries (SPEC §9). */
  webhooks: Webhooks;
  /** Background jobs shared by every process: refunds and payment recovery. */
  jobs: JobQueue;
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
  /** Work on background jobs in this process (default true). */
  runJobs?: boolean;
  /** The payment provider client (default: the configured provider, or the built-in simulator). */
  paymentProvider?: PaymentProvider;
};

/** Opens everything a process needs: database (migrated, seeded when configured), Redis, services. */
export async function createContainer(config: Config, options: ContainerOptions = {}): Promise<Container> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const db = await openDatabase({ url: config.databaseUrl, embeddedDataDir: config.embeddedDataDir, poolSize: config.databasePoolSize });
  const jobs = createJobQueue(db, logger);
  if (options.migrate !== false) {
    const applied = await migrate(db);
    if (applied.length) logger.info({ applied }, 'applied migrations');
    await jobs.migrate();
  }
  if (config.seedDemoData && (await seedDemoData(db))) logger.info('filled the empty database with demo data');
  const redis = await connectRedis({
    url: config.redisUrl,
    keyPrefix: config.redisKeyPrefix,
    commandTimeoutMs: config.redisCommandTimeoutMs,
  });
  const idempotency = new IdempotencyStore(db.prisma, redis.client);
  let payments: Payments | undefined;
  let webhooks: Webhooks | undefined;
  const metrics = createMetrics({
    dbPool: db.poolStats,
    paymentAttemptsInFlight: () => payments?.attemptsInFlight() ?? Promise.resolve(0),
    webhookBacklog: () => webhooks?.backlog() ?? Promise.resolve(0),
  });
  const provider =
    options.paymentProvider ??
    new PaymentProvider({
      remote: config.paymentProvider,
      timeoutMs: config.paymentProviderTimeoutMs,
      // The simulator's charges must outlive a restart exactly as long as the embedded database that records them.
      simulatorFile:
        !config.databaseUrl && !config.embeddedDataDir.startsWith('memory://')
          ? `${path.resolve(config.embeddedDataDir)}.payment-simulator.json`
          : undefined,
      onCall: (operation, outcome) => metrics.paymentProviderCalls.inc({ operation, outcome }),
    });
  payments = new Payments(db.prisma, provider, { providerTimeoutMs: config.paymentProviderTimeoutMs });
  db.onStatement(() => metrics.dbStatements.inc());
  webhooks = new Webhooks(db.prisma, {
    ...config.webhooks,
    production: config.isProduction,
    // Deliveries carry the event exactly as the REST feed shows it.
    render: eventJson,
    onDelivery: (outcome) => metrics.webhookDeliveries.inc({ outcome }),
  });
  const orderChangeListeners = new Set<OrderChangeListener>();
  const pubsub = createOrderPubSub(redis, config.redisKeyPrefix);
  orderChangeListeners.add((order) => pubsub.pubsub.publishOrderChanged(order));
  const orders = new OrderService({
    prisma: db.prisma,
    readRows: db.readRows,
    idempotency,
    payments,
    onActionOutcome: (action, outcome) => metrics.actionOutcomes.inc({ action, outcome }),
    onRiderMoved: (move) => pubsub.pubsub.publishRiderLocation(move),
    onOrderChanged: (order) => {
      for (const listener of orderChangeListeners) listener(order);
    },
  });
  if (options.runJobs !== false) {
    const lanes = [
      { tasks: paymentTasks(payments, (attemptId) => orders.settlePaymentAttempt(attemptId)), concurrency: 2 },
      // A webhook job may wait on a hanging receiver for the whole timeout: one slot per slow endpoint, and plenty.
      { tasks: webhookTasks(webhooks), concurrency: WEBHOOK_SLOTS },
    ];
    await jobs.start(lanes, { maxRunMs: Math.max(payments.attemptLeaseMs, webhooks.maxJobMs) });
  }
  return {
    config,
    logger,
    db,
    redis,
    authenticator: new Authenticator(db.prisma, config.jwtSecret),
    idempotency,
    orders,
    payments,
    webhooks,
    jobs,
    pubsub: pubsub.pubsub,
    metrics,
    rateLimiter: createRateLimiter(config.rateLimitPerMinute, redis),
    orderChangeListeners,
    async close() {
      await jobs.stop();
      webhooks.close();
      await pubsub.close();
      await redis.close();
      await db.close();
    },
  };
}
