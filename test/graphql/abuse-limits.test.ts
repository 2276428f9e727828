import { describe, expect, it } from 'vitest';
import { QUERY_LIMIT_CODES, QUERY_LIMITS } from '../../src/graphql/yoga.ts';
import { deepQuery, deepQueryInFragments } from '../support/deep-queries.ts';
import { backend, DEMO, graphql, setUpTestService } from '../support/harness.ts';

const service = setUpTestService({}, { resetEach: false });

describe(`GraphQL abuse limits (${backend})`, () => {
  it('answers the ordinary order list', async () => {
    const body = await graphql(
      service,
      DEMO.admin,
      '{ orders(first: 50) { edges { node { status restaurant { name menu { name } } rider { name currentLocation { lat } } items { name menuItem { name } } history { version actor { role } } payment { status } } } } }',
    );
    expect(body.errors).toBeUndefined();
  });

  it('refuses a query deeper than the limit with a GraphQL error', async () => {
    const body = await graphql(service, DEMO.admin, deepQuery(QUERY_LIMITS.maxDepth + 1));
    expect(body.data).toBeUndefined();
    expect(body.errors?.[0]?.message).toMatch(/depth/i);
  });

  it('counts depth in fields only: fragments, spread or inline, add no level and hide none (issue 11)', async () => {
    for (const query of [deepQuery(QUERY_LIMITS.maxDepth), deepQueryInFragments(QUERY_LIMITS.maxDepth)]) {
      const body = await graphql(service, DEMO.admin, query);
      expect(body.errors, query).toBeUndefined();
      expect(body.data.orders.edges).toEqual([]);
    }
    for (const query of [deepQuery(QUERY_LIMITS.maxDepth + 1), deepQueryInFragments(QUERY_LIMITS.maxDepth + 1)]) {
      const body = await graphql(service, DEMO.admin, query);
      expect(body.data, query).toBeUndefined();
      expect(body.errors).toEqual([
        {
          message: `Query depth limit of ${QUERY_LIMITS.maxDepth} exceeded, found ${QUERY_LIMITS.maxDepth + 1}.`,
          extensions: { code: QUERY_LIMIT_CODES.maxDepth },
        },
      ]);
    }
  });

  it('refuses too many aliases', async () => {
    const aliases = Array.from({ length: QUERY_LIMITS.maxAliases + 5 }, (_, i) => `a${i}: viewer { role }`).join(' ');
    const body = await graphql(service, DEMO.admin, `{ ${aliases} }`);
    expect(body.errors?.[0]?.message).toMatch(/alias/i);
  });

  it('refuses a query whose cost is too high', async () => {
    const fields = Array.from(
      { length: 15 },
      (_, i) =>
        `o${i}: orders(first: 100) { edges { node { items { name menuItem { name } } history { version actor { role } } restaurant { menu { name } } } } }`,
    );
    const body = await graphql(service, DEMO.admin, `{ ${fields.join(' ')} }`);
    expect(body.data).toBeUndefined();
    expect(body.errors?.[0]?.message).toMatch(/cost/i);
  });

  it('refuses an enormous document without crashing, and stays ready', async () => {
    const body = await graphql(service, DEMO.admin, `{ ${'viewer { role } '.repeat(2_000)} }`);
    expect(body.errors?.length).toBeGreaterThan(0);
    expect((await service.app.request('/readyz')).status).toBe(200);
  });
});
