/**
 * Unexpected errors are masked for clients (STYLE §6): "Unexpected error." with code INTERNAL_SERVER_ERROR, nothing of
 * the original message or stack. Domain errors stay data, and deliberate GraphQL errors keep their message.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { backend, DEMO, graphql, setUpTestService } from '../support/harness.ts';
import { orderIn, placeOrder } from '../support/orders.ts';

const service = setUpTestService();
afterEach(() => vi.restoreAllMocks());

const SECRET = 'secret detail: password=hunter2 at /srv/app/db.ts';

/** Everything the client received, as one string, to search for leaks. */
const wire = (body: unknown) => JSON.stringify(body);

function expectMasked(body: { data?: unknown; errors?: { message: string; extensions?: { code?: string } }[] }) {
  expect(body.errors).toHaveLength(1);
  expect(body.errors![0]).toMatchObject({ message: 'Unexpected error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } });
  const text = wire(body);
  expect(text).not.toContain('secret detail');
  expect(text).not.toContain('hunter2');
  expect(text).not.toMatch(/\bat .*\.(ts|js):\d+/); // no stack frames
  expect(text).not.toContain('stack');
  expect(text).not.toContain('originalError');
}

describe(`masking unexpected errors (${backend})`, () => {
  it('a service method that throws an Error is masked in a mutation', async () => {
    const order = await orderIn(service, 'pending_acceptance');
    vi.spyOn(service.container.orders, 'acceptOrder').mockRejectedValue(new Error(SECRET));
    const logged = vi.spyOn(service.container.logger, 'error');
    const body = await graphql(
      service,
      DEMO.restaurant1,
      `mutation($id: ID!, $v: Int!) { acceptOrder(orderId: $id, expectedVersion: $v, input: {}) { __typename ... on Error { message } } }`,
      { id: String(order.id), v: order.version },
    );
    expectMasked(body);
    expect(body.data ?? null).toBeNull();
    // The operator still gets the detail.
    expect(logged).toHaveBeenCalledWith(expect.objectContaining({ err: expect.objectContaining({ message: SECRET }) }), expect.any(String));
  });

  it('a thrown non-Error value and an error with a GraphQL-looking shape are masked too', async () => {
    const order = await placeOrder(service);
    const pay = `mutation($id: ID!) { payOrder(orderId: $id, expectedVersion: 1, input: { idempotencyKey: "k", paymentMethod: "card", amount: 22000 }) { __typename } }`;
    vi.spyOn(service.container.orders, 'payOrder').mockRejectedValue(SECRET);
    expectMasked(await graphql(service, DEMO.customer1, pay, { id: String(order.id) }));
    // An error that merely carries a `code` like a domain error must not pass as one.
    vi.spyOn(service.container.orders, 'payOrder').mockRejectedValue(
      Object.assign(new Error(SECRET), { code: 'NOT_FOUND', extensions: { code: 'NOT_FOUND' } }),
    );
    expectMasked(await graphql(service, DEMO.customer1, pay, { id: String(order.id) }));
  });

  it('a database failure in a query is masked', async () => {
    await placeOrder(service);
    const prisma = service.container.db.prisma;
    vi.spyOn(prisma.order, 'findMany').mockRejectedValue(new Error(`${SECRET}: relation "orders" does not exist`));
    // availableActions is resolved by the resolvers (the compiled list does not cover it), which read through Prisma.
    const body = await graphql(service, DEMO.customer1, '{ orders { edges { node { id availableActions } } } }');
    expectMasked(body);
  });

  it('a database failure in the compiled order list is masked', async () => {
    await placeOrder(service);
    const prisma = service.container.db.prisma;
    // A real failure of the one statement: the items table is missing while the list runs.
    await prisma.$executeRawUnsafe('ALTER TABLE order_items RENAME TO order_items_gone');
    try {
      const body = await graphql(service, DEMO.customer1, '{ orders { edges { node { id items { name } } } } }');
      expectMasked(body);
      expect(wire(body)).not.toContain('order_items');
    } finally {
      await prisma.$executeRawUnsafe('ALTER TABLE order_items_gone RENAME TO order_items');
    }
  });

  it('domain errors stay data and are not masked', async () => {
    const order = await placeOrder(service);
    const { data, errors } = await graphql(
      service,
      DEMO.customer2,
      `mutation($id: ID!) { cancelOrder(orderId: $id, expectedVersion: 1, input: {}) { __typename ... on Error { code message } } }`,
      { id: String(order.id) },
    );
    expect(errors).toBeUndefined();
    expect(data.cancelOrder).toMatchObject({ __typename: 'NotFoundError', code: 'NOT_FOUND' });
  });
});
