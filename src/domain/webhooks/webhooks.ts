/**
 * Webhook endpoints and their deliveries (SPEC §9).
 *
 * - **Fan-out** happens in the database: a trigger on `events` writes one `webhook_deliveries` row per live endpoint
 *   that wants the event, in the transaction that writes the event, and wakes that endpoint's job (migration
 *   `webhooks`). So a delivery exists exactly when its event committed, whatever wrote it, and survives kill -9.
 * - **Delivery** is one graphile-worker job per endpoint, in a named queue of its own: at most one process works on
 *   an endpoint at a time (no event is sent twice in parallel), and a slow endpoint holds only its own job. The job
 *   sends the oldest pending delivery of each order (head of line: an order's event waits until the endpoint
 *   acknowledged its earlier ones), several orders at once, records each attempt, and schedules itself for the next
 *   due retry. Each job runs for a bounded time (`jobBudgetMs` plus one batch) so that a crashed worker's lock can be
 *   told apart from a busy one.
 * - **Retries**: exponential backoff with jitter (the first within `retryBaseMs`, default 5 s), capped at an hour,
 *   for `retryWindowMs` (default 3 days) after the event; then the delivery is abandoned and the order's next event
 *   goes. An endpoint that has failed every attempt for `disableAfterMs` (default 5 days) is disabled.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { TaskList } from 'graphile-worker';
import { Prisma, type PrismaClient, type WebhookEndpoint } from '../../generated/prisma/client.ts';
import type { Actor } from '../auth.ts';
import { ForbiddenError, NotFoundError, ValidationError } from '../errors.ts';
import { EVENT_TYPES, type FeedEvent, feedEventOf } from '../events/events.ts';
import { isDatabaseId } from '../orders/commands.ts';
import { checkEndpointUrl, deliveryAgents } from './endpoint-url.ts';
import { EVENT_ID_HEADER, SIGNATURE_HEADER, signatureHeader } from './signature.ts';

export type WebhookOptions = {
  /** Key material for the secrets at rest (WEBHOOK_SECRET_KEY). */
  secretKey: string;
  /** Production: https only and public addresses only (see endpoint-url.ts). */
  production: boolean;
  /** How long a receiver has to answer 2xx (SPEC: 10 s). */
  timeoutMs: number;
  /** The first retry comes within this; each next one within twice the last, up to an hour. */
  retryBaseMs: number;
  retryWindowMs: number;
  disableAfterMs: number;
  /** The JSON of an event, as the REST feed shows it: deliveries and the feed carry the same document. */
  render: (event: FeedEvent) => unknown;
  onDelivery?: (outcome: 'delivered' | 'failed' | 'abandoned') => void;
};

export type WebhookEndpointView = {
  id: number;
  url: string;
  events: string[];
  createdAt: Date;
  disabledAt: Date | null;
};

export type DeliveryAttemptView = {
  id: string;
  eventId: string;
  attemptedAt: Date;
  statusCode: number | null;
  error: string | null;
  durationMs: number;
  nextRetryAt: Date | null;
};

const MAX_ENDPOINTS_PER_OWNER = 20;
const MAX_RETRY_DELAY_MS = 60 * 60 * 1000;
/** Orders whose head delivery is sent at once by one job. */
const BATCH_SIZE = 32;
/** A job stops starting new batches after this long and queues its continuation. */
const JOB_BUDGET_MS = 2_000;

function endpointView(row: WebhookEndpoint): WebhookEndpointView {
  return { id: row.id, url: row.url, events: row.events, createdAt: row.createdAt, disabledAt: row.disabledAt };
}

/** The delay before the n-th retry (n ≥ 1): base × 2^(n-1), capped, with "equal jitter" (half fixed, half random). */
export function retryDelayMs(attempt: number, baseMs: number): number {
  const ceiling = Math.min(MAX_RETRY_DELAY_MS, baseMs * 2 ** Math.min(attempt - 1, 30));
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

/** The secrets at rest: AES-256-GCM under a key derived (HKDF) from WEBHOOK_SECRET_KEY. */
function secretBox(keyMaterial: string) {
  const key = Buffer.from(hkdfSync('sha256', keyMaterial, 'quickeats', 'webhook-endpoint-secrets-v1', 32));
  return {
    seal(secret: string): string {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const sealed = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
      return ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), sealed.toString('base64url')].join('.');
    },
    open(stored: string): string {
      const [version, iv, tag, sealed] = stored.split('.');
      if (version !== 'v1' || !iv || !tag || !sealed) throw new Error('unknown webhook secret format');
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(sealed, 'base64url')), decipher.final()]).toString('utf8');
    },
  };
}

type DueDelivery = { id: bigint; event_id: bigint; attempts: number; created_at: Date };
type SendResult = { statusCode: number | null; error: string | null; durationMs: number };

export class Webhooks {
  private readonly box: ReturnType<typeof secretBox>;
  private readonly agents: ReturnType<typeof deliveryAgents>;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly options: WebhookOptions,
  ) {
    this.box = secretBox(options.secretKey);
    this.agents = deliveryAgents(options.production, BATCH_SIZE);
  }

  /** How long one delivery job may run: its budget, then one batch that waits at most the timeout, then writes. */
  get maxJobMs(): number {
    return JOB_BUDGET_MS + this.options.timeoutMs + 5_000;
  }

  /** Registers an endpoint (a restaurant: its orders' events; an admin: every order's). The secret is returned once. */
  async create(
    actor: Actor,
    input: { url: string; events: readonly string[] },
  ): Promise<{ endpoint: WebhookEndpointView; secret: string }> {
    if (actor.role !== 'restaurant' && actor.role !== 'admin') {
      throw new ForbiddenError('Only a restaurant or an admin may register webhook endpoints');
    }
    const events = [...new Set(input.events)];
    if (events.length === 0) throw ValidationError.of('events', 'must name at least one event type, or "*"');
    if (events.includes('*') && events.length > 1) throw ValidationError.of('events', '"*" stands alone');
    const unknown = events.find((type) => type !== '*' && !(EVENT_TYPES as readonly string[]).includes(type));
    if (unknown !== undefined) throw ValidationError.of('events', `${JSON.stringify(unknown)} is not an event type`);
    const url = await checkEndpointUrl(input.url, this.options.production);
    const owner = { ownerRole: actor.role, ownerId: actor.id, deletedAt: null };
    if ((await this.prisma.webhookEndpoint.count({ where: owner })) >= MAX_ENDPOINTS_PER_OWNER) {
      throw ValidationError.of('url', `at most ${MAX_ENDPOINTS_PER_OWNER} endpoints per owner; delete one first`);
    }
    const secret = `whsec_${randomBytes(32).toString('base64url')}`;
    const row = await this.prisma.webhookEndpoint.create({
      data: {
        url: url.href,
        events,
        secretCiphertext: this.box.seal(secret),
        ownerRole: actor.role,
        ownerId: actor.id,
        restaurantId: actor.role === 'restaurant' ? actor.id : null,
      },
    });
    return { endpoint: endpointView(row), secret };
  }

  /** A restaurant's own endpoints; an admin sees every endpoint. Oldest first, without secrets. */
  async list(actor: Actor): Promise<WebhookEndpointView[]> {
    const rows = await this.prisma.webhookEndpoint.findMany({ where: this.visibleWhere(actor), orderBy: { id: 'asc' } });
    return rows.map(endpointView);
  }

  /** Deletes an endpoint: once this returns, no new batch is sent to it (one already on the wire finishes). */
  async delete(actor: Actor, id: number): Promise<void> {
    const row = await this.visibleEndpoint(actor, id);
    await this.prisma.webhookEndpoint.updateMany({ where: { id: row.id, deletedAt: null }, data: { deletedAt: new Date() } });
  }

  /** The endpoint's delivery attempts, newest first; `before` is an attempt id from a previous page. */
  async attempts(actor: Actor, id: number, options: { limit?: number | undefined; before?: string | undefined } = {}) {
    const endpoint = await this.visibleEndpoint(actor, id);
    const limit = options.limit ?? 20;
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw ValidationError.of('limit', 'must be from 1 to 100');
    const before = options.before === undefined ? undefined : /^[1-9][0-9]{0,17}$/.test(options.before) ? BigInt(options.before) : null;
    if (before === null) throw ValidationError.of('cursor', 'is not a cursor from a previous page');
    const rows = await this.prisma.webhookAttempt.findMany({
      where: { endpointId: endpoint.id, ...(before === undefined ? {} : { id: { lt: before } }) },
      orderBy: { id: 'desc' },
      take: limit + 1,
    });
    const attempts: DeliveryAttemptView[] = rows.slice(0, limit).map((row) => ({
      id: String(row.id),
      eventId: `evt_${row.eventId}`,
      attemptedAt: row.attemptedAt,
      statusCode: row.statusCode,
      error: row.error,
      durationMs: row.durationMs,
      nextRetryAt: row.nextRetryAt,
    }));
    return { attempts, nextCursor: rows.length > limit ? (attempts.at(-1)?.id ?? null) : null };
  }

  /** Deliveries still owed to live endpoints (the `/metrics` backlog). */
  async backlog(): Promise<number> {
    return this.prisma.webhookDelivery.count({ where: { state: 'pending', endpoint: { deletedAt: null, disabledAt: null } } });
  }

  /**
   * The delivery job of one endpoint: sends what is due, for at most its budget. Returns when it should run next:
   * now (work left), at the next retry, or never (nothing pending, or the endpoint is gone).
   */
  async deliverDue(id: number): Promise<{ nextRunAt: Date | null }> {
    const started = Date.now();
    for (;;) {
      const endpoint = await this.prisma.webhookEndpoint.findUnique({ where: { id } });
      if (!endpoint || endpoint.deletedAt || endpoint.disabledAt) return { nextRunAt: null };
      const due = await this.prisma.$queryRaw<DueDelivery[]>`
        SELECT d.id, d.event_id, d.attempts, d.created_at FROM webhook_deliveries d
         WHERE d.endpoint_id = ${id} AND d.state = 'pending' AND d.next_attempt_at <= now()
           AND EXISTS (SELECT 1 FROM webhook_endpoints e WHERE e.id = d.endpoint_id AND e.deleted_at IS NULL AND e.disabled_at IS NULL)
           AND NOT EXISTS (SELECT 1 FROM webhook_deliveries earlier
                            WHERE earlier.endpoint_id = d.endpoint_id AND earlier.state = 'pending'
                              AND earlier.order_id = d.order_id AND earlier.event_id < d.event_id)
         ORDER BY d.event_id LIMIT ${BATCH_SIZE}`;
      if (!due.length) return { nextRunAt: await this.nextRetryAt(id) };
      const events = await this.prisma.event.findMany({ where: { id: { in: due.map((delivery) => delivery.event_id) } } });
      const byId = new Map(events.map((event) => [event.id, feedEventOf(event)]));
      const secret = this.box.open(endpoint.secretCiphertext);
      // Every send of the batch is recorded (or has failed to be) before the job goes on or fails: a job retried
      // while its sends still ran would send them again beside them.
      const outcomes = await Promise.allSettled(
        due.map(async (delivery) => {
          const result = await this.send(endpoint.id, new URL(endpoint.url), byId.get(delivery.event_id)!, secret);
          await this.record(endpoint, delivery, result);
        }),
      );
      const failed = outcomes.find((outcome) => outcome.status === 'rejected');
      if (failed) throw failed.reason;
      if (Date.now() - started > JOB_BUDGET_MS) return { nextRunAt: new Date() };
    }
  }

  /** Stops the connection pools (at shutdown). */
  close(): void {
    this.agents.destroy();
  }

  /** When the earliest head-of-line delivery that waits for a retry is due, or null when nothing is pending. */
  private async nextRetryAt(id: number): Promise<Date | null> {
    const [row] = await this.prisma.$queryRaw<{ at: Date | null }[]>`
      SELECT min(d.next_attempt_at) AS at FROM webhook_deliveries d
       WHERE d.endpoint_id = ${id} AND d.state = 'pending'
         AND NOT EXISTS (SELECT 1 FROM webhook_deliveries earlier
                          WHERE earlier.endpoint_id = d.endpoint_id AND earlier.state = 'pending'
                            AND earlier.order_id = d.order_id AND earlier.event_id < d.event_id)`;
    return row?.at ?? null;
  }

  /** One POST of the event, signed; never throws: a failure is a result. */
  private send(endpointId: number, url: URL, event: FeedEvent, secret: string): Promise<SendResult> {
    const body = JSON.stringify(this.options.render(event));
    const started = performance.now();
    const finish = (statusCode: number | null, error: string | null): SendResult => ({
      statusCode,
      error,
      durationMs: Math.round(performance.now() - started),
    });
    return new Promise((resolve) => {
      const request = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, {
        method: 'POST',
        agent: this.agents.agentFor(endpointId, url),
        signal: AbortSignal.timeout(this.options.timeoutMs),
        headers: {
          'Content-Type': 'application/json',
          'Content-Length': Buffer.byteLength(body),
          'User-Agent': 'QuickEats-Webhooks/1',
          [EVENT_ID_HEADER]: event.id,
          [SIGNATURE_HEADER]: signatureHeader(secret, body),
        },
      });
      request.on('response', (response) => {
        // The status decides; the body is read and dropped so that the connection can be reused.
        response.resume();
        response.on('error', () => {});
        const status = response.statusCode ?? 0;
        resolve(finish(status, status >= 200 && status < 300 ? null : `HTTP ${status}`));
      });
      request.on('error', (error: NodeJS.ErrnoException) => {
        const reason =
          error.name === 'AbortError' || error.name === 'TimeoutError' ? `timed out after ${this.options.timeoutMs} ms` : error.message;
        resolve(finish(null, reason));
      });
      request.end(body);
    });
  }

  /** Writes one attempt's outcome: the attempt log, the delivery's state, the endpoint's health; one statement. */
  private async record(endpoint: WebhookEndpoint, delivery: DueDelivery, result: SendResult): Promise<void> {
    const delivered = result.error === null;
    const attempt = delivery.attempts + 1;
    const abandoned = !delivered && Date.now() - delivery.created_at.getTime() >= this.options.retryWindowMs;
    const nextRetryAt = delivered || abandoned ? null : new Date(Date.now() + retryDelayMs(attempt, this.options.retryBaseMs));
    const state = delivered ? 'delivered' : abandoned ? 'abandoned' : 'pending';
    const health = delivered
      ? Prisma.sql`UPDATE webhook_endpoints SET failing_since = NULL WHERE id = ${endpoint.id} AND failing_since IS NOT NULL`
      : Prisma.sql`UPDATE webhook_endpoints
           SET failing_since = coalesce(failing_since, now()),
               disabled_at = CASE WHEN failing_since < now() - make_interval(secs => ${this.options.disableAfterMs / 1000})
                                  THEN now() ELSE disabled_at END
         WHERE id = ${endpoint.id}`;
    await this.prisma.$executeRaw`
      WITH delivery AS (
        UPDATE webhook_deliveries
           SET state = ${state}::webhook_delivery_state, attempts = ${attempt}, next_attempt_at = coalesce(${nextRetryAt}::timestamptz, next_attempt_at)
         WHERE id = ${delivery.id} AND state = 'pending' AND attempts = ${delivery.attempts}
         RETURNING id),
      health AS (${health})
      INSERT INTO webhook_attempts (endpoint_id, event_id, status_code, error, duration_ms, next_retry_at)
      SELECT ${endpoint.id}::integer, ${delivery.event_id}::bigint, ${result.statusCode}::integer, ${result.error}::text,
             ${result.durationMs}::integer, ${nextRetryAt}::timestamptz
        FROM delivery`;
    this.options.onDelivery?.(delivered ? 'delivered' : abandoned ? 'abandoned' : 'failed');
  }

  private visibleWhere(actor: Actor): Prisma.WebhookEndpointWhereInput {
    if (actor.role === 'admin') return { deletedAt: null };
    if (actor.role === 'restaurant') return { deletedAt: null, ownerRole: actor.role, ownerId: actor.id };
    throw new ForbiddenError('Only a restaurant or an admin has webhook endpoints');
  }

  /** A live endpoint the actor may manage; anything else does not exist for it (404). */
  private async visibleEndpoint(actor: Actor, id: number): Promise<WebhookEndpoint> {
    const where = this.visibleWhere(actor);
    const row = isDatabaseId(id) ? await this.prisma.webhookEndpoint.findFirst({ where: { ...where, id } }) : null;
    if (!row) throw new NotFoundError('WebhookEndpoint', id);
    return row;
  }
}

/** The delivery job, as graphile-worker runs it: the name, queue and key are the ones the fan-out trigger uses. */
export function webhookTasks(webhooks: Webhooks): TaskList {
  return {
    deliver_webhooks: async (payload, helpers) => {
      const endpointId = Number((payload as { endpointId: number }).endpointId);
      const { nextRunAt } = await webhooks.deliverDue(endpointId);
      if (nextRunAt === null) return;
      const key = `webhooks:${endpointId}`;
      // preserve_run_at: a job the fan-out trigger queued meanwhile (due now, for a new event) keeps its time.
      await helpers.addJob(
        'deliver_webhooks',
        { endpointId },
        { queueName: key, jobKey: key, jobKeyMode: 'preserve_run_at', runAt: nextRunAt },
      );
    },
  };
}
