/**
 * Bodies over the limit (issue 11, item 3): a 413 must not break the keep-alive connection it was sent on. The
 * response said `Connection: keep-alive` while the server destroyed the socket soon after, so the client's next
 * request on it failed with "socket hang up". Only a listening server shows this (Node's HTTP server and
 * @hono/node-server decide the socket's fate), so these requests go through one keep-alive http.Agent to a port.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_BODY_BYTES } from '../../src/http/body-limit.ts';
import { backend, DEMO, setUpTestService } from '../support/harness.ts';

const service = setUpTestService({}, { resetEach: false });
let server: ServerType;
let port: number;
let authorization: string;
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

beforeAll(async () => {
  authorization = `Bearer ${await service.token(DEMO.customer1)}`;
  server = serve({ fetch: service.app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise((resolve) => server.once('listening', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  agent.destroy();
  await new Promise((resolve) => server?.close(resolve));
});

type Sent = { status: number; connection: string | undefined; body: string; reusedSocket: boolean };

/** One request through the shared agent; `body` is sent with Content-Length, or chunked when `chunked`. */
function send(method: string, path: string, options: { body?: Buffer; chunked?: boolean; auth?: boolean } = {}): Promise<Sent> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { 'content-type': 'application/json', 'idempotency-key': 'large' };
    if (options.auth !== false) headers.authorization = authorization;
    if (options.body && !options.chunked) headers['content-length'] = options.body.length;
    const request = http.request({ host: '127.0.0.1', port, path, method, agent, headers }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => {
        body += chunk;
      });
      response.on('end', () =>
        resolve({ status: response.statusCode!, connection: response.headers.connection, body, reusedSocket: request.reusedSocket }),
      );
    });
    request.on('error', reject);
    request.end(options.body);
  });
}

/** A JSON body of exactly `bytes` bytes. */
const jsonOf = (bytes: number) => Buffer.from(JSON.stringify({ padding: 'x'.repeat(bytes - 14) }));

describe(`413 on a keep-alive connection (${backend})`, () => {
  it.each([
    ['/graphql', MAX_BODY_BYTES + 56, false],
    ['/graphql', 300_000, false],
    ['/graphql', 300_000, true],
    ['/api/v2/orders', MAX_BODY_BYTES + 56, false],
    ['/api/v2/orders', 300_000, false],
    ['/api/v2/orders', 300_000, true],
    ['/api/v2/orders/1/cancellation', 300_000, false],
    ['/api/v1/orders', 300_000, false],
  ])('POST %s with %i bytes (chunked: %s): 413 says Connection: close, and the next request succeeds', async (path, bytes, chunked) => {
    expect(jsonOf(bytes).length).toBe(bytes);
    const refused = await send('POST', path, { body: jsonOf(bytes), chunked });
    const next = await send('GET', '/api/v2/restaurants');
    expect(refused.status).toBe(413);
    expect(refused.connection).toBe('close');
    expect(JSON.parse(refused.body)).toMatchObject(
      path === '/graphql' ? { errors: [{ extensions: { code: 'PAYLOAD_TOO_LARGE' } }] } : { code: 'PAYLOAD_TOO_LARGE' },
    );
    expect(next.status).toBe(200);
    expect(JSON.parse(next.body).results.length).toBeGreaterThan(0);
    // The agent opened a fresh connection for it; that one stays open for the request after.
    expect((await send('GET', '/healthz')).reusedSocket).toBe(true);
  });

  it('a 401 or 400 on a large body (under the limit) keeps the connection, as before', async () => {
    await send('GET', '/healthz');
    const unauthenticated = await send('POST', '/api/v2/orders', { body: jsonOf(300_000), auth: false });
    expect(unauthenticated.status).toBe(401);
    expect((await send('GET', '/healthz')).reusedSocket).toBe(true);
    const invalid = await send('POST', '/api/v2/orders', { body: jsonOf(200_000) });
    expect(invalid.status).toBe(400);
    expect(invalid.connection).toBe('keep-alive');
    const next = await send('GET', '/api/v2/restaurants');
    expect(next).toMatchObject({ status: 200, reusedSocket: true });
  });
});
