/**
 * One isolated service per test file, on the backend the environment names:
 * - default: embedded PGlite in memory and the in-process Redis stand-in;
 * - TEST_DATABASE_URL (a server URL; a fresh database is created per file and dropped after) and
 *   TEST_REDIS_URL (keys get a unique prefix per file): real PostgreSQL and Redis.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { createApp } from '../../src/app.ts';
import { type Config, loadConfig } from '../../src/config.ts';
import { type Container, type ContainerOptions, createContainer } from '../../src/container.ts';
import { type Actor, secretKey, signToken } from '../../src/domain/auth.ts';
import { createLogger } from '../../src/infra/logger.ts';
import { seedDemoData } from '../../src/infra/seed.ts';

export const backend = process.env.TEST_DATABASE_URL ? 'postgres' : 'embedded';

/** The demo actors of the seed (SPEC §2). */
export const DEMO = {
  customer1: { role: 'customer', id: 1 },
  customer2: { role: 'customer', id: 2 },
  restaurant1: { role: 'restaurant', id: 1 },
  restaurant2: { role: 'restaurant', id: 2 },
  rider1: { role: 'rider', id: 1 },
  rider2: { role: 'rider', id: 2 },
  admin: { role: 'admin', id: 1 },
} as const satisfies Record<string, Actor>;

/** Menu items of the seed: restaurant 1 has items 1–3 available and 4 unavailable; restaurant 2 has 5–7. */
export const MENU = { r1: [1, 2, 3], r1Unavailable: 4, r2: [5, 6, 7] } as const;

/** Environment variables for a test service. */
type Env = Record<string, string | undefined>;

export type TestService = {
  config: Config;
  container: Container;
  app: ReturnType<typeof createApp>;
  /** A fresh bearer token for an actor. */
  token(actor: Actor): Promise<string>;
  /** Deletes every order, payment, refund, event and idempotency record (demo actors and menus stay). */
  reset(): Promise<void>;
  close(): Promise<void>;
};

/** A database URL on the same server with another database name. */
function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/** Creates an empty database on the test server and returns its URL and a function that drops it. */
export async function createScratchDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const serverUrl = process.env.TEST_DATABASE_URL;
  if (!serverUrl) throw new Error('TEST_DATABASE_URL is not set');
  const name = `quickeats_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  return {
    url: withDatabase(serverUrl, name),
    async drop() {
      const client = new pg.Client({ connectionString: serverUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await client.end();
    },
  };
}

/** The configuration a test service runs with; `overrides` are environment variables. */
export function testConfig(overrides: Env = {}): Config {
  return loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    EMBEDDED_DATA_DIR: 'memory://',
    SEED_DEMO_DATA: 'true',
    RATE_LIMIT_PER_MINUTE: '0',
    REDIS_URL: process.env.TEST_REDIS_URL,
    REDIS_KEY_PREFIX: `quickeats-test:${randomBytes(4).toString('hex')}:`,
    // Two test workers, PGlite and a redis-server being killed share two cores in CI: a command that stalls 500 ms
    // there is not the outage these tests are about, yet it makes Redis callers fall back (a lock failing open, a
    // fresh in-process rate budget). The fault tests that are about outages set the production default again.
    REDIS_COMMAND_TIMEOUT_MS: '2000',
    ...overrides,
  });
}

/** Starts a migrated, seeded service for one test file (`options`: collaborators for its container). Call close() in afterAll. */
export async function startTestService(overrides: Env = {}, options: ContainerOptions = {}): Promise<TestService> {
  const scratch = backend === 'postgres' ? await createScratchDatabase() : null;
  const config = testConfig({ DATABASE_URL: scratch?.url, ...overrides });
  const container = await createContainer(config, { logger: createLogger(config.logLevel), ...options });
  const app = createApp(container);
  const key = secretKey(config.jwtSecret);
  return {
    config,
    container,
    app,
    token: (actor) => signToken(actor, key, '1h'),
    async reset() {
      // A background job of the previous test (a refund writing its event, whose trigger reads the endpoints) can
      // hold row locks in an order TRUNCATE's table locks cross: PostgreSQL then aborts one side; try again.
      for (let attempt = 1; ; attempt++) {
        try {
          await container.db.prisma.$executeRawUnsafe(
            'TRUNCATE webhook_attempts, webhook_deliveries, webhook_endpoints, events, refunds, payment_attempts, payments, order_events, order_items, idempotency_records, orders RESTART IDENTITY CASCADE',
          );
          break;
        } catch (error) {
          if (attempt >= 5 || !String((error as Error).message).includes('40P01')) throw error;
        }
      }
      // Jobs of the previous test would act on rows that no longer exist (or, ids restarting, on new ones).
      await container.db.prisma.$executeRawUnsafe('DELETE FROM graphile_worker._private_jobs');
      // A job still running when its row went holds its named queue's lock; the next test's queues start free.
      await container.db.prisma.$executeRawUnsafe('DELETE FROM graphile_worker._private_job_queues');
      await container.db.prisma.rider.updateMany({ data: { lat: null, lng: null, locationUpdatedAt: null } });
      await container.db.prisma.menuItem.updateMany({ where: { id: MENU.r1Unavailable }, data: { available: false } });
      await clearRedis(container);
      await seedDemoData(container.db);
    },
    async close() {
      await container.close();
      await scratch?.drop();
    },
  };
}

/**
 * The test file's service: started in beforeAll (with `env`, or what `env()` returns once earlier hooks have run),
 * with the collaborators in `container`, reset before each test unless `resetEach` is false, closed in afterAll.
 * Reading it before beforeAll has run throws.
 */
export function setUpTestService(
  env: Env | (() => Env) = {},
  { resetEach = true, container = {} }: { resetEach?: boolean; container?: ContainerOptions } = {},
): TestService {
  let started: TestService | undefined;
  const current = () => {
    if (!started) throw new Error('the test service starts in beforeAll');
    return started;
  };
  beforeAll(async () => {
    started = await startTestService(typeof env === 'function' ? env() : env, container);
  });
  afterAll(() => started?.close());
  if (resetEach) beforeEach(() => current().reset());
  return new Proxy({} as TestService, { get: (_, property) => current()[property as keyof TestService] });
}

/**
 * Deletes this service's Redis keys (its prefix) and nothing else. Test files run two at a time on one Redis: a
 * FLUSHDB here would wipe another file's idempotency locks, replay cache and rate budgets in the middle of its test.
 */
export async function clearRedis(container: Container): Promise<void> {
  if (container.redis.kind !== 'redis') {
    await container.redis.client.flushdb();
    return;
  }
  // In a script: the key names SCAN returns already carry the prefix, which the client would add a second time.
  const script = `local cursor = '0'
    repeat
      local page = redis.call('SCAN', cursor, 'MATCH', ARGV[1], 'COUNT', 1000)
      cursor = page[1]
      for _, key in ipairs(page[2]) do redis.call('DEL', key) end
    until cursor == '0'
    return 0`;
  await container.redis.client.eval(script, 0, `${container.config.redisKeyPrefix}*`).catch(() => {});
}

/** Sends a GraphQL operation through app.request (no port) and returns the parsed JSON body. */
export async function graphql<T = any>(
  service: TestService,
  actor: Actor | null,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<{ data?: T; errors?: { message: string; extensions?: { code?: string } }[] }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (actor) headers.authorization = `Bearer ${await service.token(actor)}`;
  const response = await service.app.request('/graphql', { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  return (await response.json()) as never;
}
