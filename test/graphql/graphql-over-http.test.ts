/**
 * GraphQL over HTTP (issue 11, item 2). graphql-http's server audits run against /graphql, and every abuse limit's
 * refusal is answered like any other invalid document: under `Accept: application/graphql-response+json` a response
 * without `data` has a 4xx status (the spec's MUST), with a stable `extensions.code` per limit and a message naming
 * the limit. graphql-armor's own refusals were 200s with no code, their messages starting "Syntax Error:".
 */
import { auditServer } from 'graphql-http';
import { beforeAll, describe, expect, it } from 'vitest';
import { QUERY_LIMIT_CODES, QUERY_LIMITS } from '../../src/graphql/yoga.ts';
import { deepQuery } from '../support/deep-queries.ts';
import { backend, DEMO, setUpTestService } from '../support/harness.ts';

const service = setUpTestService({}, { resetEach: false });
let authorization: string;
beforeAll(async () => {
  authorization = `Bearer ${await service.token(DEMO.admin)}`;
});

/** One document per limit, each over that limit only. */
const OVER_THE_LIMIT: Record<keyof typeof QUERY_LIMITS, string> = {
  maxDepth: deepQuery(QUERY_LIMITS.maxDepth + 1),
  maxCost: `{ ${Array.from(
    { length: 15 },
    (_, i) =>
      `o${i}: orders(first: 100) { edges { node { items { name menuItem { name } } history { version } restaurant { menu { name } } } } }`,
  ).join(' ')} }`,
  maxAliases: `{ ${Array.from({ length: QUERY_LIMITS.maxAliases + 1 }, (_, i) => `a${i}: viewer { role }`).join(' ')} }`,
  maxDirectives: `query ($yes: Boolean = true) { viewer { ${'role @include(if: $yes) '.repeat(QUERY_LIMITS.maxDirectives + 1)}} }`,
  maxTokens: `{ ${'__typename '.repeat(QUERY_LIMITS.maxTokens)} }`,
};

const LIMIT_NAMES: Record<keyof typeof QUERY_LIMITS, RegExp> = {
  maxDepth: /depth limit of 10/i,
  maxCost: /cost limit of 20000/i,
  maxAliases: /aliases limit of 20/i,
  maxDirectives: /directives limit of 20/i,
  maxTokens: /token limit of 3000/i,
};

async function post(query: string, accept: string) {
  const response = await service.app.request('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept, authorization },
    body: JSON.stringify({ query }),
  });
  return { status: response.status, contentType: response.headers.get('content-type'), body: (await response.json()) as any };
}

describe(`GraphQL over HTTP (${backend})`, () => {
  it('passes every graphql-http server audit', async () => {
    const results = await auditServer({
      url: 'http://localhost/graphql',
      fetchFn: (input: RequestInfo, init?: RequestInit) => service.app.request(input, init),
    });
    expect(results.length).toBeGreaterThanOrEqual(61);
    expect(results.filter((result) => result.status !== 'ok').map((result) => `${result.id} ${result.name}: ${result.reason}`)).toEqual([]);
  });

  it('the documents just within the limits run', async () => {
    const within = [
      deepQuery(QUERY_LIMITS.maxDepth),
      `{ ${Array.from({ length: QUERY_LIMITS.maxAliases }, (_, i) => `a${i}: viewer { role }`).join(' ')} }`,
    ];
    for (const query of within) {
      const { status, body } = await post(query, 'application/graphql-response+json');
      expect(body.errors, query).toBeUndefined();
      expect(status).toBe(200);
    }
  });

  it.each(Object.keys(OVER_THE_LIMIT) as (keyof typeof QUERY_LIMITS)[])(
    'refuses a document over %s with 400 and its own code under application/graphql-response+json',
    async (limit) => {
      const { status, contentType, body } = await post(OVER_THE_LIMIT[limit], 'application/graphql-response+json');
      expect(status).toBe(400);
      expect(contentType).toMatch(/^application\/graphql-response\+json/);
      expect(body).not.toHaveProperty('data');
      expect(body.errors).toHaveLength(1);
      expect(body.errors[0].extensions.code).toBe(QUERY_LIMIT_CODES[limit]);
      expect(body.errors[0].message).toMatch(LIMIT_NAMES[limit]);
      expect(body.errors[0].message).not.toMatch(/syntax error/i);
    },
  );

  it('under application/json, answers the refusals 200 like any other invalid document (the legacy watershed)', async () => {
    const invalid = await post('{ noSuchField }', 'application/json');
    expect(invalid.status).toBe(200);
    for (const [limit, query] of Object.entries(OVER_THE_LIMIT)) {
      const { status, body } = await post(query, 'application/json');
      expect(status, limit).toBe(invalid.status);
      expect(body).not.toHaveProperty('data');
      expect(body.errors[0].extensions.code).toBe(QUERY_LIMIT_CODES[limit as keyof typeof QUERY_LIMITS]);
    }
  });
});
