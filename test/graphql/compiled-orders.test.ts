/**
 * The compiled order list (src/graphql/compiled-orders.ts) against the resolvers: every document here is answered
 * both ways — by graphql-js executing the Pothos resolvers alone, and by the one compiled statement — for every demo
 * actor, and the two responses must be equal. Then over HTTP: the compiled path is the one taken (one SQL statement)
 * and documents outside its reach still answer through the resolvers.
 */
import { execute, parse } from 'graphql';
import { beforeEach, describe, expect, it } from 'vitest';
import { W1_QUERY } from '../../bench/workloads.ts';
import type { Actor } from '../../src/domain/auth.ts';
import { compileOrdersQuery } from '../../src/graphql/compiled-orders.ts';
import { schema } from '../../src/graphql/schema.ts';
import { contextFactory } from '../../src/graphql/yoga.ts';
import { backend, DEMO, graphql, setUpTestService } from '../support/harness.ts';
import { orderIn } from '../support/orders.ts';
import { countStatements } from '../support/sql-counter.ts';

const service = setUpTestService();

/** Orders in most statuses, of both customers and restaurants, some with a rider. */
async function seedOrders() {
  const plan = [
    ['pending_payment', DEMO.customer1, 1],
    ['pending_acceptance', DEMO.customer2, 1],
    ['preparing', DEMO.customer1, 2],
    ['preparing', DEMO.customer2, 1, true],
    ['ready_for_pickup', DEMO.customer1, 1],
    ['ready_for_pickup', DEMO.customer2, 2, true],
    ['in_transit', DEMO.customer1, 2],
    ['delivered', DEMO.customer2, 1],
    ['cancelled', DEMO.customer1, 1],
    ['rejected', DEMO.customer2, 2],
    ['payment_failed', DEMO.customer1, 2],
    ['pending_acceptance', DEMO.customer1, 2],
  ] as const;
  for (const [status, customer, restaurantId, withRider] of plan) {
    await orderIn(service, status, { customer, restaurantId, withRider: withRider ?? false });
  }
}

const ACTORS: Actor[] = Object.values(DEMO);

/** The response of the resolvers alone (no compiled path: graphql-js over the schema). */
async function throughResolvers(actor: Actor, query: string, variables: Record<string, unknown> = {}) {
  const { container } = service;
  const context = contextFactory({
    prisma: container.db.prisma,
    orders: container.orders,
    webhooks: container.webhooks,
    pubsub: container.pubsub,
  })({ actor, authError: null, requestId: 'test' });
  const result = await execute({ schema, document: parse(query), contextValue: context, variableValues: variables });
  expect(result.errors).toBeUndefined();
  return JSON.parse(JSON.stringify(result.data));
}

/** The response of the compiled statement; fails the test when the document does not compile. */
async function throughCompiled(actor: Actor, query: string, variables: Record<string, unknown> = {}) {
  const compiled = compileOrdersQuery(schema, parse(query), undefined, variables, actor);
  expect(compiled, 'the document compiles').not.toBeNull();
  const { db } = service.container;
  return JSON.parse(JSON.stringify(compiled!.data(await Promise.all(compiled!.statements.map((sql) => db.readRows(sql))))));
}

async function expectSame(actor: Actor, query: string, variables: Record<string, unknown> = {}) {
  const compiled = await throughCompiled(actor, query, variables);
  expect(compiled, `${actor.role} ${actor.id}`).toEqual(await throughResolvers(actor, query, variables));
  return compiled;
}

const EVERYTHING = `
  fragment Party on Node { id ... on Restaurant { databaseId name address } }
  query Everything($first: Int, $status: [OrderStatus!]) {
    __typename
    list: orders(first: $first, status: $status) {
      __typename
      pageInfo { __typename hasNextPage hasPreviousPage startCursor endCursor }
      edges {
        __typename cursor
        node {
          __typename id databaseId status version totalAmount deliveryAddress createdAt updatedAt
          ... on Order { total: totalAmount }
          restaurant { ...Party __typename }
          rider { __typename id databaseId name }
          customer { __typename id databaseId name }
          items { __typename name quantity unitPrice lineTotal menuItem { id databaseId name price available restaurant { name } } }
        }
      }
    }
  }`;

const PAGE = `query Page($after: String, $status: [OrderStatus!]) {
  orders(first: 2, after: $after, status: $status) {
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { databaseId status } }
  }
}`;

describe(`the compiled order list answers as the resolvers do (${backend})`, () => {
  beforeEach(seedOrders);

  it('for every actor: every compiled field, aliases, fragments, __typename, page info, statuses', async () => {
    for (const actor of ACTORS) {
      await expectSame(actor, W1_QUERY);
      await expectSame(actor, EVERYTHING);
      await expectSame(actor, EVERYTHING, { first: 3 });
      await expectSame(actor, EVERYTHING, { first: 100, status: ['PREPARING', 'READY_FOR_PICKUP'] });
      await expectSame(actor, EVERYTHING, { status: [] });
      await expectSame(actor, '{ a: orders(first: 1) { edges { node { id } } } b: orders(status: [DELIVERED]) { edges { cursor } } }');
    }
  });

  it('pages with after: each page, through to the end, for every actor', async () => {
    for (const actor of ACTORS) {
      for (const status of [null, ['PREPARING', 'READY_FOR_PICKUP', 'IN_TRANSIT']]) {
        let after: string | null = null;
        let pages = 0;
        for (;;) {
          const page = await expectSame(actor, PAGE, { after, status });
          pages++;
          if (!page.orders.pageInfo.hasNextPage) break;
          after = page.orders.pageInfo.endCursor;
          expect(pages).toBeLessThan(20);
        }
      }
    }
    // The cursor of a row another actor cannot see, or past the last row: the same (empty or continuing) page.
    const all = await throughResolvers(DEMO.admin, PAGE);
    await expectSame(DEMO.customer1, PAGE, { after: all.orders.edges[1].cursor });
  });

  it('is the path HTTP requests take: one SQL statement, the same document', async () => {
    await graphql(service, DEMO.admin, '{ viewer { databaseId } }');
    const { result, statements } = await countStatements(service.container.db, () =>
      graphql(service, DEMO.admin, EVERYTHING, { first: 100 }),
    );
    expect(result).toEqual({ data: await throughResolvers(DEMO.admin, EVERYTHING, { first: 100 }) });
    expect(statements).toHaveLength(1);
  });

  it('leaves everything else to the resolvers, which still answer it', async () => {
    const outside = [
      '{ orders { edges { node { availableActions } } } }',
      '{ orders { edges { node { history { version } } } } }',
      '{ orders { edges { node { rider { currentLocation { lat } } } } } }',
      'query($on: Boolean!) { orders { edges { node { id @include(if: $on) } } } }',
      '{ orders(last: 2) { edges { node { id } } } }',
      '{ orders { edges { node { id } } } viewer { role } }',
      'mutation { __typename }',
    ];
    for (const query of outside) {
      expect(compileOrdersQuery(schema, parse(query), undefined, { on: true }, DEMO.admin), query).toBeNull();
    }
    const { result, statements } = await countStatements(service.container.db, () =>
      graphql(service, DEMO.restaurant1, '{ orders { edges { node { databaseId availableActions } } } }'),
    );
    expect(result.data.orders.edges.length).toBeGreaterThan(0);
    expect(statements.length).toBeGreaterThanOrEqual(1);
    // Arguments the resolvers refuse are refused the same way (not compiled): first out of range, a forged cursor.
    const tooMany = await graphql(service, DEMO.admin, '{ orders(first: 101) { edges { cursor } } }');
    expect(tooMany.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const forged = await graphql(service, DEMO.admin, '{ orders(after: "bm9wZQ==") { edges { cursor } } }');
    expect(forged.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const anonymous = await graphql(service, null, '{ orders { edges { cursor } } }');
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});
