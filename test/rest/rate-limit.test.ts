/** Per-actor rate limiting on /api (SPEC §7): 429 with Retry-After, in each version's own error format. */
import { describe, expect, it } from 'vitest';
import { backend, DEMO, graphql, setUpTestService } from '../support/harness.ts';
import { rest } from '../support/rest-client.ts';

// 6 per minute is a budget of one request per 10 s window.
const service = setUpTestService({ RATE_LIMIT_PER_MINUTE: '6' }, { resetEach: false });

describe(`REST rate limiting (${backend})`, () => {
  it('refuses an actor over its budget with 429 and Retry-After; other actors are unaffected', async () => {
    expect((await rest(service, null, 'GET', '/api/v2/orders')).status).toBe(401);
    expect((await rest(service, DEMO.customer1, 'GET', '/api/v2/orders')).status).toBe(200);
    const limited = await rest(service, DEMO.customer1, 'GET', '/api/v2/orders');
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(limited.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(limited.body).toMatchObject({ status: 429, code: 'RATE_LIMITED' });

    expect((await rest(service, DEMO.customer2, 'GET', '/api/v1/orders')).status).toBe(200);
    const legacy = await rest(service, DEMO.customer2, 'GET', '/api/v2/orders');
    expect(legacy.status).toBe(429);
    const legacyV1 = await rest(service, DEMO.customer2, 'GET', '/api/v1/orders');
    expect(legacyV1.status).toBe(429);
    expect(legacyV1.body).toMatchObject({ error: expect.any(String), code: 'RATE_LIMITED' });
    expect(legacyV1.headers.get('retry-after')).not.toBeNull();
    expect(legacyV1.headers.get('deprecation')).not.toBeNull();
  });

  it('draws GraphQL and REST from one budget per actor', async () => {
    expect((await graphql(service, DEMO.restaurant1, '{ viewer { role } }')).data).toEqual({ viewer: { role: 'RESTAURANT' } });
    expect((await rest(service, DEMO.restaurant1, 'GET', '/api/v2/orders')).status).toBe(429);
    const response = await service.app.request('/graphql', {
      method: 'POST',
      headers: { authorization: `Bearer ${await service.token(DEMO.rider1)}`, 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ viewer { role } }' }),
    });
    expect(response.status).toBe(200);
    expect((await rest(service, DEMO.rider1, 'GET', '/api/v1/orders')).status).toBe(429);
  });
});
