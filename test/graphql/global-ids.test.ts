/**
 * Plain database ids (issue 11, "also fix"): fields and arguments that name their type take a global id or a plain
 * database id; node(id:) and nodes(ids:) take global ids only, since a bare number names no type. The README once
 * said plain ids were accepted everywhere, while node(id: "19") answered BAD_USER_INPUT.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { encodeGlobalID } from '@pothos/plugin-relay';
import { beforeAll, describe, expect, it } from 'vitest';
import { backend, DEMO, graphql, setUpTestService } from '../support/harness.ts';
import { orderIn } from '../support/orders.ts';

const service = setUpTestService({}, { resetEach: false });
let orderId: number;
beforeAll(async () => {
  await service.reset();
  orderId = (await orderIn(service, 'pending_acceptance')).id;
});

describe(`global ids and plain database ids (${backend})`, () => {
  it('order(id:), restaurant(id:) and rider(id:) take either', async () => {
    const query = `query($order: ID!, $restaurant: ID!, $rider: ID!) {
      order(id: $order) { databaseId } restaurant(id: $restaurant) { databaseId } rider(id: $rider) { databaseId }
    }`;
    const expected = { order: { databaseId: orderId }, restaurant: { databaseId: 1 }, rider: { databaseId: 1 } };
    const plain = await graphql(service, DEMO.admin, query, { order: String(orderId), restaurant: '1', rider: '1' });
    expect(plain).toEqual({ data: expected });
    const global = await graphql(service, DEMO.admin, query, {
      order: encodeGlobalID('Order', orderId),
      restaurant: encodeGlobalID('Restaurant', 1),
      rider: encodeGlobalID('Rider', 1),
    });
    expect(global).toEqual({ data: expected });
  });

  it('an action takes the order as a plain id too', async () => {
    const body = await graphql(
      service,
      DEMO.restaurant1,
      `mutation($id: ID!) { acceptOrder(orderId: $id, expectedVersion: 2, input: {}) { __typename ... on AcceptOrderSuccess { order { id } } } }`,
      { id: String(orderId) },
    );
    expect(body.data.acceptOrder).toEqual({ __typename: 'AcceptOrderSuccess', order: { id: encodeGlobalID('Order', orderId) } });
  });

  it('node(id:) takes the global id, and refuses a plain one as BAD_USER_INPUT', async () => {
    const byGlobalId = await graphql(service, DEMO.admin, 'query($id: ID!) { node(id: $id) { ... on Order { databaseId } } }', {
      id: encodeGlobalID('Order', orderId),
    });
    expect(byGlobalId).toEqual({ data: { node: { databaseId: orderId } } });
    const byPlainId = await graphql(service, DEMO.admin, 'query($id: ID!) { node(id: $id) { id } }', { id: String(orderId) });
    expect(byPlainId.data?.node ?? null).toBeNull();
    expect(byPlainId.errors).toEqual([
      expect.objectContaining({ message: expect.stringMatching(/global ID/i), extensions: { code: 'BAD_USER_INPUT' } }),
    ]);
  });

  it('the schema and the README say so', async () => {
    const introspection = await graphql(service, DEMO.admin, '{ __type(name: "Query") { fields { name args { name description } } } }');
    const fields = introspection.data.__type.fields as { name: string; args: { name: string; description: string | null }[] }[];
    for (const name of ['node', 'nodes']) {
      expect(fields.find((field) => field.name === name)?.args[0]?.description).toMatch(/global ids only.*database id names no type/i);
    }
    const readme = await readFile(path.join(import.meta.dirname, '../../README.md'), 'utf8');
    expect(readme).not.toMatch(/a plain database id is accepted too\.\s*$/m);
    expect(readme.replace(/\s+/g, ' ')).toContain('`node(id:)` and `nodes(ids:)` take global ids only');
  });
});
