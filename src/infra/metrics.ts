/** Prometheus metrics (prom-client), one registry per process (per container in tests). */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export type Metrics = ReturnType<typeof createMetrics>;

/** Creates the registry and the service's metrics. */
export function createMetrics(
  sample: {
    dbPool?: () => { total: number; idle: number; waiting: number };
    paymentAttemptsInFlight?: () => Promise<number>;
    webhookBacklog?: () => Promise<number>;
  } = {},
) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const graphqlDuration = new Histogram({
    name: 'graphql_operation_duration_seconds',
    help: 'GraphQL operation latency by operation name and type',
    labelNames: ['operation', 'type'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const actionOutcomes = new Counter({
    name: 'order_action_outcomes_total',
    help: 'Order actions by action and outcome: ok, replayed, or the error code (VERSION_CONFLICT, …)',
    labelNames: ['action', 'outcome'] as const,
    registers: [registry],
  });
  const dbStatements = new Counter({
    name: 'db_statements_total',
    help: 'SQL statements sent to the database (transaction control included)',
    registers: [registry],
  });
  if (sample.dbPool) {
    const read = sample.dbPool;
    new Gauge({
      name: 'db_pool_connections',
      help: 'Database pool connections by state',
      labelNames: ['state'] as const,
      registers: [registry],
      collect() {
        const pool = read();
        this.set({ state: 'total' }, pool.total);
        this.set({ state: 'idle' }, pool.idle);
        this.set({ state: 'waiting' }, pool.waiting);
      },
    });
  }
  const paymentProviderCalls = new Counter({
    name: 'payment_provider_calls_total',
    help: 'Calls to the payment provider by operation (charge, refund, search, list_refunds) and outcome (ok, declined, unavailable, in_progress, error)',
    labelNames: ['operation', 'outcome'] as const,
    registers: [registry],
  });
  /** A gauge read from the database at each scrape; NaN when the read fails. */
  const countedGauge = (name: string, help: string, count: (() => Promise<number>) | undefined) => {
    if (!count) return;
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        this.set(await count().catch(() => Number.NaN));
      },
    });
  };
  countedGauge(
    'payment_attempts_in_flight',
    'Charges sent to the payment provider and not yet settled (recorded, refunded or abandoned)',
    sample.paymentAttemptsInFlight,
  );
  const webhookDeliveries = new Counter({
    name: 'webhook_deliveries_total',
    help: 'Webhook delivery attempts by outcome: delivered (2xx), failed (retried later), abandoned (retry window over)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  countedGauge('webhook_delivery_backlog', 'Events owed to live webhook endpoints and not yet acknowledged', sample.webhookBacklog);
  return { registry, httpDuration, graphqlDuration, actionOutcomes, dbStatements, paymentProviderCalls, webhookDeliveries };
}
