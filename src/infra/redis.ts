/**
 * Redis when REDIS_URL is set, otherwise an in-process stand-in with the same ioredis interface
 * (ioredis-mock, which also runs Lua), so the code that uses Redis has one path for both.
 */
import { Redis } from 'ioredis';

export type { Redis };

export type RedisConnection = {
  kind: 'redis' | 'in-process';
  /** Commands (locks, caches, rate limits); keys are prefixed with the configured prefix. */
  client: Redis;
  /**
   * A new connection: for SUBSCRIBE (a subscribed connection cannot run other commands), or for PUBLISH with
   * `autoPipelining` (commands issued in the same tick go out in one write, one round trip).
   */
  duplicate(options?: { autoPipelining?: boolean }): Redis;
  ping(): Promise<void>;
  close(): Promise<void>;
};

export type RedisOptions = { url?: string | undefined; keyPrefix: string; commandTimeoutMs?: number };

/** Connects to Redis, or creates the in-process stand-in. Never throws for an unreachable server: ping() reports it. */
export async function connectRedis(options: RedisOptions): Promise<RedisConnection> {
  if (!options.url) {
    // Loaded only when used: the stand-in costs ~15 MB of memory that a process on real Redis should not carry.
    const { default: RedisMock } = await import('ioredis-mock');
    // A private "server" per connection set, so two services in one process (tests) never share keys.
    const mockServer = { host: `in-process-${Math.random().toString(36).slice(2)}`, port: 6379 };
    const client = new RedisMock({ ...mockServer, keyPrefix: options.keyPrefix }) as unknown as Redis;
    return {
      kind: 'in-process',
      client,
      duplicate: () => (client as unknown as { duplicate(): Redis }).duplicate(),
      ping: async () => {
        await client.ping();
      },
      close: async () => {
        client.disconnect();
      },
    };
  }
  const client = new Redis(options.url, {
    keyPrefix: options.keyPrefix,
    // Fail commands fast while Redis is away instead of queueing them; reconnect in the background. Every caller
    // has a fallback (the database for idempotency, an in-memory limiter for rate limits), so a slow answer is
    // worse than none: a healthy Redis answers in well under a millisecond.
    commandTimeout: options.commandTimeoutMs ?? 500,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: true,
    connectTimeout: 2_000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  });
  client.on('error', () => {}); // reconnects by itself; readiness reports the outage
  const url = options.url;
  return {
    kind: 'redis',
    client,
    duplicate: (duplicateOptions) => {
      const connection = new Redis(url, {
        retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
        enableAutoPipelining: duplicateOptions?.autoPipelining ?? false,
      });
      connection.on('error', () => {});
      return connection;
    },
    ping: async () => {
      // A PING queued while (re)connecting answers once connected; give up after a second so /readyz stays fast.
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`Redis is ${client.status}`)), 1_000);
      });
      try {
        await Promise.race([client.ping(), timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    close: async () => {
      client.disconnect();
    },
  };
}
