import { afterAll, describe, expect, it } from 'vitest';
import { secretKey, signToken } from '../../src/domain/auth.ts';
import { backend, createScratchDatabase } from '../support/harness.ts';
import { type ServerProcess, startServerProcess } from '../support/server-process.ts';

const JWT_SECRET = 'shutdown-test-secret-of-at-least-32-chars';
const LIST = '{ orders(first: 100) { edges { node { status items { name } restaurant { name menu { name } } history { version } } } } }';

describe(`graceful shutdown (${backend})`, () => {
  let server: ServerProcess | undefined;
  let drop: (() => Promise<void>) | undefined;
  afterAll(async () => {
    server?.kill('SIGKILL');
    await drop?.();
  });

  it('on SIGTERM turns /readyz 503 at once, finishes in-flight requests, then exits 0', { timeout: 120_000 }, async () => {
    const scratch = backend === 'postgres' ? await createScratchDatabase() : null;
    drop = scratch?.drop;
    server = await startServerProcess({
      JWT_SECRET,
      SHUTDOWN_DRAIN_DELAY_MS: '4000',
      // Generous: on a busy CI machine 60 requests on the embedded database can take a while.
      SHUTDOWN_TIMEOUT_MS: '60000',
      RATE_LIMIT_PER_MINUTE: '0',
      DATABASE_URL: scratch?.url,
      REDIS_URL: process.env.TEST_REDIS_URL,
      EMBEDDED_DATA_DIR: 'memory://',
    });
    const token = await signToken({ role: 'admin', id: 1 }, secretKey(JWT_SECRET));
    const request = () =>
      fetch(`${server!.url}/graphql`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ query: LIST }),
      }).then(async (response) => ({ status: response.status, body: (await response.json()) as { data?: unknown }, at: Date.now() }));

    // Many requests at once, and the signal as soon as the first is answered: the rest are still being served.
    const inFlight = Array.from({ length: 60 }, request);
    await Promise.race(inFlight);
    const signalledAt = Date.now();
    server.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 200));
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(503);

    const results = await Promise.all(inFlight);
    expect(results.map((result) => result.status)).toEqual(results.map(() => 200));
    expect(results.every((result) => result.body.data)).toBe(true);
    expect(await server.exited).toBe(0);
    // The test proves something only if some requests were still running when the signal came.
    expect(results.some((result) => result.at > signalledAt)).toBe(true);
  });
});
