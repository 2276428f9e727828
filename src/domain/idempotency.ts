/**
 * Idempotency keys, shared by every transport (SPEC §5).
 *
 * - The durable record (table idempotency_records, unique per actor + key) is written in the same transaction as
 *   the change it guards, so a crash can never leave an effect without its record or a record without its effect.
 *   That unique index is what guarantees "at most once", even if Redis is flushed or restarted.
 * - Redis holds the in-flight lock (SET NX PX, so a holder that died frees the key within LOCK_TTL_MS) and a
 *   replay cache in front of the table.
 * - A second request with the key while the first runs gets IdempotencyKeyInProgressError at once (REST 409,
 *   Retry-After: 1), as Stripe does: holding it open would tie up a connection and hide the race from the client.
 */
import { createHash, randomUUID } from 'node:crypto';
import { stringify } from 'safe-stable-stringify';
import type { Prisma, PrismaClient } from '../generated/prisma/client.ts';
import type { Redis } from '../infra/redis.ts';
import type { Actor } from './auth.ts';
import { IdempotencyKeyInProgressError, IdempotencyKeyReusedError } from './errors.ts';

export const LOCK_TTL_MS = 10_000;
export const RECORD_TTL_MS = 24 * 60 * 60 * 1000;

/** The columns of one idempotency record (table idempotency_records). */
export type IdempotencyRecordFields = {
  actorRole: Actor['role'];
  actorId: number;
  key: string;
  operation: string;
  fingerprint: string;
  orderId: number;
  outcome: Prisma.JsonObject;
  expiresAt: Date;
};

/** What an executed request produced, independent of transport: REST replays it, GraphQL reports `replayed`. */
export type StoredOutcome = {
  /** `created` (REST 201) or `ok` (200). */
  result: 'created' | 'ok';
  /** The order exactly as the first request returned it (JSON-safe). */
  order: Prisma.JsonObject;
};

export type IdempotentRequest = {
  actor: Actor;
  key: string;
  /** The operation name shared by all transports (`pay`, `create`, …). */
  operation: string;
  orderId: number | null;
  /** The request's own content. Never the expected version: a replay with a stale If-Match must still replay. */
  payload: unknown;
};

type RecordRow = { fingerprint: string; orderId: number; outcome: StoredOutcome };

export type Replay = { orderId: number; outcome: StoredOutcome };

/** A fingerprint of what the request asks for, so a reused key with another request is detected. */
export function fingerprintOf(request: IdempotentRequest): string {
  return createHash('sha256')
    .update(stringify({ operation: request.operation, orderId: request.orderId, payload: request.payload }) ?? '')
    .digest('hex');
}

/**
 * Starts a request under its key: the cached outcome when there is one, else the in-flight lock (SET NX PX).
 * Answers the cached JSON, '' when the lock is now ours, or nil when another request holds it.
 */
const BEGIN_SCRIPT = `
local cached = redis.call('get', KEYS[2])
if cached then return cached end
if redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then return '' end
return false`;

/**
 * Caches the committed outcome (when given) and deletes the lock only if it is still ours: after a TTL expiry the
 * lock may belong to another request.
 */
const RELEASE_SCRIPT = `
if ARGV[2] ~= '' then redis.call('set', KEYS[2], ARGV[2], 'PX', ARGV[3]) end
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0`;

const scope = (actor: Actor, key: string) => `${actor.role}:${actor.id}:${createHash('sha256').update(key).digest('hex')}`;

export class IdempotencyStore {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly redis: Redis,
  ) {}

  /**
   * The recorded replay for a key already used by this actor, IdempotencyKeyReusedError for another request, or
   * null. Asks the table, which is the truth (the Redis cache may have lost entries).
   */
  async findReplay(request: IdempotentRequest): Promise<Replay | null> {
    const row = await this.prisma.idempotencyRecord.findUnique({
      where: { actorRole_actorId_key: { actorRole: request.actor.role, actorId: request.actor.id, key: request.key } },
      select: { fingerprint: true, orderId: true, outcome: true },
    });
    return row
      ? checked(request, { fingerprint: row.fingerprint, orderId: row.orderId, outcome: row.outcome as unknown as StoredOutcome })
      : null;
  }

  /**
   * Starts a request under its key, in one Redis round trip: the cached replay when the key was used already
   * (IdempotencyKeyReusedError when for another request), else the key's in-flight lock
   * (IdempotencyKeyInProgressError while another request holds it). The lock comes as its release function;
   * given the outcome the request committed, release also puts that into the replay cache, in the same round trip.
   */
  async begin(request: IdempotentRequest): Promise<{ replay: Replay } | { release: (committed?: Replay) => Promise<void> }> {
    const cacheKey = `idem:${scope(request.actor, request.key)}`;
    const lockKey = `idem-lock:${scope(request.actor, request.key)}`;
    const token = randomUUID();
    let answer: unknown;
    try {
      answer = await this.redis.eval(BEGIN_SCRIPT, 2, lockKey, cacheKey, token, LOCK_TTL_MS);
    } catch {
      // Redis is unreachable: go on without the lock. The unique index on idempotency_records still lets only one
      // request with this key commit; a concurrent duplicate rolls back and replays (see OrderService.idempotently).
      return { release: async () => {} };
    }
    if (typeof answer !== 'string') throw new IdempotencyKeyInProgressError();
    if (answer !== '') return { replay: checked(request, JSON.parse(answer) as RecordRow) };
    return {
      release: async (committed) => {
        const cached = committed ? JSON.stringify({ fingerprint: fingerprintOf(request), ...committed } satisfies RecordRow) : '';
        // Best effort: an unreleased lock expires by itself, and the table stays the truth when the cache misses.
        await this.redis.eval(RELEASE_SCRIPT, 2, lockKey, cacheKey, token, cached, RECORD_TTL_MS).catch(() => {});
      },
    };
  }

  /** The durable record's columns, for a write that commits it together with its effect. */
  recordFields(request: IdempotentRequest, orderId: number, outcome: StoredOutcome): IdempotencyRecordFields {
    return {
      actorRole: request.actor.role,
      actorId: request.actor.id,
      key: request.key,
      operation: request.operation,
      fingerprint: fingerprintOf(request),
      orderId,
      outcome: outcome as unknown as Prisma.JsonObject,
      expiresAt: new Date(Date.now() + RECORD_TTL_MS),
    };
  }

  /** Writes the durable record inside the caller's transaction. */
  async record(tx: Prisma.TransactionClient, request: IdempotentRequest, orderId: number, outcome: StoredOutcome): Promise<void> {
    await tx.idempotencyRecord.create({ data: this.recordFields(request, orderId, outcome) });
  }

  /** Deletes records past their retention; returns how many. */
  async purgeExpired(now = new Date()): Promise<number> {
    const { count } = await this.prisma.idempotencyRecord.deleteMany({ where: { expiresAt: { lt: now } } });
    return count;
  }
}

/** The replay a stored row holds for this request, or IdempotencyKeyReusedError when it was for another request. */
function checked(request: IdempotentRequest, row: RecordRow): Replay {
  if (row.fingerprint !== fingerprintOf(request)) throw new IdempotencyKeyReusedError();
  return { orderId: row.orderId, outcome: row.outcome };
}

/**
 * True for the unique-index violation that means another request recorded the same key first: P2002 from a Prisma
 * create, or P2010 (raw query, PostgreSQL 23505) from the single-statement action write.
 */
export function isIdempotencyRecordConflict(error: unknown): boolean {
  const e = error as { code?: string; meta?: { modelName?: string; driverAdapterError?: { cause?: { originalCode?: string } } } };
  const uniqueViolation = e?.code === 'P2002' || (e?.code === 'P2010' && e.meta?.driverAdapterError?.cause?.originalCode === '23505');
  if (!uniqueViolation) return false;
  return e.meta?.modelName === 'IdempotencyRecord' || JSON.stringify(e.meta ?? {}).includes('idempotency_records');
}
