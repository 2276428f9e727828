/**
 * Idempotency keys, shared by every transport (SPEC §5). This module runs the whole protocol around the execution it
 * guards: `run(request, execute, { externalEffect })`.
 *
 * - The durable record (table idempotency_records, unique per actor + key) is written in the same statement or
 *   transaction as the change it guards (`execute` receives the record to write, and `recordInsert` is the one way it
 *   is written), so a crash can never leave an effect without its record or a record without its effect. That unique
 *   index is what guarantees "at most once", even if Redis is flushed or restarted.
 * - An execution whose only effects are that database write leaves the key to the database alone, and costs no Redis
 *   round trip: a second request with the key while the first runs waits on the first one's uncommitted row (the
 *   order's row lock, or the record's unique key), then finds the order moved on or the key taken, and replays. SPEC
 *   §5 allows that wait in place of the 409; it lasts no longer than the first request's statement or transaction.
 * - An execution with an effect outside the database before it commits (a charge) must not even start twice, and no
 *   row can stand for it while it runs: Redis holds the in-flight lock (SET NX PX, so a holder that died frees the
 *   key within LOCK_TTL_MS) and a replay cache in front of the table, and a second request with the key while the
 *   first runs gets IdempotencyKeyInProgressError at once (REST 409, Retry-After: 1), as Stripe does.
 */
import { createHash, randomUUID } from 'node:crypto';
import { stringify } from 'safe-stable-stringify';
import { z } from 'zod';
import { Prisma, type PrismaClient } from '../generated/prisma/client.ts';
import type { Redis } from '../infra/redis.ts';
import type { Actor } from './auth.ts';
import { DomainError, ForbiddenError, IdempotencyKeyInProgressError, IdempotencyKeyReusedError, NotFoundError } from './errors.ts';

export const LOCK_TTL_MS = 10_000;
export const RECORD_TTL_MS = 24 * 60 * 60 * 1000;

/** The columns of one idempotency record (table idempotency_records) but its outcome, which `recordInsert` takes. */
export type IdempotencyRecordFields = {
  actorRole: Actor['role'];
  actorId: number;
  key: string;
  operation: string;
  fingerprint: string;
  orderId: number;
  expiresAt: Date;
};

/** What an executed request produced, independent of transport: REST replays it, GraphQL reports `replayed`. */
export type StoredOutcome = {
  /** `created` (REST 201) or `ok` (200). */
  result: 'created' | 'ok';
  /** The order exactly as the first request returned it (JSON-safe). */
  order: Prisma.JsonObject;
};

/**
 * The stored order snapshot's shape, checked when it is read back (from the table or the cache): records outlive a
 * deploy, and a snapshot written under another shape must never be replayed as if it were this one.
 */
const SnapshotSchema = z.looseObject({
  id: z.number().int(),
  status: z.string(),
  version: z.number().int(),
  totalAmount: z.number().int(),
  restaurantId: z.number().int(),
  customerId: z.number().int(),
  riderId: z.number().int().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  items: z.array(
    z.looseObject({
      menuItemId: z.number().int(),
      name: z.string(),
      quantity: z.number().int(),
      unitPrice: z.number().int(),
      lineTotal: z.number().int(),
    }),
  ),
});
const StoredOutcomeSchema = z.object({ result: z.enum(['created', 'ok']), order: SnapshotSchema });

/** A stored outcome as it was written, or null when its shape is not this code's (a record from another release). */
export function readOutcome(stored: unknown): StoredOutcome | null {
  const parsed = StoredOutcomeSchema.safeParse(stored);
  return parsed.success ? (parsed.data as unknown as StoredOutcome) : null;
}

export type IdempotentRequest = {
  actor: Actor;
  key: string;
  /** The operation name shared by all transports (`pay`, `create`, …). */
  operation: string;
  orderId: number | null;
  /** The request's own content. Never the expected version: a replay with a stale If-Match must still replay. */
  payload: unknown;
};

type RecordRow = { fingerprint: string; orderId: number; outcome: unknown };

/** What a replay repeats: the order, and the first outcome when its stored shape is readable (else null). */
export type Replay = { orderId: number; outcome: StoredOutcome | null };

/** A request as a record names it; `fingerprint` may come precomputed (recovery records for a request long gone). */
export type KeyedRequest = Pick<IdempotentRequest, 'actor' | 'key' | 'operation'> & { fingerprint: string };

/** Builds the record of an execution on an order, to be written with its effect and outcome through `recordInsert`. */
export type RecordFor = (orderId: number) => IdempotencyRecordFields;

/** How a request under its key ended: executed now, or a replay of the first execution. */
export type Idempotent<T> = { executed: T } | { replayed: Replay };

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
   * Runs `execute` at most once per (actor, key): the first request executes, later ones with the same request get
   * its replay, another request with the key IdempotencyKeyReusedError. `execute` receives the record to commit
   * together with its effect. `externalEffect`: whether `execute` acts outside the database before it commits (a
   * charge); only then does a request take the key's lock in Redis, and one arriving while the first still runs gets
   * IdempotencyKeyInProgressError.
   */
  async run<T extends { order: { id: number }; outcome: StoredOutcome }>(
    request: IdempotentRequest,
    execute: (recordFor: RecordFor) => Promise<T>,
    { externalEffect }: { externalEffect: boolean },
  ): Promise<Idempotent<T>> {
    // The database alone decides: a repeat finds the order moved on (or collides with the record) and replays.
    if (!externalEffect) return this.executeOrReplay(request, execute);
    // A retry usually finds its replay in the cache; otherwise we hold the key's lock, and the table is the truth (the
    // cache may have lost the entry, and the first request may have finished just before our lock): asked before the
    // effect starts, as a replay must never reach outside again.
    const started = await this.begin(request);
    if ('replay' in started) return { replayed: started.replay };
    let committed: Replay | undefined;
    try {
      const finished = await this.findReplay(request);
      if (finished) return { replayed: finished };
      const result = await this.executeOrReplay(request, execute);
      if ('executed' in result) committed = { orderId: result.executed.order.id, outcome: result.executed.outcome };
      return result;
    } finally {
      await started.release(committed);
    }
  }

  /** Executes, or replays when the execution failed because a request with the same key committed first. */
  private async executeOrReplay<T>(request: IdempotentRequest, execute: (recordFor: RecordFor) => Promise<T>): Promise<Idempotent<T>> {
    try {
      return { executed: await execute(this.recordFor({ ...request, fingerprint: fingerprintOf(request) })) };
    } catch (error) {
      // 404 and 403 come before the key (SPEC §5): an order that does not exist for the actor, or an action that is not
      // its own, is never answered with a replay or a 422.
      if (error instanceof NotFoundError || error instanceof ForbiddenError) throw error;
      // A request with the same key may have committed meanwhile (a concurrent duplicate, or our Redis lock was lost):
      // then our unique-index violation, or the version conflict our compare-and-swap met, is really "already done".
      if (!isKeyConflict(error) && !(error instanceof DomainError)) throw error;
      const winner = await this.findReplay(request);
      if (!winner) throw error;
      return { replayed: winner };
    }
  }

  /** The record of an execution of `request`, for a write that commits it together with its effect. */
  recordFor(request: KeyedRequest): RecordFor {
    return (orderId) => ({
      actorRole: request.actor.role,
      actorId: request.actor.id,
      key: request.key,
      operation: request.operation,
      fingerprint: request.fingerprint,
      orderId,
      expiresAt: new Date(Date.now() + RECORD_TTL_MS),
    });
  }

  /** Deletes records past their retention; returns how many. */
  async purgeExpired(now = new Date()): Promise<number> {
    const { count } = await this.prisma.idempotencyRecord.deleteMany({ where: { expiresAt: { lt: now } } });
    return count;
  }

  /**
   * The recorded replay for a key already used by this actor, IdempotencyKeyReusedError for another request, or
   * null. Asks the table, which is the truth (the Redis cache may have lost entries).
   */
  private async findReplay(request: IdempotentRequest): Promise<Replay | null> {
    const row = await this.prisma.idempotencyRecord.findUnique({
      where: { actorRole_actorId_key: { actorRole: request.actor.role, actorId: request.actor.id, key: request.key } },
      select: { fingerprint: true, orderId: true, outcome: true },
    });
    return row ? checked(request, row) : null;
  }

  /**
   * Starts a request under its key, in one Redis round trip: the cached replay when the key was used already
   * (IdempotencyKeyReusedError when for another request), else the key's in-flight lock
   * (IdempotencyKeyInProgressError while another request holds it). The lock comes as its release function;
   * given the outcome the request committed, release also puts that into the replay cache, in the same round trip.
   */
  private async begin(request: IdempotentRequest): Promise<{ replay: Replay } | { release: (committed?: Replay) => Promise<void> }> {
    const cacheKey = `idem:${scope(request.actor, request.key)}`;
    const lockKey = `idem-lock:${scope(request.actor, request.key)}`;
    const token = randomUUID();
    let answer: unknown;
    try {
      answer = await this.redis.eval(BEGIN_SCRIPT, 2, lockKey, cacheKey, token, LOCK_TTL_MS);
    } catch {
      // Redis is unreachable: go on without the lock. The unique index on idempotency_records still lets only one
      // request with this key commit; a concurrent duplicate rolls back and replays (see run).
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
}

/**
 * The one way a record is written: an INSERT … SELECT whose rows come from `from` (the CTE of the change it guards,
 * so that nothing is recorded when the change writes nothing), or a single row when `from` is empty. `outcome` is the
 * stored outcome, or an SQL expression that builds it from `from` (a change that renders its order itself).
 */
export function recordInsert(
  record: IdempotencyRecordFields,
  outcome: StoredOutcome | Prisma.Sql,
  from: Prisma.Sql = Prisma.empty,
): Prisma.Sql {
  const json = outcome instanceof Prisma.Sql ? outcome : JSON.stringify(outcome);
  return Prisma.sql`INSERT INTO idempotency_records (actor_role, actor_id, key, operation, fingerprint, order_id, outcome, expires_at)
      SELECT ${record.actorRole}::actor_role, ${record.actorId}::integer, ${record.key}::text, ${record.operation}::text,
             ${record.fingerprint}::text, ${record.orderId}::integer, (${json})::jsonb, ${record.expiresAt}::timestamptz
      ${from}`;
}

/** The replay a stored row holds for this request, or IdempotencyKeyReusedError when it was for another request. */
function checked(request: IdempotentRequest, row: RecordRow): Replay {
  if (row.fingerprint !== fingerprintOf(request)) throw new IdempotencyKeyReusedError();
  return { orderId: row.orderId, outcome: readOutcome(row.outcome) };
}

/** The unique index that makes a key's record one per actor (prisma/schema.prisma: @@unique([actorRole, actorId, key])). */
const KEY_INDEX = 'idempotency_records_actor_role_actor_id_key_key';
const KEY_COLUMNS = 'actor_role,actor_id,key';

/**
 * True for the unique-index violation that means another request recorded the same key first: from a statement run
 * directly (Database.readRows: PostgreSQL's error names the constraint, code 23505), or through Prisma, whose driver
 * adapter reports the index (PostgreSQL) or the columns (PGlite).
 */
export function isKeyConflict(error: unknown): boolean {
  const direct = error as { code?: unknown; constraint?: unknown };
  if (direct?.code === '23505') return direct.constraint === KEY_INDEX;
  const cause = (
    error as { meta?: { driverAdapterError?: { cause?: { kind?: string; constraint?: { index?: string; fields?: string[] } } } } }
  )?.meta?.driverAdapterError?.cause;
  if (cause?.kind !== 'UniqueConstraintViolation') return false;
  return cause.constraint?.index === KEY_INDEX || cause.constraint?.fields?.join(',') === KEY_COLUMNS;
}
