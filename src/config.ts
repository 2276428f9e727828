/**
 * The only reader of process.env: every setting is typed and validated once, at boot.
 * A bad value stops start-up with one line naming the variable and the reason.
 */
import path from 'node:path';
import { z } from 'zod';

const DEV_JWT_SECRET = 'quickeats-development-secret-do-not-use-in-production';

/** true/1/yes or false/0/no, case-sensitive: stringbool's defaults would also take on/off, y/n and any case. */
const booleanString = z.stringbool({
  truthy: ['true', '1', 'yes'],
  falsy: ['false', '0', 'no'],
  case: 'sensitive',
  error: 'must be true or false',
});

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test'], { error: 'must be development, production or test' }).default('development'),
  PORT: z.coerce
    .number({ error: 'must be a number' })
    .int('must be a whole number')
    .min(0)
    .max(65535, 'must be at most 65535')
    .default(4000),
  HOST: z.string().min(1).default('0.0.0.0'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  DATABASE_POOL_SIZE: z.coerce.number({ error: 'must be a number' }).int().min(1).max(200).default(10),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
    .optional(),
  /** Prefix for every Redis key, so several deployments (or test runs) can share one Redis. */
  REDIS_KEY_PREFIX: z.string().default('quickeats:'),
  /** How long a Redis command may take before its caller falls back (the database, an in-process limiter). */
  REDIS_COMMAND_TIMEOUT_MS: z.coerce.number({ error: 'must be a number' }).int().min(50).max(10_000).default(500),
  JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  SEED_DEMO_DATA: booleanString.optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { error: 'must be a pino level' }).default('info'),
  EMBEDDED_DATA_DIR: z
    .string()
    .min(1)
    .default(path.join(process.cwd(), '.data', 'pglite')),
  RATE_LIMIT_PER_MINUTE: z.coerce.number({ error: 'must be a number' }).int().min(0).default(1200),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number({ error: 'must be a number' }).int().min(0).default(10_000),
  SHUTDOWN_DRAIN_DELAY_MS: z.coerce.number({ error: 'must be a number' }).int().min(0).default(0),
  /** Comma-separated origins allowed by CORS; unset means no cross-origin browser access. */
  CORS_ORIGINS: z
    .string()
    .regex(/^(\*|https?:\/\/[^,\s]+(,https?:\/\/[^,\s]+)*)$/, 'must be * or a comma-separated list of http(s) origins')
    .optional(),
  GRAPHIQL_ENABLED: booleanString.optional(),
  GRAPHQL_INTROSPECTION: booleanString.optional(),
  /** A Stripe-compatible API (SPEC §8); unset: the built-in simulator. */
  PAYMENT_PROVIDER_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
  PAYMENT_PROVIDER_KEY: z.string().min(1).optional(),
  /** How long one request to the provider may take before it counts as unavailable. */
  PAYMENT_PROVIDER_TIMEOUT_MS: z.coerce
    .number({ error: 'must be a number' })
    .int()
    .min(100)
    .max(7_000, 'must be at most 7000: recovery waits 3 × this + 5 s, and SPEC §8 gives it 30 s')
    .default(5_000),
  /** Key material for webhook secrets at rest; unset: derived from JWT_SECRET (rotate both together then). */
  WEBHOOK_SECRET_KEY: z.string().min(32, 'must be at least 32 characters').optional(),
  /** How long a webhook receiver has to answer 2xx (SPEC §9: 10 s). */
  WEBHOOK_TIMEOUT_MS: z.coerce.number({ error: 'must be a number' }).int().min(100).max(10_000).default(10_000),
  /** The first retry of a failed delivery comes within this; each next one within twice the last, up to an hour. */
  WEBHOOK_RETRY_BASE_MS: z.coerce.number({ error: 'must be a number' }).int().min(10).max(10_000).default(5_000),
  /** How long a failing delivery is retried before it is abandoned (SPEC §9: at least 3 days). */
  WEBHOOK_RETRY_WINDOW_MS: z.coerce
    .number({ error: 'must be a number' })
    .int()
    .min(1_000)
    .default(3 * 24 * 3600 * 1000),
  /** An endpoint whose every attempt has failed for this long is disabled. */
  WEBHOOK_DISABLE_AFTER_MS: z.coerce
    .number({ error: 'must be a number' })
    .int()
    .min(1_000)
    .default(5 * 24 * 3600 * 1000),
});

export type Config = {
  nodeEnv: 'development' | 'production' | 'test';
  isProduction: boolean;
  port: number;
  host: string;
  /** Undefined → the embedded PGlite database in `embeddedDataDir` (`memory://` keeps it in memory). */
  databaseUrl: string | undefined;
  databasePoolSize: number;
  /** Undefined → in-process stand-ins for Redis. */
  redisUrl: string | undefined;
  redisKeyPrefix: string;
  redisCommandTimeoutMs: number;
  jwtSecret: string;
  usingDevelopmentJwtSecret: boolean;
  seedDemoData: boolean;
  logLevel: string;
  embeddedDataDir: string;
  rateLimitPerMinute: number;
  shutdownTimeoutMs: number;
  /** After SIGTERM, how long /readyz says 503 while requests are still taken, before the listener closes. */
  shutdownDrainDelayMs: number;
  corsOrigins: string[];
  graphiqlEnabled: boolean;
  introspectionEnabled: boolean;
  /** Undefined → the built-in payment simulator. */
  paymentProvider: { url: string; secretKey: string } | undefined;
  paymentProviderTimeoutMs: number;
  webhooks: { secretKey: string; timeoutMs: number; retryBaseMs: number; retryWindowMs: number; disableAfterMs: number };
};

/** Thrown for a bad environment; its message is the one line start-up prints. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses an environment (process.env by default) into a Config, or throws a ConfigError naming the variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // Treat empty strings as unset: `FOO= npm start` should mean "default", not "invalid".
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const variable = String(issue?.path[0] ?? 'environment');
    throw new ConfigError(`Invalid configuration: ${variable} ${issue?.message ?? 'is invalid'}`);
  }
  const e = parsed.data;
  const isProduction = e.NODE_ENV === 'production';
  if (Boolean(e.PAYMENT_PROVIDER_URL) !== Boolean(e.PAYMENT_PROVIDER_KEY)) {
    throw new ConfigError('Invalid configuration: PAYMENT_PROVIDER_URL and PAYMENT_PROVIDER_KEY are set together or not at all');
  }
  if (isProduction && !e.JWT_SECRET) {
    throw new ConfigError('Invalid configuration: JWT_SECRET is required when NODE_ENV=production');
  }
  return {
    nodeEnv: e.NODE_ENV,
    isProduction,
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    databasePoolSize: e.DATABASE_POOL_SIZE,
    redisUrl: e.REDIS_URL,
    redisKeyPrefix: e.REDIS_KEY_PREFIX,
    redisCommandTimeoutMs: e.REDIS_COMMAND_TIMEOUT_MS,
    jwtSecret: e.JWT_SECRET ?? DEV_JWT_SECRET,
    usingDevelopmentJwtSecret: !e.JWT_SECRET,
    seedDemoData: e.SEED_DEMO_DATA ?? !isProduction,
    logLevel: e.LOG_LEVEL,
    embeddedDataDir: e.EMBEDDED_DATA_DIR,
    rateLimitPerMinute: e.RATE_LIMIT_PER_MINUTE,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    shutdownDrainDelayMs: e.SHUTDOWN_DRAIN_DELAY_MS,
    corsOrigins: e.CORS_ORIGINS ? e.CORS_ORIGINS.split(',') : [],
    graphiqlEnabled: e.GRAPHIQL_ENABLED ?? !isProduction,
    introspectionEnabled: e.GRAPHQL_INTROSPECTION ?? !isProduction,
    paymentProvider:
      e.PAYMENT_PROVIDER_URL && e.PAYMENT_PROVIDER_KEY ? { url: e.PAYMENT_PROVIDER_URL, secretKey: e.PAYMENT_PROVIDER_KEY } : undefined,
    paymentProviderTimeoutMs: e.PAYMENT_PROVIDER_TIMEOUT_MS,
    webhooks: {
      secretKey: e.WEBHOOK_SECRET_KEY ?? `webhooks:${e.JWT_SECRET ?? DEV_JWT_SECRET}`,
      timeoutMs: e.WEBHOOK_TIMEOUT_MS,
      retryBaseMs: e.WEBHOOK_RETRY_BASE_MS,
      retryWindowMs: e.WEBHOOK_RETRY_WINDOW_MS,
      disableAfterMs: e.WEBHOOK_DISABLE_AFTER_MS,
    },
  };
}
