/**
 * Orders over GraphQL (SPEC §3, §4), through yoga via app.request (no port): the happy path, every error union member
 * with its fields, replays, authentication, visibility of node(id:), filters, page-size limits, history and
 * availableActions.
 */
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type Actor, secretKey, signToken } from '../../src/domain/auth.ts';
import { backend, DEMO, graphql, MENU, setUpTestService } from '../support/harness.ts';
import { holdCharges, orderIn, placeOrder } from '../support/orders.ts';

const service = setUpTestService();
afterEach(() => vi.restoreAllMocks());

const ORDER_FIELDS = 'id databaseId status version totalAmount items { name quantity unitPrice lineTotal menuItem { databaseId } }';
const ERROR_FIELDS = `
  __typename
  ... on Error { message code }
  ... on VersionConflictError { currentVersion currentStatus }
  ... on InvalidTransitionError { currentStatus allowedActions }
  ... on ValidationError { fields { path message } }
`;

const CREATE = `mutation($input: CreateOrderInput!) {
  createOrder(input: $input) { ... on CreateOrderSuccess { __typename replayed order { ${ORDER_FIELDS} } } ${ERROR_FIELDS} }
}`;
const PAY = `mutation($id: ID!, $v: Int!, $input: PayOrderInput!) {
  payOrder(orderId: $id, expectedVersion: $v, input: $input) { ... on PayOrderSuccess { __typename replayed order { ${ORDER_FIELDS} } } ${ERROR_FIELDS} }
}`;
const ACCEPT = `mutation($id: ID!, $v: Int!) {
  acceptOrder(orderId: $id, expectedVersion: $v, input: {}) { ... on AcceptOrderSuccess { __typename replayed order { ${ORDER_FIELDS} } } ${ERROR_FIELDS} }
}`;
const CANCEL = `mutation($id: ID!, $v: Int!) {
  cancelOrder(orderId: $id, expectedVersion: $v, input: { reason: "no longer hungry" }) { ... on CancelOrderSuccess { __typename order { status } } ${ERROR_FIELDS} }
}`;
const ORDER = `query($id: ID!) { order(id: $id) { id status availableActions } }`;

/** The global id GraphQL uses for an order with this database id. */
const orderGid = (id: number) => Buffer.from(`Order:${id}`).toString('base64');

/** A POST /graphql with any Authorization header (or none). */
async function withAuthorization(authorization: string | null, query: string, variables: Record<string, unknown> = {}) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (authorization !== null) headers.authorization = authorization;
  const response = await service.app.request('/graphql', { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  return {
    status: response.status,
    body: (await response.json()) as { data?: any; errors?: { message: string; extensions?: { code?: string } }[] },
  };
}

describe(`GraphQL orders (${backend})`, () => {
  it('createOrder → payOrder → acceptOrder', async () => {
    const created = await graphql(service, DEMO.customer1, CREATE, {
      input: {
        idempotencyKey: randomUUID(),
        restaurantId: '1',
        items: [
          { menuItemId: String(MENU.r1[0]), quantity: 2 },
          { menuItemId: String(MENU.r1[2]), quantity: 1 },
        ],
        deliveryAddress: '1 Test Street',
      },
    });
    expect(created.errors).toBeUndefined();
    const order = created.data.createOrder.order;
    expect(created.data.createOrder).toMatchObject({ __typename: 'CreateOrderSuccess', replayed: false });
    expect(order).toMatchObject({ status: 'PENDING_PAYMENT', version: 1, totalAmount: 2 * 11_000 + 12_000 });
    expect(order.items).toEqual([
      { name: 'Bibimbap', quantity: 2, unitPrice: 11_000, lineTotal: 22_000, menuItem: { databaseId: MENU.r1[0] } },
      { name: 'Japchae', quantity: 1, unitPrice: 12_000, lineTotal: 12_000, menuItem: { databaseId: MENU.r1[2] } },
    ]);
    expect(order.id).not.toBe(String(order.databaseId)); // opaque global id

    const paid = await graphql(service, DEMO.customer1, PAY, {
      id: order.id,
      v: 1,
      input: { idempotencyKey: randomUUID(), paymentMethod: 'card', amount: order.totalAmount },
    });
    expect(paid.data.payOrder).toMatchObject({
      __typename: 'PayOrderSuccess',
      replayed: false,
      order: { status: 'PENDING_ACCEPTANCE', version: 2 },
    });

    const accepted = await graphql(service, DEMO.restaurant1, ACCEPT, { id: order.id, v: 2 });
    expect(accepted.data.acceptOrder).toMatchObject({
      __typename: 'AcceptOrderSuccess',
      replayed: false,
      order: { id: order.id, status: 'PREPARING', version: 3 },
    });
  });

  it('a bare database id works as orderId too', async () => {
    const order = await orderIn(service, 'pending_acceptance');
    const accepted = await graphql(service, DEMO.restaurant1, ACCEPT, { id: String(order.id), v: order.version });
    expect(accepted.data.acceptOrder).toMatchObject({ __typename: 'AcceptOrderSuccess', order: { id: orderGid(order.id) } });
  });

  it('VersionConflictError carries currentVersion and currentStatus', async () => {
    const order = await orderIn(service, 'pending_acceptance');
    const { data } = await graphql(service, DEMO.restaurant1, ACCEPT, { id: orderGid(order.id), v: 1 });
    expect(data.acceptOrder).toEqual({
      __typename: 'VersionConflictError',
      code: 'VERSION_CONFLICT',
      message: expect.any(String),
      currentVersion: 2,
      currentStatus: 'PENDING_ACCEPTANCE',
    });
  });

  it('InvalidTransitionError carries currentStatus and what the viewer may do instead', async () => {
    const order = await orderIn(service, 'pending_acceptance');
    const { data } = await graphql(service, DEMO.customer1, PAY, {
      id: orderGid(order.id),
      v: 2,
      input: { idempotencyKey: randomUUID(), paymentMethod: 'card', amount: order.totalAmount },
    });
    expect(data.payOrder).toEqual({
      __typename: 'InvalidTransitionError',
      code: 'INVALID_TRANSITION',
      message: expect.any(String),
      currentStatus: 'PENDING_ACCEPTANCE',
      allowedActions: ['CANCEL'],
    });
  });

  it('ValidationError carries fields { path message }', async () => {
    const order = await placeOrder(service);
    const wrongAmount = await graphql(service, DEMO.customer1, PAY, {
      id: orderGid(order.id),
      v: 1,
      input: { idempotencyKey: randomUUID(), paymentMethod: 'card', amount: 1 },
    });
    expect(wrongAmount.data.payOrder).toEqual({
      __typename: 'ValidationError',
      code: 'VALIDATION_FAILED',
      message: expect.any(String),
      fields: [{ path: ['amount'], message: expect.stringContaining(String(order.totalAmount)) }],
    });
    const badItems = await graphql(service, DEMO.customer1, CREATE, {
      input: {
        idempotencyKey: randomUUID(),
        restaurantId: '1',
        items: [
          { menuItemId: String(MENU.r2[0]), quantity: 1 },
          { menuItemId: String(MENU.r1[0]), quantity: 100 },
        ],
        deliveryAddress: 'x',
      },
    });
    expect(badItems.data.createOrder.__typename).toBe('ValidationError');
    expect(badItems.data.createOrder.fields.map((field: { path: string[] }) => field.path)).toEqual([['items', '1', 'quantity']]);
    const foreign = await graphql(service, DEMO.customer1, CREATE, {
      input: {
        idempotencyKey: randomUUID(),
        restaurantId: '1',
        items: [
          { menuItemId: String(MENU.r2[0]), quantity: 1 },
          { menuItemId: String(MENU.r1Unavailable), quantity: 1 },
        ],
        deliveryAddress: 'x',
      },
    });
    expect(foreign.data.createOrder.fields.map((field: { path: string[] }) => field.path)).toEqual([
      ['items', '0', 'menuItemId'],
      ['items', '1', 'menuItemId'],
    ]);
    const empty = await graphql(service, DEMO.customer1, CREATE, {
      input: { idempotencyKey: randomUUID(), restaurantId: '1', items: [], deliveryAddress: 'x' },
    });
    expect(empty.data.createOrder).toMatchObject({ __typename: 'ValidationError', fields: [{ path: ['items'] }] });
  });

  it("NotFoundError for another customer's order and for a garbage id; ForbiddenError for an action not the viewer's", async () => {
    const order = await orderIn(service, 'pending_acceptance');
    const stranger = await graphql(service, DEMO.customer2, CANCEL, { id: orderGid(order.id), v: order.version });
    expect(stranger.data.cancelOrder).toEqual({ __typename: 'NotFoundError', code: 'NOT_FOUND', message: expect.any(String) });
    for (const id of ['garbage', orderGid(987_654), Buffer.from('Restaurant:1').toString('base64'), '0', '99999999999999']) {
      const { data, errors } = await graphql(service, DEMO.customer1, CANCEL, { id, v: 1 });
      expect(errors, id).toBeUndefined();
      expect(data.cancelOrder.__typename, id).toBe('NotFoundError');
    }
    const restaurant = await graphql(service, DEMO.restaurant1, CANCEL, { id: orderGid(order.id), v: order.version });
    expect(restaurant.data.cancelOrder).toEqual({ __typename: 'ForbiddenError', code: 'FORBIDDEN', message: expect.any(String) });
  });

  it('a repeated payOrder replays (replayed: true); another request under the key is IdempotencyKeyReusedError', async () => {
    const order = await placeOrder(service);
    const input = { idempotencyKey: 'gql-key', paymentMethod: 'card', amount: order.totalAmount };
    const first = await graphql(service, DEMO.customer1, PAY, { id: orderGid(order.id), v: 1, input });
    const again = await graphql(service, DEMO.customer1, PAY, { id: orderGid(order.id), v: 1, input });
    expect(first.data.payOrder).toMatchObject({ __typename: 'PayOrderSuccess', replayed: false });
    expect(again.data.payOrder).toMatchObject({
      __typename: 'PayOrderSuccess',
      replayed: true,
      order: { status: 'PENDING_ACCEPTANCE', version: 2 },
    });
    const reused = await graphql(service, DEMO.customer1, PAY, {
      id: orderGid(order.id),
      v: 1,
      input: { ...input, paymentMethod: 'wallet' },
    });
    expect(reused.data.payOrder).toEqual({
      __typename: 'IdempotencyKeyReusedError',
      code: 'IDEMPOTENCY_KEY_REUSED',
      message: expect.any(String),
    });
    expect(await service.container.db.prisma.payment.count()).toBe(1);
  });

  it('IdempotencyKeyInProgressError while the first request with the key still runs', async () => {
    const order = await placeOrder(service);
    // The first request stops inside the gateway, holding its key, until the second has been answered.
    const { entered: inGateway, release } = holdCharges(service);
    const input = { idempotencyKey: 'gql-busy', paymentMethod: 'card', amount: order.totalAmount };
    const first = graphql(service, DEMO.customer1, PAY, { id: orderGid(order.id), v: 1, input });
    await inGateway;
    const second = await graphql(service, DEMO.customer1, PAY, { id: orderGid(order.id), v: 1, input }).finally(release);
    expect(second.data.payOrder).toEqual({
      __typename: 'IdempotencyKeyInProgressError',
      code: 'IDEMPOTENCY_KEY_IN_PROGRESS',
      message: expect.any(String),
    });
    expect((await first).data.payOrder).toMatchObject({ __typename: 'PayOrderSuccess', replayed: false });
  });

  describe('authentication', () => {
    const VIEWER = '{ viewer { role databaseId } }';
    const key = () => secretKey(service.config.jwtSecret);
    const base64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

    const refused: [string, () => Promise<string | null>][] = [
      ['no token', async () => null],
      ['an empty bearer', async () => 'Bearer '],
      ['a non-bearer scheme', async () => `Basic ${Buffer.from('a:b').toString('base64')}`],
      ['an expired token', async () => `Bearer ${await signToken(DEMO.customer1, key(), Math.floor(Date.now() / 1000) - 60)}`],
      ['a token signed with another secret', async () => `Bearer ${await signToken(DEMO.customer1, secretKey('x'.repeat(40)), '1h')}`],
      [
        'a token with a tampered payload',
        async () => {
          const [header, , signature] = (await signToken(DEMO.customer1, key(), '1h')).split('.');
          return `Bearer ${header}.${base64url({ sub: '1', role: 'admin', exp: Math.floor(Date.now() / 1000) + 3600 })}.${signature}`;
        },
      ],
      [
        'alg=none',
        async () =>
          `Bearer ${base64url({ alg: 'none', typ: 'JWT' })}.${base64url({ sub: '1', role: 'admin', exp: Math.floor(Date.now() / 1000) + 3600 })}.`,
      ],
      [
        'a token with no exp',
        async () => `Bearer ${await new SignJWT({ role: 'customer' }).setProtectedHeader({ alg: 'HS256' }).setSubject('1').sign(key())}`,
      ],
      [
        'a token with another alg (HS512)',
        async () =>
          `Bearer ${await new SignJWT({ role: 'customer' }).setProtectedHeader({ alg: 'HS512' }).setSubject('1').setExpirationTime('1h').sign(key())}`,
      ],
      ['a sub that is no customer', async () => `Bearer ${await signToken({ role: 'customer', id: 99 }, key(), '1h')}`],
      ['a sub that exists in another role only', async () => `Bearer ${await signToken({ role: 'admin', id: 2 }, key(), '1h')}`],
      [
        'an unknown role',
        async () =>
          `Bearer ${await new SignJWT({ role: 'root' }).setProtectedHeader({ alg: 'HS256' }).setSubject('1').setExpirationTime('1h').sign(key())}`,
      ],
    ];

    it.each(refused)('%s → UNAUTHENTICATED for queries and mutations', async (_name, authorization) => {
      const header = await authorization();
      const query = await withAuthorization(header, VIEWER);
      expect(query.status).toBe(200);
      expect(query.body.errors?.map((error) => error.extensions?.code)).toEqual(['UNAUTHENTICATED']);
      expect(query.body.data?.viewer ?? null).toBeNull();
      const mutation = await withAuthorization(header, CANCEL, { id: orderGid(1), v: 1 });
      expect(mutation.body.errors?.map((error) => error.extensions?.code)).toEqual(['UNAUTHENTICATED']);
    });

    it('a valid token is the viewer', async () => {
      const { body } = await withAuthorization(`Bearer ${await signToken(DEMO.rider2, key(), '1h')}`, VIEWER);
      expect(body).toEqual({ data: { viewer: { role: 'RIDER', databaseId: 2 } } });
    });
  });

  it('node(id:) and order(id:) are null for an order the viewer cannot see', async () => {
    const order = await placeOrder(service);
    const NODE = `query($id: ID!) { node(id: $id) { __typename id ... on Order { databaseId } } }`;
    const mine = await graphql(service, DEMO.customer1, NODE, { id: orderGid(order.id) });
    expect(mine.data.node).toEqual({ __typename: 'Order', id: orderGid(order.id), databaseId: order.id });
    for (const actor of [DEMO.customer2, DEMO.restaurant2, DEMO.rider1]) {
      const node = await graphql(service, actor, NODE, { id: orderGid(order.id) });
      expect(node.errors).toBeUndefined();
      expect(node.data.node).toBeNull();
      const direct = await graphql(service, actor, ORDER, { id: orderGid(order.id) });
      expect(direct.errors).toBeUndefined();
      expect(direct.data.order).toBeNull();
    }
    const admin = await graphql(service, DEMO.admin, NODE, { id: orderGid(order.id) });
    expect(admin.data.node).toMatchObject({ databaseId: order.id });
  });

  it('a forged or unknown id is null for node(id:) and nodes(ids:), never an internal error', async () => {
    const order = await placeOrder(service);
    const gid = (text: string) => Buffer.from(text).toString('base64');
    const forged = [
      gid('Order:abc'),
      gid('Order:99999999999'),
      gid('Order:-1'),
      gid('Order:1.5'),
      gid('Payment:x'),
      gid('Restaurant:abc'),
      gid('Restaurant:99'),
      gid('MenuItem:999'),
      gid('Rider:99'),
      gid('Customer:x'),
      gid('Nope:1'),
      gid('OrderItem:1'),
    ];
    for (const id of forged) {
      const { data, errors } = await graphql(service, DEMO.admin, 'query($id: ID!) { node(id: $id) { id } }', { id });
      expect(errors, Buffer.from(id, 'base64').toString()).toBeUndefined();
      expect(data.node, Buffer.from(id, 'base64').toString()).toBeNull();
    }
    const { data, errors } = await graphql(service, DEMO.admin, 'query($ids: [ID!]!) { nodes(ids: $ids) { id } }', {
      ids: [orderGid(order.id), ...forged, gid('Restaurant:1')],
    });
    expect(errors).toBeUndefined();
    expect(data.nodes).toEqual([{ id: orderGid(order.id) }, ...forged.map(() => null), { id: gid('Restaurant:1') }]);
    // Not a global id at all: a client error, not an internal one.
    const garbage = await graphql(service, DEMO.admin, '{ node(id: "garbage") { id } }');
    expect(garbage.errors?.map((error) => error.extensions?.code)).toEqual(['BAD_USER_INPUT']);
  });

  it('orders(status: [...]) filters, newest first', async () => {
    const a = await orderIn(service, 'pending_payment');
    const b = await orderIn(service, 'pending_acceptance');
    const c = await orderIn(service, 'preparing');
    const d = await orderIn(service, 'pending_payment', { customer: DEMO.customer2 });
    const LIST = `query($status: [OrderStatus!]) { orders(status: $status) { edges { node { databaseId status } } pageInfo { hasNextPage } } }`;
    const ids = async (actor: Actor, status?: string[]) => {
      const { data, errors } = await graphql(service, actor, LIST, status ? { status } : {});
      expect(errors).toBeUndefined();
      return data.orders.edges.map((edge: { node: { databaseId: number } }) => edge.node.databaseId);
    };
    expect(await ids(DEMO.customer1)).toEqual([c.id, b.id, a.id]);
    expect(await ids(DEMO.customer1, ['PENDING_PAYMENT'])).toEqual([a.id]);
    expect(await ids(DEMO.customer1, ['PENDING_PAYMENT', 'PREPARING'])).toEqual([c.id, a.id]);
    expect(await ids(DEMO.customer1, [])).toEqual([c.id, b.id, a.id]);
    expect(await ids(DEMO.admin, ['PENDING_PAYMENT'])).toEqual([d.id, a.id]);
    expect(await ids(DEMO.rider2)).toEqual([c.id]); // offered to every rider while unclaimed
    expect(await ids(DEMO.restaurant2)).toEqual([]);
  });

  it('orders(first:, after:) pages newest first', async () => {
    const created = [];
    for (let i = 0; i < 5; i++) created.push(await placeOrder(service));
    const PAGE = `query($first: Int, $after: String) { orders(first: $first, after: $after) { edges { node { databaseId } } pageInfo { hasNextPage endCursor } } }`;
    const seen: number[] = [];
    let after: string | null = null;
    for (;;) {
      const { data, errors }: { data?: any; errors?: unknown[] } = await graphql(service, DEMO.customer1, PAGE, { first: 2, after });
      expect(errors).toBeUndefined();
      seen.push(...data.orders.edges.map((edge: { node: { databaseId: number } }) => edge.node.databaseId));
      if (!data.orders.pageInfo.hasNextPage) break;
      after = data.orders.pageInfo.endCursor;
    }
    expect(seen).toEqual(created.map((order) => order.id).reverse());
  });

  it.each([0, 101, -1])('orders(first: %i) is a GraphQL error, not a crash', async (first) => {
    await placeOrder(service);
    for (const query of [
      `{ orders(first: ${first}) { edges { node { id } } } }`,
      `{ restaurant(id: "1") { orders(first: ${first}) { edges { node { id } } } } }`,
      `{ restaurants(first: ${first}) { edges { node { id } } } }`,
    ]) {
      const { status, body } = await withAuthorization(`Bearer ${await service.token(DEMO.admin)}`, query);
      expect(status, query).toBe(200);
      expect(body.errors?.length, query).toBe(1);
      expect(body.errors![0]!.message, query).toMatch(/first/);
      expect(body.errors![0]!.extensions?.code, query).toBe('BAD_USER_INPUT');
    }
    const ok = await graphql(service, DEMO.admin, '{ orders(first: 100) { edges { node { id } } } }');
    expect(ok.errors).toBeUndefined();
  });

  it('a cursor this API did not issue is a GraphQL error, not a crash', async () => {
    await placeOrder(service);
    for (const after of ['garbage', Buffer.from('GPC:not-json').toString('base64')]) {
      const { errors } = await graphql(service, DEMO.admin, 'query($after: String) { orders(after: $after) { edges { node { id } } } }', {
        after,
      });
      expect(
        errors?.map((error) => error.extensions?.code),
        after,
      ).toEqual(['BAD_USER_INPUT']);
    }
  });

  it('history is oldest first, the creation entry with action and fromStatus null', async () => {
    const order = await orderIn(service, 'ready_for_pickup', { withRider: true });
    const { data } = await graphql(
      service,
      DEMO.customer1,
      `query($id: ID!) { order(id: $id) { version createdAt updatedAt history { version action fromStatus toStatus actor { role databaseId } reason at } } }`,
      { id: orderGid(order.id) },
    );
    const { history } = data.order;
    expect(history.map((event: { version: number }) => event.version)).toEqual([1, 2, 3, 4, 5]);
    expect(data.order.version).toBe(history.length);
    expect(
      history.map(({ action, fromStatus, toStatus, actor }: Record<string, unknown>) => ({ action, fromStatus, toStatus, actor })),
    ).toEqual([
      { action: null, fromStatus: null, toStatus: 'PENDING_PAYMENT', actor: { role: 'CUSTOMER', databaseId: 1 } },
      { action: 'PAY', fromStatus: 'PENDING_PAYMENT', toStatus: 'PENDING_ACCEPTANCE', actor: { role: 'CUSTOMER', databaseId: 1 } },
      { action: 'ACCEPT', fromStatus: 'PENDING_ACCEPTANCE', toStatus: 'PREPARING', actor: { role: 'RESTAURANT', databaseId: 1 } },
      {
        action: 'COMPLETE_PREPARATION',
        fromStatus: 'PREPARING',
        toStatus: 'READY_FOR_PICKUP',
        actor: { role: 'RESTAURANT', databaseId: 1 },
      },
      { action: 'ASSIGN_RIDER', fromStatus: 'READY_FOR_PICKUP', toStatus: 'READY_FOR_PICKUP', actor: { role: 'RIDER', databaseId: 1 } },
    ]);
    const iso = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
    for (const event of history) expect(event.at).toMatch(iso);
    expect(data.order.createdAt).toMatch(iso);
    expect(data.order.updatedAt).toMatch(iso);
    const ats = history.map((event: { at: string }) => event.at);
    expect([...ats].sort()).toEqual(ats);
  });

  it('availableActions depends on the viewer', async () => {
    const pending = await orderIn(service, 'pending_acceptance');
    const preparing = await orderIn(service, 'preparing');
    const expected: [Actor, string[] | null, string[] | null][] = [
      [DEMO.customer1, ['CANCEL'], []],
      [DEMO.restaurant1, ['ACCEPT', 'REJECT'], ['COMPLETE_PREPARATION']],
      [DEMO.rider1, null, ['ASSIGN_RIDER']],
      [DEMO.customer2, null, null],
      [DEMO.admin, ['CANCEL', 'ACCEPT', 'REJECT'], ['COMPLETE_PREPARATION', 'ASSIGN_RIDER']],
    ];
    for (const [actor, onPending, onPreparing] of expected) {
      for (const [order, actions] of [
        [pending, onPending],
        [preparing, onPreparing],
      ] as const) {
        const { data } = await graphql(service, actor, ORDER, { id: orderGid(order.id) });
        expect(data.order?.availableActions ?? null, `${actor.role} ${actor.id} on ${order.status}`).toEqual(actions);
      }
    }
  });
});

describe('hostile strings in GraphQL input', () => {
  it.each([
    ['deliveryAddress', { deliveryAddress: 'Main St\u0000; DROP TABLE orders' }],
    ['idempotencyKey', { idempotencyKey: 'key\u0000' }],
  ])('refuses a NUL character in %s with a ValidationError, never a 500', async (field, override) => {
    const body = await graphql(
      service,
      DEMO.customer1,
      `mutation($input: CreateOrderInput!) { createOrder(input: $input) { __typename ... on ValidationError { fields { path message } } } }`,
      {
        input: { idempotencyKey: 'k-nul', restaurantId: '1', items: [{ menuItemId: '1', quantity: 1 }], deliveryAddress: 'x', ...override },
      },
    );
    expect(body.errors).toBeUndefined();
    expect(body.data.createOrder.__typename).toBe('ValidationError');
    expect(body.data.createOrder.fields[0].path).toEqual([field]);
    expect(await service.container.db.prisma.order.count()).toBe(0);
  });
});
