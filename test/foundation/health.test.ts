import { describe, expect, it } from 'vitest';
import { backend, setUpTestService } from '../support/harness.ts';

describe(`health and readiness (${backend})`, () => {
  const service = setUpTestService({}, { resetEach: false });

  it('is alive and ready when the database and Redis answer', async () => {
    expect((await service.app.request('/healthz')).status).toBe(200);
    const ready = await service.app.request('/readyz');
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', database: 'ok', redis: 'ok' });
  });

  it('carries a request id on every response', async () => {
    const response = await service.app.request('/healthz');
    expect(response.headers.get('x-request-id')).toMatch(/.+/);
  });
});

describe('readiness without Redis', () => {
  // Nothing listens on port 1: the service must start, stay alive, and say it is not ready.
  const service = setUpTestService({ REDIS_URL: 'redis://127.0.0.1:1' }, { resetEach: false });

  it('answers 503 from /readyz and 200 from /healthz', async () => {
    expect((await service.app.request('/healthz')).status).toBe(200);
    const ready = await service.app.request('/readyz');
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ status: 'not ready', database: 'ok' });
  });
});
