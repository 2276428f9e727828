/**
 * GraphiQL opens with customer 1's demo token in its headers outside production, so the first click runs a query;
 * in production it offers only a placeholder.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backend, startTestService, type TestService } from '../support/harness.ts';

const services: TestService[] = [];
afterAll(() => Promise.all(services.map((service) => service.close())));

/** The Authorization header GraphiQL's page puts in its headers editor. */
async function graphiqlAuthorization(service: TestService): Promise<string | undefined> {
  const response = await service.app.request('/graphql', { headers: { accept: 'text/html' } });
  expect(response.status).toBe(200);
  const page = await response.text();
  expect(page).toContain('GraphiQL');
  const headers = page.match(/defaultHeaders: ("(?:[^"\\]|\\.)*")/)?.[1];
  return headers && JSON.parse(JSON.parse(headers)).Authorization;
}

describe(`GraphiQL's demo token (${backend})`, () => {
  let development: TestService;
  let production: TestService;
  beforeAll(async () => {
    [development, production] = await Promise.all([
      startTestService({ NODE_ENV: 'development' }),
      startTestService({ NODE_ENV: 'production', JWT_SECRET: 'production-test-secret-of-at-least-32-chars', GRAPHIQL_ENABLED: 'true' }),
    ]);
    services.push(development, production);
  });

  it("in development, the headers hold a working token of customer 1's", async () => {
    const authorization = await graphiqlAuthorization(development);
    expect(authorization).toMatch(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
    const response = await development.app.request('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: authorization! },
      body: JSON.stringify({ query: '{ viewer { role databaseId } }' }),
    });
    expect(await response.json()).toEqual({ data: { viewer: { role: 'CUSTOMER', databaseId: 1 } } });
  });

  it('in production, only a placeholder', async () => {
    expect(await graphiqlAuthorization(production)).toBe('Bearer <paste a token printed at start-up>');
  });
});
