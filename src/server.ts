/**
 * Starts one process: config → database (migrated, seeded) → Redis → HTTP. SIGTERM drains in-flight requests.
 */
import { serve } from '@hono/node-server';
import { type AppState, createApp } from './app.ts';
import { ConfigError, loadConfig } from './config.ts';
import { createContainer } from './container.ts';
import { secretKey, signToken } from './domain/auth.ts';
import { createLogger } from './infra/logger.ts';
import { runEvery } from './infra/run-every.ts';
import { DEMO_ACTORS } from './infra/seed.ts';

const IDEMPOTENCY_PURGE_INTERVAL_MS = 60 * 60 * 1000;

async function main() {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
  const logger = createLogger(config.logLevel);
  if (config.usingDevelopmentJwtSecret) logger.warn('JWT_SECRET is not set: using the development secret (never in production)');

  const container = await createContainer(config, { logger });
  const state: AppState = { shuttingDown: false };
  const app = createApp(container, state);
  const server = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, (info) => {
    logger.info({ port: info.port, database: container.db.kind, redis: container.redis.kind }, 'listening');
    if (!config.isProduction) void printDemoTokens(config.jwtSecret, info.port);
  });

  const stopPurge = runEvery('idempotency purge', IDEMPOTENCY_PURGE_INTERVAL_MS, () => container.idempotency.purgeExpired(), logger);

  const shutdown = (signal: string) => {
    if (state.shuttingDown) return;
    state.shuttingDown = true;
    logger.info({ signal }, 'shutting down: finishing in-flight requests');
    stopPurge();
    const force = setTimeout(() => {
      logger.warn('in-flight requests did not finish in time; exiting');
      process.exit(1);
    }, config.shutdownDrainDelayMs + config.shutdownTimeoutMs);
    force.unref();
    // First let load balancers see /readyz 503 (requests are still served), then stop accepting connections;
    // close() calls back once every in-flight request has been answered.
    setTimeout(() => {
      server.close(() => {
        void container.close().finally(() => process.exit(0));
      });
      (server as unknown as { closeIdleConnections?: () => void }).closeIdleConnections?.();
    }, config.shutdownDrainDelayMs);
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

async function printDemoTokens(jwtSecret: string, port: number) {
  const key = secretKey(jwtSecret);
  const lines = await Promise.all(
    DEMO_ACTORS.map(async (actor) => `  ${`${actor.role} ${actor.id}`.padEnd(13)} ${await signToken(actor, key)}`),
  );
  console.log(
    [
      '',
      `QuickEats order service on http://localhost:${port}`,
      `  GraphiQL:  http://localhost:${port}/graphql   (signed in as customer 1; change the header to act as another)`,
      `  REST docs: http://localhost:${port}/api/docs`,
      '',
      'Demo bearer tokens (valid 30 days):',
      ...lines,
      '',
    ].join('\n'),
  );
}

void main().catch((error) => {
  console.error(error);
  process.exit(1);
});
