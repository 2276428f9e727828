import { describe, expect, it } from 'vitest';
import { backend, DEMO, graphql, setUpTestService } from '../support/harness.ts';

const introspection = '{ __schema { queryType { name } } }';

describe(`security defaults (${backend})`, () => {
  const service = setUpTestService({}, { resetEach: false });

  it('sends secure headers', async () => {
    const response = await service.app.request('/healthz');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(response.headers.get('content-security-policy')).toContain("default-src 'self'");
  });

  it('keeps CORS closed unless origins are configured', async () => {
    const response = await service.app.request('/graphql', {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('serves GraphiQL and introspection outside production', async () => {
    const page = await service.app.request('/graphql', { headers: { accept: 'text/html' } });
    expect(await page.text()).toContain('graphiql-assets/graphiql.js');
    expect((await graphql(service, DEMO.customer1, introspection)).data).toEqual({ __schema: { queryType: { name: 'Query' } } });
  });
});

describe('production defaults', () => {
  const service = setUpTestService(
    { NODE_ENV: 'production', JWT_SECRET: 'a-production-secret-of-32-characters!!', CORS_ORIGINS: 'https://app.quickeats.example' },
    { resetEach: false },
  );

  it('turns GraphiQL and introspection off', async () => {
    const page = await service.app.request('/graphql', { headers: { accept: 'text/html' } });
    expect(await page.text()).not.toContain('graphiql');
    const body = await graphql(service, DEMO.customer1, introspection);
    expect(body.data ?? undefined).toBeUndefined();
    expect(body.errors?.[0]?.message).toMatch(/introspection/i);
  });

  it('allows the configured origin only', async () => {
    const preflight = (origin: string) =>
      service.app.request('/graphql', { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST' } });
    expect((await preflight('https://app.quickeats.example')).headers.get('access-control-allow-origin')).toBe(
      'https://app.quickeats.example',
    );
    expect((await preflight('https://evil.example')).headers.get('access-control-allow-origin')).toBeNull();
  });
});
