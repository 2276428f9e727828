/**
 * Subscriptions through the graphql-sse client (issue 11, "also fix"), in both of its modes against /graphql:
 * distinct connections (one event stream per subscription, which yoga always served) and single connection (`PUT`
 * reserves a stream, `GET` opens it, `POST`s run operations on it, `DELETE` stops one), which answered 404. Both
 * modes authenticate and hide orders the same way, and a stream belongs to the actor who reserved it.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import { encodeGlobalID } from '@pothos/plugin-relay';
import { type Client, createClient, TOKEN_HEADER_KEY } from 'graphql-sse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../../src/domain/auth.ts';
import { QUERY_LIMIT_CODES, QUERY_LIMITS } from '../../src/graphql/yoga.ts';
import { deepQuery } from '../support/deep-queries.ts';
import { backend, DEMO, setUpTestService } from '../support/harness.ts';
import { orderIn } from '../support/orders.ts';

const service = setUpTestService({}, { resetEach: false });
let server: ServerType;
let url: string;
const clients: Client<boolean>[] = [];

beforeAll(async () => {
  await service.reset();
  server = serve({ fetch: service.app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise((resolve) => server.once('listening', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
});
afterAll(async () => {
  for (const client of clients) client.dispose();
  (server as Server | undefined)?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
});

const ORDER_UPDATED = 'subscription($id: ID!) { orderUpdated(orderId: $id) { status version } }';

/**
 * A graphql-sse client for `actor` (null: no token) in the given mode. `requests` records each request's method and
 * status; `operationStarted` resolves once the server has accepted an operation (the subscription is set up).
 */
function sseClient(actor: Actor | null, singleConnection: boolean) {
  const requests: string[] = [];
  let started: () => void = () => {};
  const operationStarted = new Promise<void>((resolve) => {
    started = resolve;
  });
  const client = createClient({
    url,
    singleConnection,
    retryAttempts: 0,
    headers: async (): Promise<Record<string, string>> => (actor ? { authorization: `Bearer ${await service.token(actor)}` } : {}),
    fetchFn: async (input: RequestInfo, init: RequestInit) => {
      const response = await fetch(input, init);
      requests.push(`${init.method} ${response.status}`);
      // A subscription is running once the server answered its POST (202 on a stream, 200 + event stream otherwise).
      if (init.method === 'POST' && response.ok) setTimeout(started, 300);
      return response;
    },
  } as never) as Client<boolean>;
  clients.push(client);
  return { client, requests, operationStarted };
}

/** The next result of `iterator`, or a failure after `ms`. */
async function nextWithin<T>(iterator: AsyncIterator<T>, ms = 10_000): Promise<IteratorResult<T>> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no result within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([iterator.next(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Raw requests to /graphql as `actor`, for what the client library never sends. */
async function raw(actor: Actor | null, method: string, options: { token?: string; query?: string; body?: unknown } = {}) {
  const headers: Record<string, string> = {};
  if (actor) headers.authorization = `Bearer ${await service.token(actor)}`;
  if (options.token) headers[TOKEN_HEADER_KEY] = options.token;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  const response = await fetch(`${url}${options.query ?? ''}`, { method, headers, body });
  return { status: response.status, text: await response.text() };
}

describe.each([
  ['single connection', true],
  ['distinct connections', false],
])(`graphql-sse client, %s mode (${backend})`, (_mode, singleConnection) => {
  it("delivers the customer's order updates", async () => {
    const order = await orderIn(service, 'pending_acceptance');
    const { client, requests, operationStarted } = sseClient(DEMO.customer1, singleConnection);
    const updates = client.iterate({ query: ORDER_UPDATED, variables: { id: encodeGlobalID('Order', order.id) } });
    const first = nextWithin(updates);
    await operationStarted;
    await service.container.orders.acceptOrder({ actor: DEMO.restaurant1, orderId: order.id, expectedVersion: order.version });
    expect((await first).value).toEqual({ data: { orderUpdated: { status: 'PREPARING', version: order.version + 1 } } });
    await updates.return?.();
    if (singleConnection) {
      // Reserved, opened, ran the operation, and stopped it when the iteration ended.
      await expect.poll(() => requests).toEqual(expect.arrayContaining(['PUT 201', 'GET 200', 'POST 202', 'DELETE 200']));
    } else {
      expect(requests).toEqual(['POST 200']);
    }
  });

  it("hides another customer's order as NOT_FOUND", async () => {
    const order = await orderIn(service, 'pending_acceptance');
    const { client } = sseClient(DEMO.customer2, singleConnection);
    const updates = client.iterate({ query: ORDER_UPDATED, variables: { id: String(order.id) } });
    const { value } = await nextWithin(updates);
    expect(value?.data ?? null).toBeNull();
    expect(value?.errors).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: 'NOT_FOUND' }) })]);
    await updates.return?.();
  });

  it('refuses a subscriber without a valid token as UNAUTHENTICATED', async () => {
    const order = await orderIn(service, 'pending_acceptance');
    const { client } = sseClient(null, singleConnection);
    const updates = client.iterate({ query: ORDER_UPDATED, variables: { id: String(order.id) } });
    if (singleConnection) {
      // No stream is reserved for nobody: the PUT itself is refused.
      await expect(nextWithin(updates)).rejects.toThrow(/401/);
      const refused = await raw(null, 'PUT');
      expect(refused.status).toBe(401);
      expect(JSON.parse(refused.text).errors[0].extensions.code).toBe('UNAUTHENTICATED');
    } else {
      const { value } = await nextWithin(updates);
      expect(value?.errors?.[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED' });
    }
  });
});

describe(`graphql-sse single connection streams (${backend})`, () => {
  it("belong to the actor who reserved them: another actor's token names no stream", async () => {
    const reserved = await raw(DEMO.customer1, 'PUT');
    expect(reserved.status).toBe(201);
    const token = reserved.text;
    const operation = { query: '{ viewer { role } }', extensions: { operationId: 'op-1' } };
    for (const actor of [DEMO.customer2, DEMO.restaurant1, DEMO.admin]) {
      expect((await raw(actor, 'POST', { token, body: operation })).status).toBe(404);
      expect((await raw(actor, 'DELETE', { token, query: '?operationId=op-1' })).status).toBe(404);
    }
    expect((await raw(DEMO.customer1, 'POST', { token: 'made-up', body: operation })).status).toBe(404);
    expect((await raw(DEMO.customer1, 'POST', { token: '__proto__', body: operation })).status).toBe(404);
    expect((await raw(DEMO.customer1, 'POST', { token, body: operation })).status).toBe(202);
  });

  it.each(['__proto__', 'constructor', 'toString'])('refuses %s as an operation id', async (operationId) => {
    const token = (await raw(DEMO.customer1, 'PUT')).text;
    const body = { query: '{ viewer { role } }', extensions: { operationId } };
    const posted = await raw(DEMO.customer1, 'POST', { token, body });
    expect(posted.status).toBe(400);
    expect(JSON.parse(posted.text).errors[0].message).toContain(operationId);
    const deleted = await raw(DEMO.customer1, 'DELETE', { token, query: `?operationId=${operationId}` });
    expect(deleted.status).toBe(400);
  });

  it('answers a document it cannot run with 400 and its errors, as yoga does', async () => {
    const token = (await raw(DEMO.customer1, 'PUT')).text;
    const cases = [
      ['{ viewer { ', 'GRAPHQL_PARSE_FAILED'],
      ['{ noSuchField }', 'GRAPHQL_VALIDATION_FAILED'],
      [deepQuery(QUERY_LIMITS.maxDepth + 1), QUERY_LIMIT_CODES.maxDepth],
    ];
    for (const [index, [query, code]] of cases.entries()) {
      const posted = await raw(DEMO.customer1, 'POST', { token, body: { query, extensions: { operationId: `bad-${index}` } } });
      expect(posted.status, query).toBe(400);
      expect(JSON.parse(posted.text).errors).toEqual([expect.objectContaining({ extensions: { code } })]);
    }
  });

  it('leaves ordinary GraphQL over HTTP on /graphql alone', async () => {
    const query = await raw(DEMO.customer1, 'POST', { body: { query: '{ viewer { role } }' } });
    expect(query).toEqual({ status: 200, text: '{"data":{"viewer":{"role":"CUSTOMER"}}}' });
    const get = await raw(DEMO.customer1, 'GET', { query: `?query=${encodeURIComponent('{ viewer { role } }')}` });
    expect(get.status).toBe(200);
  });
});
