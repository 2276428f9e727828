/**
 * The soak's HTTP side: one keep-alive agent capped at the configured number of sockets, and typed REST and
 * GraphQL calls that record a verdict for every response. GraphQL answers 200 with errors as data, so each
 * result union member is mapped to the status its REST twin would have (VersionConflictError → 412, …): one
 * classification for both transports.
 */
import http from 'node:http';
import type { Actor } from '../../src/domain/auth.ts';
import type { Recorder, Verdict } from './stats.ts';

/** Statuses a call expects; anything else is `unexpected` (or `serverError` when ≥ 500). */
export type Expect = readonly number[];

/** Given an answer with an expected status: why it is still wrong, or undefined when it is right. */
export type Check<R> = (reply: R) => string | undefined;

export type RestReply = { status: number; headers: http.IncomingHttpHeaders; json: any; etag: string | undefined; replayed: boolean };

export type GraphQLReply = { status: number; result: any };

type RawReply = { status: number; headers: http.IncomingHttpHeaders; text: string; ms: number };

const REQUEST_TIMEOUT_MS = 30_000;
const BODY_SHOWN = 1_500;

/** GraphQL error types (SPEC §4) and the REST status each stands for. */
const ERROR_TYPE_STATUS: Record<string, number> = {
  VersionConflictError: 412,
  InvalidTransitionError: 409,
  ForbiddenError: 403,
  NotFoundError: 404,
  ValidationError: 400,
  IdempotencyKeyReusedError: 422,
  IdempotencyKeyInProgressError: 409,
};

function judge(status: number, expect: Expect): Verdict {
  if (status >= 500) return 'serverError';
  if (!expect.includes(status)) return 'unexpected';
  return status >= 400 ? 'expected4xx' : 'ok';
}

/** The status a GraphQL answer stands for; top-level errors are the server's fault unless they say otherwise. */
function graphqlStatus(raw: RawReply, body: any, field: string): number {
  if (raw.status !== 200) return raw.status;
  const errors: { extensions?: { code?: string } }[] | undefined = body?.errors;
  if (errors?.length) {
    const code = errors[0]?.extensions?.code;
    if (code === 'UNAUTHENTICATED') return 401;
    if (code === undefined || code === 'INTERNAL_SERVER_ERROR') return 500;
    return 400;
  }
  const value = body?.data?.[field];
  if (value === null || value === undefined) return 404;
  const typename: string | undefined = value.__typename;
  return typename !== undefined && typename in ERROR_TYPE_STATUS ? ERROR_TYPE_STATUS[typename]! : 200;
}

const parseJson = (text: string): any => {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
};

const actorName = (actor: Actor) => `${actor.role} ${actor.id}`;

/** Sends REST and GraphQL requests as the demo actors over at most `connections` keep-alive sockets. */
export class Api {
  private readonly agent: http.Agent;
  private readonly target: URL;

  constructor(
    baseUrl: string,
    connections: number,
    private readonly tokens: ReadonlyMap<string, string>,
    private readonly recorder: Recorder,
  ) {
    this.target = new URL(baseUrl);
    this.agent = new http.Agent({ keepAlive: true, maxSockets: connections, maxFreeSockets: connections });
  }

  /** One REST call; null when no HTTP answer came back (recorded as a network error). */
  async rest(call: {
    op: string;
    actor: Actor;
    method: 'GET' | 'POST';
    path: string;
    headers?: Record<string, string>;
    body?: unknown;
    expect: Expect;
    check?: Check<RestReply>;
  }): Promise<RestReply | null> {
    const body = call.body === undefined ? undefined : JSON.stringify(call.body);
    const headers = { ...call.headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) };
    const raw = await this.exchange(call.op, call.actor, call.method, call.path, headers, body);
    if (!raw) return null;
    const etag = raw.headers.etag;
    const reply: RestReply = {
      status: raw.status,
      headers: raw.headers,
      json: parseJson(raw.text),
      etag: typeof etag === 'string' ? etag : undefined,
      replayed: raw.headers['idempotent-replayed'] === 'true',
    };
    const wrong = call.expect.includes(reply.status) ? call.check?.(reply) : undefined;
    this.finish(call.op, call.actor, call.method, call.path, body, raw, reply.status, call.expect, wrong);
    return reply;
  }

  /**
   * One GraphQL operation whose interesting value is `data[field]`: its `__typename` (when selected) decides the
   * status, and a null value counts as 404 (an order the actor may not see).
   */
  async graphql(call: {
    op: string;
    actor: Actor;
    query: string;
    variables: Record<string, unknown>;
    field: string;
    expect: Expect;
    check?: Check<GraphQLReply>;
  }): Promise<GraphQLReply | null> {
    const body = JSON.stringify({ query: call.query, variables: call.variables });
    const raw = await this.exchange(call.op, call.actor, 'POST', '/graphql', { 'content-type': 'application/json' }, body);
    if (!raw) return null;
    const parsed = parseJson(raw.text);
    const reply: GraphQLReply = { status: graphqlStatus(raw, parsed, call.field), result: parsed?.data?.[call.field] };
    const wrong = call.expect.includes(reply.status) ? call.check?.(reply) : undefined;
    this.finish(call.op, call.actor, 'POST', '/graphql', body, raw, reply.status, call.expect, wrong);
    return reply;
  }

  close(): void {
    this.agent.destroy();
  }

  private async exchange(
    op: string,
    actor: Actor,
    method: string,
    path: string,
    headers: Record<string, string>,
    body: string | undefined,
  ): Promise<RawReply | null> {
    const token = this.tokens.get(`${actor.role}:${actor.id}`);
    const allHeaders = {
      ...headers,
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) }),
    };
    try {
      return await this.send(method, path, allHeaders, body);
    } catch (error) {
      this.recorder.record(op, 'network', null, 'networkError', {
        reason: (error as Error).message,
        detail: `${method} ${path} as ${actorName(actor)}\nrequest: ${(body ?? '').slice(0, BODY_SHOWN)}`,
      });
      return null;
    }
  }

  private finish(
    op: string,
    actor: Actor,
    method: string,
    path: string,
    body: string | undefined,
    raw: RawReply,
    status: number,
    expect: Expect,
    wrong: string | undefined,
  ): void {
    let verdict = judge(status, expect);
    if (wrong !== undefined && (verdict === 'ok' || verdict === 'expected4xx')) verdict = 'unexpected';
    const reason = wrong ?? (verdict === 'serverError' || verdict === 'unexpected' ? `status ${status}, expected ${expect.join('/')}` : '');
    this.recorder.record(op, status, raw.ms, verdict, {
      reason,
      detail: [
        `${method} ${path} as ${actorName(actor)} (x-request-id ${raw.headers['x-request-id'] ?? '-'}), HTTP ${raw.status}`,
        `request: ${(body ?? '').slice(0, BODY_SHOWN)}`,
        `response: ${raw.text.slice(0, BODY_SHOWN)}`,
      ].join('\n'),
    });
  }

  private send(method: string, path: string, headers: Record<string, string>, body: string | undefined): Promise<RawReply> {
    return new Promise((resolve, reject) => {
      const started = performance.now();
      const request = http.request(
        { host: this.target.hostname, port: this.target.port, method, path, headers, agent: this.agent, timeout: REQUEST_TIMEOUT_MS },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('error', reject);
          response.on('end', () =>
            resolve({
              status: response.statusCode ?? 0,
              headers: response.headers,
              text: Buffer.concat(chunks).toString('utf8'),
              ms: performance.now() - started,
            }),
          );
        },
      );
      request.on('timeout', () => request.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)));
      request.on('error', reject);
      request.end(body);
    });
  }
}
