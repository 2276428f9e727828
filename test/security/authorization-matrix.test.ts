/**
 * Authorization matrix over the transports (SPEC §1, §3, §5, §6): through no REST route and no GraphQL field does an
 * actor see, or change, an order that is not visible to it.
 *
 * - Coverage is derived, not trusted: the REST routes come from the served OpenAPI document (and from the routes the
 *   app actually serves), the GraphQL fields from the built schema (every field whose type can carry an Order:
 *   Order itself, Node, connections, edges, result unions). Each must be classified in REST_ROUTES / GRAPHQL_FIELDS,
 *   and every classified one is exercised below; a new route or field that is not classified fails "coverage".
 * - Six fixture orders spread over both customers, restaurants and riders; VISIBLE (written from SPEC §3) says who
 *   sees which, and an oracle written from the same paragraph judges every other order a list returns.
 * - For every route/field × every demo actor × every fixture: a visible order comes back with its data (the positive
 *   control); any other is 404 (v2 problem+json, v1 `{"error"}`) / null / NotFoundError, as if it did not exist, and
 *   carries none of the order's data. Lists, connections, side-loads and subscriptions only ever hold visible orders
 *   (each returned id is checked against the stored row). Actions on an invisible order are refused that way and
 *   leave status, version and rider as they were, while the same request from the rightful actor and from an admin
 *   succeeds. Without a valid token, every one of them is 401 / UNAUTHENTICATED.
 * Which visible orders an actor may act on (403 vs success) is test/domain/authorization.test.ts; not repeated here.
 */
import { randomUUID } from 'node:crypto';
import { type GraphQLNamedType, getNamedType, isInterfaceType, isObjectType, isUnionType, type GraphQLField as SchemaField } from 'graphql';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../../src/domain/auth.ts';
import type { OrderWithItems } from '../../src/domain/orders/order.queries.ts';
import type { OrderActionName, OrderStatusName } from '../../src/domain/orders/order-state-machine.ts';
import { schema } from '../../src/graphql/schema.ts';
import { backend, DEMO, setUpTestService } from '../support/harness.ts';
import { orderIn } from '../support/orders.ts';
import { createBody, etag, type RestOptions, type RestResponse, rest, storedOrder } from '../support/rest-client.ts';

const service = setUpTestService({}, { resetEach: false });

type Role = keyof typeof DEMO;
const ROLES = Object.keys(DEMO) as Role[];
/** Every actor but the admin has orders it must not see. */
const OUTSIDERS = ROLES.filter((role) => role !== 'admin');
/** Who sends a request: a demo actor, nobody (no Authorization header), or a token that is not one. */
type Caller = Role | null | 'garbage';

// ─── Fixtures and who sees them ─────────────────────────────────────────────────────────────────────────────────────

type FixtureName = 'a' | 'b' | 'c' | 'd' | 'e' | 'f';
type FixtureSpec = { customer: Role; restaurantId: 1 | 2; status: OrderStatusName; riderId: 1 | 2 | null };

/** Each customer, restaurant and rider is the owner of some of these and a stranger to the others. */
const FIXTURES: Record<FixtureName, FixtureSpec> = {
  a: { customer: 'customer1', restaurantId: 1, status: 'pending_payment', riderId: null },
  b: { customer: 'customer2', restaurantId: 2, status: 'preparing', riderId: null }, // claimable: offered to every rider
  c: { customer: 'customer1', restaurantId: 2, status: 'ready_for_pickup', riderId: 1 },
  d: { customer: 'customer2', restaurantId: 1, status: 'in_transit', riderId: 1 },
  e: { customer: 'customer1', restaurantId: 1, status: 'ready_for_pickup', riderId: 2 },
  f: { customer: 'customer2', restaurantId: 2, status: 'delivered', riderId: 2 },
};
const FIXTURE_NAMES = Object.keys(FIXTURES) as FixtureName[];

/** SPEC §3, by hand: a customer its orders, a restaurant the orders placed at it, a rider its own and the claimable. */
const VISIBLE: Record<Role, FixtureName[]> = {
  customer1: ['a', 'c', 'e'],
  customer2: ['b', 'd', 'f'],
  restaurant1: ['a', 'd', 'e'],
  restaurant2: ['b', 'c', 'f'],
  rider1: ['b', 'c', 'd'],
  rider2: ['b', 'e', 'f'],
  admin: FIXTURE_NAMES,
};
const invisibleTo = (role: Role) => FIXTURE_NAMES.filter((name) => !VISIBLE[role].includes(name));

const CLAIMABLE: readonly string[] = ['preparing', 'ready_for_pickup'];

type Parties = { customerId: number; restaurantId: number; riderId: number | null; status: string };

/** SPEC §3 again, as a rule (written here, not imported from src/), to judge orders the fixtures do not name. */
function specSees(actor: Actor, order: Parties): boolean {
  switch (actor.role) {
    case 'admin':
      return true;
    case 'customer':
      return order.customerId === actor.id;
    case 'restaurant':
      return order.restaurantId === actor.id;
    case 'rider':
      return order.riderId === actor.id || (order.riderId === null && CLAIMABLE.includes(order.status));
  }
}

const fx = {} as Record<FixtureName, OrderWithItems>;

/** An order as FIXTURES describes it; orderIn claims for rider 1 only, so rider 2's orders are driven on here. */
async function orderLike(spec: FixtureSpec): Promise<OrderWithItems> {
  const options = { customer: DEMO[spec.customer], restaurantId: spec.restaurantId };
  if (spec.riderId !== 2) return orderIn(service, spec.status, { ...options, withRider: spec.riderId === 1 });
  const orders = service.container.orders;
  const asRider2 = (order: OrderWithItems) => ({ actor: DEMO.rider2, orderId: order.id, expectedVersion: order.version });
  let order = await orderIn(service, spec.status === 'preparing' ? 'preparing' : 'ready_for_pickup', options);
  order = (await orders.assignRider(asRider2(order))).order;
  if (spec.status === 'in_transit' || spec.status === 'delivered') order = (await orders.pickUpOrder(asRider2(order))).order;
  if (spec.status === 'delivered') order = (await orders.deliverOrder(asRider2(order))).order;
  return order;
}

beforeAll(async () => {
  for (const name of FIXTURE_NAMES) fx[name] = await orderLike(FIXTURES[name]);
});

/** An action refused (or a probe without credentials) must leave the stored order exactly as it was. */
async function expectUnchanged(order: OrderWithItems, because: string) {
  expect(await storedOrder(service, order.id), because).toEqual({ status: order.status, version: order.version, riderId: order.riderId });
}

/** Every returned order id belongs to an order the actor may see, judged on the stored row; returns the rows. */
async function expectAllVisible(actor: Actor, ids: number[], because: string) {
  expect(new Set(ids).size, `${because}: duplicates`).toBe(ids.length);
  const rows = await service.container.db.prisma.order.findMany({ where: { id: { in: ids } } });
  expect(rows.length, `${because}: unknown ids`).toBe(ids.length);
  const foreign = rows.filter((row) => !specSees(actor, row)).map((row) => row.id);
  expect(foreign, `${because}: orders not visible to ${actor.role} ${actor.id}`).toEqual([]);
  return rows;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `check` holds or `ms` pass; returns whether it held. */
async function eventually(check: () => boolean, ms = 5_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!check() && Date.now() < deadline) await sleep(20);
  return check();
}

/** What each action needs for the positive control: a fresh order of customer 1 at restaurant 1 in `from`. */
const ACTIONS: Record<OrderActionName, { from: OrderStatusName; to: OrderStatusName; owner: Role; withRider?: boolean }> = {
  pay: { from: 'pending_payment', to: 'pending_acceptance', owner: 'customer1' },
  cancel: { from: 'pending_acceptance', to: 'cancelled', owner: 'customer1' },
  accept: { from: 'pending_acceptance', to: 'preparing', owner: 'restaurant1' },
  reject: { from: 'pending_acceptance', to: 'rejected', owner: 'restaurant1' },
  complete_preparation: { from: 'preparing', to: 'ready_for_pickup', owner: 'restaurant1' },
  assign_rider: { from: 'preparing', to: 'preparing', owner: 'rider2' },
  pick_up: { from: 'ready_for_pickup', to: 'in_transit', owner: 'rider1', withRider: true },
  deliver: { from: 'in_transit', to: 'delivered', owner: 'rider1' },
};

/** The rider an order has after `action` run by `actor` (an admin assigning names rider 2 below). */
const riderAfter = (action: OrderActionName, actor: Actor, order: OrderWithItems) =>
  action === 'assign_rider' ? (actor.role === 'admin' ? 2 : actor.id) : order.riderId;

/**
 * How an action on an order the actor cannot see is refused: as if the order did not exist, except a rider's claim on
 * a preparing/ready order another rider holds, which SPEC §1 makes an illegal transition (never 403/404), and which,
 * like every action, meets a stale version first (SPEC §5 precedence). Neither carries the order.
 */
function refusalOf(action: OrderActionName, actor: Actor, order: OrderWithItems, staleVersion: boolean) {
  if (action === 'assign_rider' && actor.role === 'rider' && CLAIMABLE.includes(order.status)) {
    return staleVersion ? { status: 412, code: 'VERSION_CONFLICT' } : { status: 409, code: 'INVALID_TRANSITION' };
  }
  return { status: 404, code: 'NOT_FOUND' };
}

// ─── REST ───────────────────────────────────────────────────────────────────────────────────────────────────────────

/** One way of reading an order: its query and headers, and what a visible order must come back as. */
type ReadVariant = {
  label: string;
  query?: string;
  headers?: (order: OrderWithItems) => Record<string, string>;
  /** `include` side-loads asked for: the response must hold exactly the related rows. */
  included?: boolean;
  notModified?: boolean;
};
type ListVariant = { label: string; query: string; statuses?: OrderStatusName[]; included?: boolean };
type Attempt = { label: string; action: OrderActionName; staleVersion: boolean; options: RestOptions };

type RestRoute =
  | { kind: 'read'; variants: ReadVariant[] }
  | { kind: 'list'; rows: (body: any) => any[]; variants: ListVariant[] }
  | { kind: 'create' }
  /** `attempts`: the requests tried on each invisible order; `positive`: the action the rightful actor runs. */
  | { kind: 'action'; attempts: (order: OrderWithItems, actor: Actor) => Attempt[]; positive: OrderActionName }
  | { kind: 'no-orders'; why: string }
  /** The event feed (SPEC §9): each event carries its order, so its orders must be exactly the visible ones. */
  | { kind: 'feed' };

const PLAIN_READ: ReadVariant = { label: 'plain' };

const LIST_VARIANTS: ListVariant[] = [
  { label: 'limit=100', query: 'limit=100' },
  { label: 'pages of 2', query: 'limit=2' },
  {
    label: 'status filter',
    query: 'limit=100&status=preparing,ready_for_pickup,in_transit',
    statuses: ['preparing', 'ready_for_pickup', 'in_transit'],
  },
];

/** The v2 body each action takes; an admin names the rider it assigns, a rider claims for itself. */
function v2Body(action: OrderActionName, order: OrderWithItems, actor: Actor): unknown {
  switch (action) {
    case 'pay':
      return { payment_method: 'card', amount: order.totalAmount };
    case 'cancel':
    case 'reject':
      return { reason: 'authorization matrix' };
    case 'assign_rider':
      return actor.role === 'admin' ? { rider_id: 2 } : {};
    default:
      return {};
  }
}

/** A v2 action route, tried with the current ETag, a stale one and `*` (a stale tag must not turn 404 into 412). */
const v2Action = (action: OrderActionName): RestRoute => ({
  kind: 'action',
  positive: action,
  attempts: (order, actor) =>
    [
      { label: 'If-Match: current', tag: etag(order.id, order.version), staleVersion: false },
      { label: 'If-Match: stale', tag: etag(order.id, order.version + 7), staleVersion: true },
      { label: 'If-Match: *', tag: '*', staleVersion: false },
    ].map(({ label, tag, staleVersion }) => ({
      label,
      action,
      staleVersion,
      options: { json: v2Body(action, order, actor), headers: { 'if-match': tag, 'idempotency-key': randomUUID() } },
    })),
});

/** v1 `PUT`/`PATCH {"status"}`: every target, the current status included (an unchanged 200 would leak the order). */
const V1_TARGETS: Record<string, OrderActionName> = {
  cancelled: 'cancel',
  preparing: 'accept',
  rejected: 'reject',
  ready_for_pickup: 'complete_preparation',
  in_transit: 'pick_up',
  delivered: 'deliver',
};
const v1StatusChange = (positive: OrderActionName): RestRoute => ({
  kind: 'action',
  positive,
  attempts: () =>
    Object.entries(V1_TARGETS).map(([status, action]) => ({
      label: `status ${status}`,
      action,
      staleVersion: false,
      options: { json: { status } },
    })),
});

/**
 * Every route under /api (paths as the OpenAPI document spells them, relative to its server `/api`). The coverage test
 * fails for a served or documented route missing here, and for a `no-orders` route whose response schema holds orders.
 */
const REST_ROUTES: Record<string, RestRoute> = {
  'GET /v1/orders': { kind: 'list', rows: (body) => body.orders, variants: LIST_VARIANTS },
  'POST /v1/orders': { kind: 'create' },
  'GET /v1/orders/{id}': { kind: 'read', variants: [PLAIN_READ] },
  'PUT /v1/orders/{id}': v1StatusChange('accept'),
  'PATCH /v1/orders/{id}': v1StatusChange('cancel'),
  'POST /v1/orders/{id}/pay': {
    kind: 'action',
    positive: 'pay',
    attempts: (order) =>
      ([{ 'idempotency-key': randomUUID() }, {}] as Record<string, string>[]).map((headers) => ({
        label: 'idempotency-key' in headers ? 'with Idempotency-Key' : 'without Idempotency-Key',
        action: 'pay' as const,
        staleVersion: false,
        options: { json: { payment_method: 'card', amount: order.totalAmount }, headers },
      })),
  },
  'GET /v2/orders': {
    kind: 'list',
    rows: (body) => body.results,
    variants: [...LIST_VARIANTS, { label: 'include=restaurant,rider', query: 'limit=2&include=restaurant,rider', included: true }],
  },
  'POST /v2/orders': { kind: 'create' },
  'GET /v2/orders/{id}': {
    kind: 'read',
    variants: [
      PLAIN_READ,
      { label: 'include=restaurant,rider', query: 'include=restaurant,rider', included: true },
      // A 304 would confirm the order exists at that version.
      { label: 'If-None-Match: current', headers: (order) => ({ 'if-none-match': etag(order.id, order.version) }), notModified: true },
    ],
  },
  'POST /v2/orders/{id}/payment': v2Action('pay'),
  'POST /v2/orders/{id}/cancellation': v2Action('cancel'),
  'POST /v2/orders/{id}/acceptance': v2Action('accept'),
  'POST /v2/orders/{id}/rejection': v2Action('reject'),
  'POST /v2/orders/{id}/preparation-complete': v2Action('complete_preparation'),
  'POST /v2/orders/{id}/rider-assignment': v2Action('assign_rider'),
  'POST /v2/orders/{id}/pickup': v2Action('pick_up'),
  'POST /v2/orders/{id}/delivery': v2Action('deliver'),
  'GET /v2/events': { kind: 'feed' },
  'GET /v2/restaurants': { kind: 'no-orders', why: 'restaurants only' },
  'GET /v2/restaurants/{id}': { kind: 'no-orders', why: 'a restaurant and its menu' },
  'GET /v2/riders/{id}': { kind: 'no-orders', why: 'a rider; its location rules are test/graphql/rider-location.test.ts' },
  'PUT /v2/riders/{id}/location': { kind: 'no-orders', why: 'a rider reports its own location' },
  'POST /v2/webhook-endpoints': { kind: 'no-orders', why: 'registers a URL; which events reach it is test/webhooks/webhooks.test.ts' },
  'GET /v2/webhook-endpoints': { kind: 'no-orders', why: 'one’s own endpoints, without secrets' },
  'DELETE /v2/webhook-endpoints/{id}': { kind: 'no-orders', why: 'deletes one’s own endpoint' },
  'GET /v2/webhook-endpoints/{id}/deliveries': { kind: 'no-orders', why: 'attempts: event ids and HTTP outcomes, no order data' },
};

const routesOf = <K extends RestRoute['kind']>(kind: K) =>
  Object.entries(REST_ROUTES).flatMap(([route, spec]) =>
    spec.kind === kind ? [{ route, spec: spec as Extract<RestRoute, { kind: K }> }] : [],
  );

/** Fields that only an order has: a refusal must carry none of them. */
const ORDER_KEYS = ['customer_id', 'restaurant_id', 'rider_id', 'items', 'total_amount', 'created_at'];

/** A request under /api as `caller`. */
function send(caller: Caller, route: string, id: number | null, options: RestOptions & { query?: string } = {}) {
  const [method, template] = route.split(' ') as [string, string];
  let path = `/api${id === null ? template : template.replace('{id}', String(id))}`;
  if (options.query) path += `?${options.query}`;
  if (caller === 'garbage')
    return rest(service, null, method, path, { ...options, headers: { ...options.headers, authorization: 'Bearer not-a-token' } });
  return rest(service, caller === null ? null : DEMO[caller], method, path, options);
}

/** A refusal in the version's error format (v2 problem+json, v1 `{"error"}`), holding none of an order's data. */
function expectRefusal(response: RestResponse, route: string, expected: { status: number; code: string }, because: string) {
  expect(response.status, `${because}: ${response.text}`).toBe(expected.status);
  expect(response.body?.code, because).toBe(expected.code);
  if (route.includes(' /v2/')) expect(response.headers.get('content-type'), because).toBe('application/problem+json');
  else expect(response.body.error, because).toEqual(expect.any(String));
  expect(
    Object.keys(response.body ?? {}).filter((key) => ORDER_KEYS.includes(key)),
    because,
  ).toEqual([]);
  expect(response.headers.get('etag'), because).toBeNull();
}

/** The error body with its human-readable message (which names the requested id) left out. */
const withoutMessage = (body: any) => ({ ...body, detail: undefined, error: undefined });

/** The REST order JSON of `order`, as stored when the fixtures were made. */
function expectRestOrder(json: any, order: OrderWithItems, because: string) {
  expect(json, because).toMatchObject({
    id: order.id,
    status: order.status,
    version: order.version,
    total_amount: order.totalAmount,
    customer_id: order.customerId,
    restaurant_id: order.restaurantId,
    rider_id: order.riderId,
  });
}

/** `included` holds exactly the restaurants and riders of `orders`, each once. */
function expectIncludedOf(included: any, orders: { restaurant_id: number; rider_id: number | null }[], because: string) {
  const ids = (rows: { id: number }[]) => rows.map((row) => row.id).sort();
  const unique = (values: (number | null)[]) => [...new Set(values.filter((value): value is number => value !== null))].sort();
  expect(ids(included.restaurants), `${because}: included restaurants`).toEqual(unique(orders.map((order) => order.restaurant_id)));
  expect(ids(included.riders), `${because}: included riders`).toEqual(unique(orders.map((order) => order.rider_id)));
}

// ─── GraphQL ────────────────────────────────────────────────────────────────────────────────────────────────────────

type GraphQLField =
  | { kind: 'read' }
  | { kind: 'list' }
  | { kind: 'create' }
  | { kind: 'action'; action: OrderActionName }
  | { kind: 'subscription' }
  /** A field of a connection, edge or result type: exercised through the field named. */
  | { kind: 'part'; of: string };

/**
 * Every field of the schema whose type can carry an Order. The coverage test derives that set from the schema and
 * fails when this table misses one (or names one that no longer exists).
 */
const GRAPHQL_FIELDS: Record<string, GraphQLField> = {
  'Query.order': { kind: 'read' },
  'Query.node': { kind: 'read' },
  'Query.nodes': { kind: 'read' },
  'Query.orders': { kind: 'list' },
  'Query.events': { kind: 'list' },
  'EventConnection.edges': { kind: 'part', of: 'Query.events' },
  'EventEdge.node': { kind: 'part', of: 'Query.events' },
  'Event.order': { kind: 'part', of: 'Query.events' },
  'Restaurant.orders': { kind: 'list' },
  'Mutation.createOrder': { kind: 'create' },
  'Mutation.payOrder': { kind: 'action', action: 'pay' },
  'Mutation.cancelOrder': { kind: 'action', action: 'cancel' },
  'Mutation.acceptOrder': { kind: 'action', action: 'accept' },
  'Mutation.rejectOrder': { kind: 'action', action: 'reject' },
  'Mutation.completeOrderPreparation': { kind: 'action', action: 'complete_preparation' },
  'Mutation.assignRider': { kind: 'action', action: 'assign_rider' },
  'Mutation.pickUpOrder': { kind: 'action', action: 'pick_up' },
  'Mutation.deliverOrder': { kind: 'action', action: 'deliver' },
  'Subscription.orderUpdated': { kind: 'subscription' },
  'Subscription.restaurantOrderUpdated': { kind: 'subscription' },
  'QueryOrdersConnection.edges': { kind: 'part', of: 'Query.orders' },
  'QueryOrdersConnectionEdge.node': { kind: 'part', of: 'Query.orders' },
  'RestaurantOrdersConnection.edges': { kind: 'part', of: 'Restaurant.orders' },
  'RestaurantOrdersConnectionEdge.node': { kind: 'part', of: 'Restaurant.orders' },
  'CreateOrderSuccess.order': { kind: 'part', of: 'Mutation.createOrder' },
  'PayOrderSuccess.order': { kind: 'part', of: 'Mutation.payOrder' },
  'CancelOrderSuccess.order': { kind: 'part', of: 'Mutation.cancelOrder' },
  'AcceptOrderSuccess.order': { kind: 'part', of: 'Mutation.acceptOrder' },
  'RejectOrderSuccess.order': { kind: 'part', of: 'Mutation.rejectOrder' },
  'CompleteOrderPreparationSuccess.order': { kind: 'part', of: 'Mutation.completeOrderPreparation' },
  'AssignRiderSuccess.order': { kind: 'part', of: 'Mutation.assignRider' },
  'PickUpOrderSuccess.order': { kind: 'part', of: 'Mutation.pickUpOrder' },
  'DeliverOrderSuccess.order': { kind: 'part', of: 'Mutation.deliverOrder' },
};

const fieldsOf = (kind: GraphQLField['kind']) => Object.keys(GRAPHQL_FIELDS).filter((field) => GRAPHQL_FIELDS[field]!.kind === kind);

const isNode = (type: GraphQLNamedType) => isObjectType(type) && type.getInterfaces().some((face) => face.name === 'Node');

/**
 * The types a field of this type leads to without passing through an entity (a Node): the connection, its edges,
 * the members of a result union, their payloads.
 */
function carriers(type: GraphQLNamedType, seen = new Set<string>()): Set<string> {
  if (seen.has(type.name)) return seen;
  seen.add(type.name);
  if (isUnionType(type)) for (const member of type.getTypes()) carriers(member, seen);
  if (isInterfaceType(type)) for (const member of schema.getPossibleTypes(type)) carriers(member, seen);
  if (isObjectType(type) && !isNode(type)) for (const field of Object.values(type.getFields())) carriers(getNamedType(field.type), seen);
  return seen;
}

/** `Type.field` for every field of the schema whose type can be, or hold, an Order. */
function derivedOrderFields(): string[] {
  return Object.values(schema.getTypeMap())
    .flatMap((type) => (!type.name.startsWith('__') && (isObjectType(type) || isInterfaceType(type)) ? [type] : []))
    .flatMap((type) =>
      Object.values(type.getFields())
        .filter((field) => carriers(getNamedType(field.type)).has('Order'))
        .map((field) => `${type.name}.${field.name}`),
    );
}

/** The schema's definition of `Type.field`. */
function fieldType(field: string): SchemaField<unknown, unknown> {
  const [typeName, name] = field.split('.') as [string, string];
  const type = schema.getType(typeName);
  const definition = type && (isObjectType(type) || isInterfaceType(type)) ? type.getFields()[name] : undefined;
  if (!definition) throw new Error(`no field ${field}`);
  return definition;
}

const gid = (typename: string, id: number) => Buffer.from(`${typename}:${id}`).toString('base64');

const ORDER_SELECTION = 'databaseId status version customer { databaseId } restaurant { databaseId } rider { databaseId }';

type GraphQLBody = { data?: any; errors?: { message: string; extensions?: { code?: string } }[] };

async function authorization(caller: Caller): Promise<string | null> {
  if (caller === null) return null;
  if (caller === 'garbage') return 'Bearer not-a-token';
  return `Bearer ${await service.token(DEMO[caller])}`;
}

/** POST /graphql as `caller` (app.request, no port). */
async function gql(caller: Caller, query: string, variables: Record<string, unknown> = {}): Promise<GraphQLBody> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const auth = await authorization(caller);
  if (auth) headers.authorization = auth;
  const response = await service.app.request('/graphql', { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  return (await response.json()) as GraphQLBody;
}

/** The GraphQL order of `order`, as stored when it was made. */
function expectGraphQLOrder(node: any, order: OrderWithItems, because: string) {
  expect(node, because).toEqual({
    databaseId: order.id,
    status: order.status.toUpperCase(),
    version: order.version,
    customer: { databaseId: order.customerId },
    restaurant: { databaseId: order.restaurantId },
    rider: order.riderId === null ? null : { databaseId: order.riderId },
  });
}

/** How each read field looks the fixtures up: one request per actor, a result per (order, way of naming it). */
const GRAPHQL_READS: Record<
  string,
  (caller: Caller, orders: OrderWithItems[]) => Promise<{ order: OrderWithItems; label: string; node: any }[]>
> = {
  'Query.order': async (caller, orders) => {
    // By global id and by bare database id (ids.ts accepts both).
    const aliases = orders.flatMap((order, index) => [
      { alias: `g${index}`, id: gid('Order', order.id), order, label: 'global id' },
      { alias: `b${index}`, id: String(order.id), order, label: 'database id' },
    ]);
    const body = await gql(
      caller,
      `{ ${aliases.map(({ alias, id }) => `${alias}: order(id: "${id}") { ${ORDER_SELECTION} }`).join(' ')} }`,
    );
    expect(body.errors).toBeUndefined();
    return aliases.map(({ alias, order, label }) => ({ order, label, node: body.data[alias] }));
  },
  'Query.node': async (caller, orders) => {
    const body = await gql(
      caller,
      `{ ${orders.map((order, index) => `n${index}: node(id: "${gid('Order', order.id)}") { ... on Order { ${ORDER_SELECTION} } }`).join(' ')} }`,
    );
    expect(body.errors).toBeUndefined();
    return orders.map((order, index) => ({ order, label: 'node', node: body.data[`n${index}`] }));
  },
  'Query.nodes': async (caller, orders) => {
    const body = await gql(caller, `query($ids: [ID!]!) { nodes(ids: $ids) { ... on Order { ${ORDER_SELECTION} } } }`, {
      ids: orders.map((order) => gid('Order', order.id)),
    });
    expect(body.errors).toBeUndefined();
    return orders.map((order, index) => ({ order, label: 'nodes', node: body.data.nodes[index] }));
  },
};

type Connection = { edges: { node: { databaseId: number } }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
const PAGE = 'edges { node { databaseId } } pageInfo { hasNextPage endCursor }';

/** Walks a connection to its end, `first` at a time; returns every order id. */
async function walk(
  caller: Caller,
  query: string,
  pick: (data: any) => Connection,
  variables: Record<string, unknown> = {},
): Promise<number[]> {
  const ids: number[] = [];
  let after: string | null = null;
  for (let page = 0; page < 200; page++) {
    const body = await gql(caller, query, { ...variables, after });
    expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
    const connection = pick(body.data);
    ids.push(...connection.edges.map((edge) => edge.node.databaseId));
    if (!connection.pageInfo.hasNextPage) return ids;
    after = connection.pageInfo.endCursor;
  }
  throw new Error('the connection never ended');
}

/**
 * Each list field, reached every way the schema offers: the order ids it gave for one scope (all, or one restaurant),
 * and which statuses it was filtered to.
 */
type ListRun = { label: string; ids: number[]; restaurantId?: number; statuses?: OrderStatusName[] };
const GRAPHQL_LISTS: Record<string, (caller: Role) => Promise<ListRun[]>> = {
  'Query.events': async (caller) => {
    // Many events per order: the run is the set of orders the events carry.
    const ids = new Set<number>();
    let after: string | null = null;
    for (let page = 0; ; page++) {
      expect(page, 'too many pages').toBeLessThan(500);
      const result = await gql(
        caller,
        'query($after: String) { events(first: 100, after: $after) { edges { node { order { databaseId } } } pageInfo { hasNextPage endCursor } } }',
        { after },
      );
      expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
      for (const edge of result.data.events.edges) ids.add(edge.node.order.databaseId);
      if (!result.data.events.pageInfo.hasNextPage) break;
      after = result.data.events.pageInfo.endCursor;
    }
    return [{ label: 'events, pages of 100', ids: [...ids] }];
  },
  'Query.orders': async (caller) => {
    const query = `query($first: Int, $after: String, $status: [OrderStatus!]) { orders(first: $first, after: $after, status: $status) { ${PAGE} } }`;
    const statuses: OrderStatusName[] = ['preparing', 'ready_for_pickup', 'in_transit'];
    return [
      { label: 'first: 100', ids: await walk(caller, query, (data) => data.orders, { first: 100 }) },
      { label: 'pages of 2', ids: await walk(caller, query, (data) => data.orders, { first: 2 }) },
      {
        label: 'status filter',
        statuses,
        ids: await walk(caller, query, (data) => data.orders, { first: 100, status: statuses.map((status) => status.toUpperCase()) }),
      },
    ];
  },
  'Restaurant.orders': async (caller) => {
    const runs: ListRun[] = [];
    for (const restaurantId of [1, 2]) {
      const byId = `query($id: ID!, $first: Int, $after: String) { restaurant(id: $id) { orders(first: $first, after: $after) { ${PAGE} } } }`;
      for (const first of [100, 2]) {
        const ids = await walk(caller, byId, (data) => data.restaurant.orders, { id: gid('Restaurant', restaurantId), first });
        runs.push({ label: `restaurant(id:) first: ${first}`, restaurantId, ids });
      }
      const viaNode = await gql(
        caller,
        `{ node(id: "${gid('Restaurant', restaurantId)}") { ... on Restaurant { orders(first: 100) { ${PAGE} } } } }`,
      );
      runs.push({ label: 'node(id:)', restaurantId, ids: onePage(viaNode, (data) => data.node.orders) });
    }
    // Two restaurants exist; a wider page would exceed the query cost limit with 100 orders each.
    const all = await gql(
      caller,
      `{ restaurants(first: 2) { edges { node { databaseId orders(first: 100) { ${PAGE} } } } pageInfo { hasNextPage } } }`,
    );
    expect(all.errors, JSON.stringify(all.errors)).toBeUndefined();
    expect(all.data.restaurants.pageInfo.hasNextPage).toBe(false);
    for (const edge of all.data.restaurants.edges) {
      runs.push({ label: 'restaurants', restaurantId: edge.node.databaseId, ids: onePage(all, () => edge.node.orders) });
    }
    // Through an order the actor may see, to its restaurant's other orders.
    const own = fx[VISIBLE[caller][0]!];
    const viaOrder = await gql(caller, `{ order(id: "${gid('Order', own.id)}") { restaurant { orders(first: 100) { ${PAGE} } } } }`);
    runs.push({
      label: 'order.restaurant',
      restaurantId: own.restaurantId,
      ids: onePage(viaOrder, (data) => data.order.restaurant.orders),
    });
    return runs;
  },
};

/** The ids of a connection that must fit one page (fewer than 100 orders exist in this file). */
function onePage(body: GraphQLBody, pick: (data: any) => Connection): number[] {
  expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
  const connection = pick(body.data);
  expect(connection.pageInfo.hasNextPage).toBe(false);
  return connection.edges.map((edge) => edge.node.databaseId);
}

/** The `<Action>Success` member of a mutation's result union (the one with an `order`). */
function successTypeOf(field: string): string {
  const union = getNamedType(fieldType(field).type);
  if (!isUnionType(union)) throw new Error(`${field} does not return a union`);
  const success = union.getTypes().find((member) => 'order' in member.getFields());
  if (!success) throw new Error(`${field} has no member with an order`);
  return success.name;
}

/** The operation for an order action mutation, built from its arguments in the schema. */
function actionMutation(field: string): string {
  const name = field.split('.')[1]!;
  const input = getNamedType(fieldType(field).args.find((arg) => arg.name === 'input')!.type).name;
  return `mutation($id: ID!, $v: Int!, $input: ${input}!) {
    result: ${name}(orderId: $id, expectedVersion: $v, input: $input) {
      __typename ... on Error { code } ... on ${successTypeOf(field)} { order { ${ORDER_SELECTION} } }
    }
  }`;
}

function actionInput(action: OrderActionName, order: OrderWithItems, actor: Actor): Record<string, unknown> {
  switch (action) {
    case 'pay':
      return { idempotencyKey: randomUUID(), paymentMethod: 'card', amount: order.totalAmount };
    case 'cancel':
    case 'reject':
      return { reason: 'authorization matrix' };
    case 'assign_rider':
      return actor.role === 'admin' ? { riderId: gid('Rider', 2) } : {};
    default:
      return {};
  }
}

const CREATE_ORDER = `mutation($input: CreateOrderInput!) {
  result: createOrder(input: $input) { __typename ... on Error { code } ... on CreateOrderSuccess { replayed order { ${ORDER_SELECTION} } } }
}`;
const createInput = (idempotencyKey: string) => ({
  idempotencyKey,
  restaurantId: gid('Restaurant', 2),
  items: [{ menuItemId: gid('MenuItem', 5), quantity: 1 }],
  deliveryAddress: '1 Test Street',
});

const ORDER_UPDATED = `subscription($id: ID!) { orderUpdated(orderId: $id) { ${ORDER_SELECTION} } }`;
const RESTAURANT_ORDER_UPDATED = `subscription($id: ID!) { restaurantOrderUpdated(restaurantId: $id) { ${ORDER_SELECTION} } }`;

type Stream = { events: GraphQLBody[]; ended: Promise<void>; isEnded(): boolean; close(): void };

/** Opens a subscription over SSE through app.request and collects its `next` events until it ends or is closed. */
async function subscribe(caller: Caller, query: string, variables: Record<string, unknown>): Promise<Stream> {
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'text/event-stream' };
  const auth = await authorization(caller);
  if (auth) headers.authorization = auth;
  const controller = new AbortController();
  const response = await service.app.request('/graphql', {
    method: 'POST',
    headers,
    body: JSON.stringify({ query, variables }),
    signal: controller.signal,
  });
  expect(response.status).toBe(200);
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  const events: GraphQLBody[] = [];
  let buffer = '';
  let ended = false;
  const pump = async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += decoder.decode(value, { stream: true });
        const blocks = buffer.split('\n\n');
        buffer = blocks.pop() ?? '';
        for (const block of blocks) {
          const lines = block.split('\n');
          const data = lines.filter((line) => line.startsWith('data: ')).map((line) => line.slice('data: '.length));
          if (lines.includes('event: next') && data.length) events.push(JSON.parse(data.join('\n')));
        }
      }
    } catch {
      // Closed by close(): the events so far are the answer.
    } finally {
      ended = true;
    }
  };
  const done = pump();
  return {
    events,
    ended: done,
    isEnded: () => ended,
    close() {
      controller.abort();
      reader.cancel().catch(() => {});
    },
  };
}

/** A subscription refused at once: one error event and no data, and the stream ends; returns the error's code. */
async function refusedStreamCode(stream: Stream, because: string): Promise<string | undefined> {
  await Promise.race([stream.ended, sleep(5_000)]);
  const endedItself = stream.isEnded();
  stream.close();
  expect(endedItself, `${because}: the stream stays open`).toBe(true);
  expect(stream.events, because).toHaveLength(1);
  expect(stream.events[0]!.data ?? null, because).toBeNull();
  expect(stream.events[0]!.errors, because).toHaveLength(1);
  return stream.events[0]!.errors![0]!.extensions?.code;
}

async function expectRefusedStream(stream: Stream, code: string, because: string) {
  expect(await refusedStreamCode(stream, because), because).toBe(code);
}

/** Gives an SSE subscription time to reach Redis (real backend) before the change it should hear. */
const settle = () => sleep(300);

// ─── The matrix ─────────────────────────────────────────────────────────────────────────────────────────────────────

const byRole = <T extends object>(items: T[], roles: Role[] = ROLES) => items.flatMap((item) => roles.map((role) => ({ ...item, role })));

describe(`coverage (${backend})`, () => {
  it('the fixtures are as FIXTURES says, and the SPEC §3 rule agrees with VISIBLE', async () => {
    for (const name of FIXTURE_NAMES) {
      const spec = FIXTURES[name];
      expect(fx[name], name).toMatchObject({
        customerId: DEMO[spec.customer].id,
        restaurantId: spec.restaurantId,
        status: spec.status,
        riderId: spec.riderId,
      });
      await expectUnchanged(fx[name], `fixture ${name} is still as made`);
      for (const role of ROLES) expect(specSees(DEMO[role], fx[name]), `${role} sees ${name}`).toBe(VISIBLE[role].includes(name));
    }
    for (const role of OUTSIDERS) expect(invisibleTo(role).length, role).toBeGreaterThan(0);
  });

  it('every route under /api/v1 and /api/v2 (documented or served) is classified; exactly the order routes return orders', async () => {
    const { status, body: doc } = await rest(service, null, 'GET', '/api/openapi.json');
    expect(status).toBe(200);
    expect(doc.servers[0].url).toBe('/api');
    const documented = new Map<string, any>();
    for (const [path, item] of Object.entries<Record<string, any>>(doc.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        if (['get', 'put', 'post', 'delete', 'patch'].includes(method)) documented.set(`${method.toUpperCase()} ${path}`, operation);
      }
    }
    const served = service.app.routes
      .filter((route) => /^\/api\/v[12]\//.test(route.path) && route.method !== 'ALL' && !route.path.endsWith('*'))
      .map((route) => `${route.method} ${route.path.slice('/api'.length).replace(/:(\w+)/g, '{$1}')}`);
    const all = [...new Set([...documented.keys(), ...served])].sort();
    expect(all.length).toBeGreaterThanOrEqual(21);
    expect(
      all.filter((route) => !(route in REST_ROUTES)),
      'unclassified routes',
    ).toEqual([]);
    expect(
      Object.keys(REST_ROUTES).filter((route) => !all.includes(route)),
      'classified routes that do not exist',
    ).toEqual([]);

    /** Whether a schema (through $ref, properties, items, allOf/anyOf/oneOf) holds an order-shaped object. */
    const holdsOrder = (part: any, seen: Set<string>): boolean => {
      if (!part || typeof part !== 'object') return false;
      if (typeof part.$ref === 'string') {
        if (seen.has(part.$ref)) return false;
        seen.add(part.$ref);
        return holdsOrder(doc.components.schemas[part.$ref.replace('#/components/schemas/', '')], seen);
      }
      const properties = part.properties ?? {};
      if ('customer_id' in properties && 'restaurant_id' in properties && 'status' in properties) return true;
      return [
        ...Object.values(properties),
        part.items,
        part.additionalProperties,
        ...(part.allOf ?? []),
        ...(part.anyOf ?? []),
        ...(part.oneOf ?? []),
      ].some((inner) => holdsOrder(inner, seen));
    };
    for (const route of all) {
      const operation = documented.get(route);
      expect(operation, `${route} is served but not documented`).toBeDefined();
      const success = Object.entries<any>(operation.responses).filter(([code]) => code.startsWith('2'));
      const returnsOrders = success.some(([, response]) => holdsOrder(response.content?.['application/json']?.schema, new Set()));
      const spec = REST_ROUTES[route]!;
      expect(returnsOrders, `${route} returns orders, but is classified ${spec.kind}`).toBe(spec.kind !== 'no-orders');
      // Every side-load a route offers is exercised.
      const offersInclude = (operation.parameters ?? []).some((parameter: any) => parameter.in === 'query' && parameter.name === 'include');
      const variants: { included?: boolean }[] = spec.kind === 'read' || spec.kind === 'list' ? spec.variants : [];
      expect(
        variants.some((variant) => variant.included),
        `${route}: include= exercised`,
      ).toBe(offersInclude);
    }
    // Every action of SPEC §1 has its v2 route here.
    const v2Actions = routesOf('action')
      .filter(({ route }) => route.includes(' /v2/'))
      .map(({ spec }) => spec.positive);
    expect(new Set(v2Actions)).toEqual(new Set(Object.keys(ACTIONS)));
  });

  it('every GraphQL field whose type can carry an Order (Node, connections, edges, result unions) is classified', () => {
    const derived = derivedOrderFields().sort();
    expect(derived).toContain('Query.node');
    expect(
      derived.filter((field) => !(field in GRAPHQL_FIELDS)),
      'unclassified fields',
    ).toEqual([]);
    expect(
      Object.keys(GRAPHQL_FIELDS).filter((field) => !derived.includes(field)),
      'classified fields that do not exist',
    ).toEqual([]);
    // A part is reached through the field it names, which is exercised itself.
    for (const [field, entry] of Object.entries(GRAPHQL_FIELDS)) {
      if (entry.kind !== 'part') continue;
      expect(GRAPHQL_FIELDS[entry.of]?.kind, field).not.toBe('part');
      expect([...carriers(getNamedType(fieldType(entry.of).type))], field).toContain(field.split('.')[0]);
    }
    expect(Object.keys(GRAPHQL_READS).sort()).toEqual(fieldsOf('read').sort());
    expect(Object.keys(GRAPHQL_LISTS).sort()).toEqual(fieldsOf('list').sort());
    expect(fieldsOf('create')).toEqual(['Mutation.createOrder']);
    expect(fieldsOf('subscription').sort()).toEqual(['Subscription.orderUpdated', 'Subscription.restaurantOrderUpdated']);
    const actions = Object.values(GRAPHQL_FIELDS).flatMap((entry) => (entry.kind === 'action' ? [entry.action] : []));
    expect(new Set(actions)).toEqual(new Set(Object.keys(ACTIONS)));
  });
});

describe(`REST: reading one order (${backend})`, () => {
  const cases = byRole(routesOf('read'));
  it.each(cases)(
    '$route as $role: its orders with their data; 404 for the others, as for no order at all',
    async ({ route, spec, role }) => {
      for (const variant of spec.variants) {
        const options = (order: OrderWithItems) => ({ query: variant.query, headers: variant.headers?.(order) });
        const missing = await send(role, route, 2_000_000_000, options(fx.a));
        expectRefusal(missing, route, { status: 404, code: 'NOT_FOUND' }, `${variant.label}: no such order`);
        for (const name of FIXTURE_NAMES) {
          const order = fx[name];
          const because = `${route} ${variant.label} as ${role}, order ${name}`;
          const response = await send(role, route, order.id, options(order));
          if (!VISIBLE[role].includes(name)) {
            expectRefusal(response, route, { status: 404, code: 'NOT_FOUND' }, because);
            expect(withoutMessage(response.body), because).toEqual(withoutMessage(missing.body));
          } else if (variant.notModified) {
            expect(response.status, because).toBe(304);
            expect(response.headers.get('etag'), because).toBe(etag(order.id, order.version));
          } else {
            expect(response.status, `${because}: ${response.text}`).toBe(200);
            expectRestOrder(response.body, order, because);
            if (variant.included) expectIncludedOf(response.body.included, [response.body], because);
            else expect(response.body.included, because).toBeUndefined();
          }
        }
      }
    },
  );
});

describe(`REST: the event feed (${backend})`, () => {
  const cases = byRole(routesOf('feed'));
  it.each(cases)('$route as $role: the events of exactly the visible orders, every page', async ({ route, role }) => {
    const because = `${route} as ${role}`;
    const ids = new Set<number>();
    let after: string | null = null;
    for (let page = 0; ; page++) {
      expect(page, `${because}: too many pages`).toBeLessThan(500);
      const response = await send(role, route, null, { query: `limit=100${after ? `&after=${after}` : ''}` });
      expect(response.status, `${because}: ${response.text}`).toBe(200);
      for (const event of response.body.results) ids.add(event.data.order.id);
      if (response.body.results.length === 0) break;
      after = response.body.next_cursor;
    }
    await expectAllVisible(DEMO[role], [...ids], because);
    expect(
      VISIBLE[role].filter((name) => !ids.has(fx[name].id)),
      `${because}: visible fixtures missing`,
    ).toEqual([]);
  });
});

describe(`REST: lists (${backend})`, () => {
  const cases = byRole(routesOf('list'));
  it.each(cases)('$route as $role: only visible orders, every page, every filter; all of its fixtures', async ({ route, spec, role }) => {
    const actor = DEMO[role];
    for (const variant of spec.variants) {
      const because = `${route} ${variant.label} as ${role}`;
      const items: any[] = [];
      let cursor: string | null = null;
      for (let page = 0; ; page++) {
        expect(page, `${because}: too many pages`).toBeLessThan(200);
        const query: string = cursor ? `${variant.query}&cursor=${encodeURIComponent(cursor)}` : variant.query;
        const response = await send(role, route, null, { query });
        expect(response.status, `${because}: ${response.text}`).toBe(200);
        const rows = spec.rows(response.body);
        if (variant.included) expectIncludedOf(response.body.included, rows, `${because}, page ${page}`);
        else expect(response.body.included, because).toBeUndefined();
        items.push(...rows);
        cursor = response.body.next_cursor;
        if (!cursor) break;
      }
      const stored = await expectAllVisible(
        actor,
        items.map((item) => item.id),
        because,
      );
      // The list tells the truth about each order it shows (no stale or mixed-up parties).
      for (const item of items) {
        const row = stored.find((candidate) => candidate.id === item.id)!;
        expect(item, because).toMatchObject({
          customer_id: row.customerId,
          restaurant_id: row.restaurantId,
          rider_id: row.riderId,
          status: row.status,
        });
      }
      const expected = VISIBLE[role].filter((name) => !variant.statuses || variant.statuses.includes(fx[name].status));
      expect(expected.length, because).toBeGreaterThan(0);
      for (const name of expected)
        expectRestOrder(
          items.find((item) => item.id === fx[name].id),
          fx[name],
          `${because}: fixture ${name}`,
        );
      if (variant.statuses)
        expect(
          items.filter((item) => !variant.statuses!.includes(item.status)),
          because,
        ).toEqual([]);
    }
  });
});

describe(`REST: actions (${backend})`, () => {
  const refusals = byRole(routesOf('action'), OUTSIDERS);
  it.each(refusals)('$route as $role on each order it cannot see: refused as if absent, nothing changes', async ({ route, spec, role }) => {
    const actor = DEMO[role];
    // The same request on an order that does not exist: what every 404 below must be indistinguishable from.
    const missing = new Map<string, RestResponse>();
    for (const attempt of spec.attempts(fx.a, actor)) missing.set(attempt.label, await send(role, route, 2_000_000_000, attempt.options));
    for (const name of invisibleTo(role)) {
      const order = fx[name];
      for (const attempt of spec.attempts(order, actor)) {
        const because = `${route} (${attempt.label}) as ${role} on order ${name}`;
        const expected = refusalOf(attempt.action, actor, order, attempt.staleVersion);
        const response = await send(role, route, order.id, attempt.options);
        expectRefusal(response, route, expected, because);
        if (expected.status === 404) {
          expect(withoutMessage(response.body), `${because}: unlike a missing order`).toEqual(
            withoutMessage(missing.get(attempt.label)!.body),
          );
        }
      }
      // Every change raises the version for good, so an order unchanged now was unchanged after each attempt.
      await expectUnchanged(order, `${route} as ${role} on order ${name}`);
    }
  });

  const controls = routesOf('action').flatMap(({ route, spec }) =>
    [ACTIONS[spec.positive].owner, 'admin' as const].map((role) => ({ route, spec, role })),
  );
  it.each(controls)('$route: the same request from $role on its order succeeds (positive control)', async ({ route, spec, role }) => {
    const actor = DEMO[role];
    const action = ACTIONS[spec.positive];
    const order = await orderIn(service, action.from, { withRider: action.withRider });
    const attempt = spec.attempts(order, actor).find((candidate) => candidate.action === spec.positive && !candidate.staleVersion)!;
    const response = await send(role, route, order.id, attempt.options);
    expect(response.status, response.text).toBe(200);
    expect(response.body).toMatchObject({
      id: order.id,
      customer_id: order.customerId,
      status: action.to,
      version: order.version + 1,
      rider_id: riderAfter(spec.positive, actor, order),
    });
    expect(await storedOrder(service, order.id)).toMatchObject({ status: action.to, version: order.version + 1 });
  });
});

describe(`REST: placing orders (${backend})`, () => {
  it.each(routesOf('create'))(
    '$route: each actor gets only its own new order, even with an Idempotency-Key another used',
    async ({ route }) => {
      const key = randomUUID();
      const options = { json: createBody([{ menu_item_id: 5, quantity: 1 }], 2), headers: { 'idempotency-key': key } };
      const first = await send('customer1', route, null, options);
      expect(first.status, first.text).toBe(201);
      expect(first.body).toMatchObject({ customer_id: 1, restaurant_id: 2, status: 'pending_payment', version: 1 });
      for (const role of ROLES.filter((other) => other !== 'customer1')) {
        const response = await send(role, route, null, options);
        const because = `${route} as ${role} with customer 1's key`;
        expect(response.headers.get('idempotent-replayed'), because).toBeNull();
        if (role === 'customer2') {
          expect(response.status, because).toBe(201);
          expect(response.body, because).toMatchObject({ customer_id: 2, version: 1 });
          expect(response.body.id, because).not.toBe(first.body.id);
        } else {
          expectRefusal(response, route, { status: 403, code: 'FORBIDDEN' }, because);
        }
      }
      // The key was recorded: customer 1 itself gets its first outcome again (so the refusals above were not luck).
      const again = await send('customer1', route, null, options);
      expect(again.status).toBe(201);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect(again.body.id).toBe(first.body.id);
    },
  );
});

describe(`REST: without a valid token (${backend})`, () => {
  const cases = Object.keys(REST_ROUTES).flatMap((route) => (['none', 'garbage'] as const).map((token) => ({ route, token })));
  it.each(cases)('$route with token $token → 401 UNAUTHENTICATED, no data, nothing changes', async ({ route, token }) => {
    const order = fx.a;
    const spec = REST_ROUTES[route]!;
    const options: RestOptions =
      spec.kind === 'action'
        ? spec.attempts(order, DEMO.customer1).find((attempt) => attempt.action === spec.positive)!.options
        : spec.kind === 'create'
          ? { json: createBody(), headers: { 'idempotency-key': randomUUID() } }
          : {};
    const response = await send(token === 'none' ? null : 'garbage', route, route.includes('{id}') ? order.id : null, options);
    expectRefusal(response, route, { status: 401, code: 'UNAUTHENTICATED' }, route);
    await expectUnchanged(order, route);
  });
});

describe(`GraphQL: reading orders by id (${backend})`, () => {
  const cases = byRole(fieldsOf('read').map((field) => ({ field })));
  it.each(cases)('$field as $role: its orders with their data, null for the others', async ({ field, role }) => {
    const results = await GRAPHQL_READS[field]!(
      role,
      FIXTURE_NAMES.map((name) => fx[name]),
    );
    expect(results.length).toBeGreaterThanOrEqual(FIXTURE_NAMES.length);
    for (const { order, label, node } of results) {
      const name = FIXTURE_NAMES.find((candidate) => fx[candidate] === order)!;
      const because = `${field} (${label}) as ${role}, order ${name}`;
      if (VISIBLE[role].includes(name)) expectGraphQLOrder(node, order, because);
      else expect(node, because).toBeNull();
    }
  });

  it.each(ROLES)('node(id:) with a Payment id as %s: only the payments of orders it may see', async (role) => {
    const paid = FIXTURE_NAMES.filter((name) => fx[name].status !== 'pending_payment');
    for (const name of paid) {
      const payment = await service.container.db.prisma.payment.findFirstOrThrow({ where: { orderId: fx[name].id } });
      const body = await gql(role, `{ node(id: "${gid('Payment', payment.id)}") { ... on Payment { databaseId amount } } }`);
      expect(body.errors).toBeUndefined();
      if (VISIBLE[role].includes(name)) expect(body.data.node, name).toEqual({ databaseId: payment.id, amount: payment.amount });
      else expect(body.data.node, name).toBeNull();
    }
  });
});

describe(`GraphQL: connections (${backend})`, () => {
  const cases = byRole(fieldsOf('list').map((field) => ({ field })));
  it.each(cases)('$field as $role: only visible orders, every page, every way in; all of its fixtures', async ({ field, role }) => {
    const runs = await GRAPHQL_LISTS[field]!(role);
    for (const run of runs) {
      const because = `${field} ${run.label}${run.restaurantId ? ` (restaurant ${run.restaurantId})` : ''} as ${role}`;
      const rows = await expectAllVisible(DEMO[role], run.ids, because);
      if (run.restaurantId)
        expect(
          rows.filter((row) => row.restaurantId !== run.restaurantId).map((row) => row.id),
          because,
        ).toEqual([]);
      if (run.statuses)
        expect(
          rows.filter((row) => !run.statuses!.includes(row.status)).map((row) => row.id),
          because,
        ).toEqual([]);
      const expected = VISIBLE[role].filter(
        (name) =>
          (!run.restaurantId || fx[name].restaurantId === run.restaurantId) && (!run.statuses || run.statuses.includes(fx[name].status)),
      );
      expect(
        expected.filter((name) => !run.ids.includes(fx[name].id)),
        `${because}: visible fixtures missing`,
      ).toEqual([]);
    }
    // Each actor sees something through every way in (so the checks above are not over empty lists).
    expect(runs.some((run) => run.ids.length > 0)).toBe(true);
  });
});

describe(`GraphQL: order actions (${backend})`, () => {
  const refusals = byRole(
    fieldsOf('action').map((field) => ({ field })),
    OUTSIDERS,
  );
  it.each(refusals)('$field as $role on each order it cannot see: NotFoundError, nothing changes', async ({ field, role }) => {
    const { action } = GRAPHQL_FIELDS[field] as { action: OrderActionName };
    const actor = DEMO[role];
    const mutation = actionMutation(field);
    for (const name of invisibleTo(role)) {
      const order = fx[name];
      for (const { label, id, v, staleVersion } of [
        { label: 'global id, current version', id: gid('Order', order.id), v: order.version, staleVersion: false },
        { label: 'database id, stale version', id: String(order.id), v: order.version + 7, staleVersion: true },
      ]) {
        const because = `${field} (${label}) as ${role} on order ${name}`;
        const body = await gql(role, mutation, { id, v, input: actionInput(action, order, actor) });
        expect(body.errors, because).toBeUndefined();
        const expected = refusalOf(action, actor, order, staleVersion).code;
        expect(body.data.result, because).toEqual({
          __typename: {
            NOT_FOUND: 'NotFoundError',
            INVALID_TRANSITION: 'InvalidTransitionError',
            VERSION_CONFLICT: 'VersionConflictError',
          }[expected],
          code: expected,
        });
      }
      await expectUnchanged(order, `${field} as ${role} on order ${name}`);
    }
  });

  const controls = fieldsOf('action').flatMap((field) => {
    const { action } = GRAPHQL_FIELDS[field] as { action: OrderActionName };
    return [ACTIONS[action].owner, 'admin' as const].map((role) => ({ field, action, role }));
  });
  it.each(controls)('$field: the same mutation from $role on its order succeeds (positive control)', async ({ field, action, role }) => {
    const actor = DEMO[role];
    const spec = ACTIONS[action];
    const order = await orderIn(service, spec.from, { withRider: spec.withRider });
    const body = await gql(role, actionMutation(field), {
      id: gid('Order', order.id),
      v: order.version,
      input: actionInput(action, order, actor),
    });
    expect(body.errors).toBeUndefined();
    expect(body.data.result.__typename).toBe(successTypeOf(field));
    expectGraphQLOrder(
      body.data.result.order,
      { ...order, status: spec.to, version: order.version + 1, riderId: riderAfter(action, actor, order) },
      field,
    );
  });

  it('createOrder: each actor gets only its own new order, even with an idempotency key another used (REST or GraphQL)', async () => {
    const key = randomUUID();
    // Customer 1 uses the key over REST first: one key store serves both transports.
    const first = await send('customer1', 'POST /v2/orders', null, {
      json: createBody([{ menu_item_id: 5, quantity: 1 }], 2),
      headers: { 'idempotency-key': key },
    });
    expect(first.status, first.text).toBe(201);
    for (const role of ROLES.filter((other) => other !== 'customer1')) {
      const body = await gql(role, CREATE_ORDER, { input: createInput(key) });
      expect(body.errors, role).toBeUndefined();
      if (role === 'customer2') {
        expect(body.data.result, role).toMatchObject({
          __typename: 'CreateOrderSuccess',
          replayed: false,
          order: { customer: { databaseId: 2 } },
        });
        expect(body.data.result.order.databaseId).not.toBe(first.body.id);
      } else {
        expect(body.data.result, role).toEqual({ __typename: 'ForbiddenError', code: 'FORBIDDEN' });
      }
    }
    const again = await gql('customer1', CREATE_ORDER, { input: createInput(key) });
    expect(again.data.result).toMatchObject({ replayed: true, order: { databaseId: first.body.id, customer: { databaseId: 1 } } });
  });
});

describe(`GraphQL: subscriptions (${backend})`, () => {
  it.each(OUTSIDERS)('orderUpdated as %s on each order it cannot see: NOT_FOUND, and the stream ends', async (role) => {
    for (const name of invisibleTo(role)) {
      const stream = await subscribe(role, ORDER_UPDATED, { id: gid('Order', fx[name].id) });
      await expectRefusedStream(stream, 'NOT_FOUND', `orderUpdated as ${role} on order ${name}`);
    }
  });

  it('orderUpdated: everyone who may see the order hears its change; the others were refused (positive control)', async () => {
    // Customer 1 at restaurant 1, preparing, no rider: offered to both riders.
    const order = await orderIn(service, 'preparing');
    const streams = new Map<Role, Stream>();
    for (const role of ROLES) streams.set(role, await subscribe(role, ORDER_UPDATED, { id: gid('Order', order.id) }));
    try {
      await settle();
      const { order: changed } = await service.container.orders.completeOrderPreparation({
        actor: DEMO.restaurant1,
        orderId: order.id,
        expectedVersion: order.version,
      });
      for (const role of ROLES) {
        const stream = streams.get(role)!;
        if (!specSees(DEMO[role], order)) {
          await expectRefusedStream(stream, 'NOT_FOUND', role);
          continue;
        }
        expect(await eventually(() => stream.events.length > 0), `${role} hears the change`).toBe(true);
        expect(stream.events[0]!.errors, role).toBeUndefined();
        expectGraphQLOrder(stream.events[0]!.data.orderUpdated, { ...changed, riderId: null }, role);
      }
      expect(ROLES.filter((role) => specSees(DEMO[role], order))).toEqual(['customer1', 'restaurant1', 'rider1', 'rider2', 'admin']);
    } finally {
      for (const stream of streams.values()) stream.close();
    }
  });

  // SPEC §3 makes a claimed order invisible to the other riders, yet orderUpdated only checks visibility when the
  // subscription starts and resolves every later event without it: rider 2 keeps receiving the order (status,
  // address, customer…) after rider 1 has claimed it. Reported; drop `.fails` once the subscription re-checks.
  it('a rider subscribed to a claimable order hears nothing more once another rider claims it', async () => {
    const order = await orderIn(service, 'preparing');
    const rider2 = await subscribe('rider2', ORDER_UPDATED, { id: gid('Order', order.id) });
    const admin = await subscribe('admin', ORDER_UPDATED, { id: gid('Order', order.id) });
    try {
      await settle();
      await service.container.orders.assignRider({ actor: DEMO.rider1, orderId: order.id, expectedVersion: order.version });
      expect(await eventually(() => admin.events.length > 0)).toBe(true);
      // Give a (wrongly) delivered event every chance to arrive, so the outcome does not depend on timing.
      await eventually(() => rider2.events.length > 0, 1_000);
      expect(rider2.events.filter((event) => event.data?.orderUpdated)).toEqual([]);
    } finally {
      rider2.close();
      admin.close();
    }
  });

  it('restaurantOrderUpdated: only a restaurant itself and admins, and only that restaurant’s orders', async () => {
    const streams: { role: Role; restaurantId: number; stream: Stream }[] = [];
    for (const role of ROLES) {
      for (const restaurantId of [1, 2]) {
        streams.push({
          role,
          restaurantId,
          stream: await subscribe(role, RESTAURANT_ORDER_UPDATED, { id: gid('Restaurant', restaurantId) }),
        });
      }
    }
    try {
      await settle();
      // One change at each restaurant.
      const changed = new Map<number, number>();
      for (const restaurantId of [1, 2]) {
        const order = await orderIn(service, 'pending_acceptance', { restaurantId });
        await service.container.orders.acceptOrder({
          actor: DEMO[`restaurant${restaurantId}` as Role],
          orderId: order.id,
          expectedVersion: order.version,
        });
        changed.set(restaurantId, order.id);
      }
      for (const { role, restaurantId, stream } of streams) {
        const because = `restaurantOrderUpdated(${restaurantId}) as ${role}`;
        const allowed = role === 'admin' || (role.startsWith('restaurant') && DEMO[role].id === restaurantId);
        if (!allowed) {
          await expectRefusedStream(stream, 'NOT_FOUND', because);
          continue;
        }
        expect(
          await eventually(() =>
            stream.events.some((event) => event.data?.restaurantOrderUpdated.databaseId === changed.get(restaurantId)),
          ),
          because,
        ).toBe(true);
        await sleep(100);
        expect(stream.events.filter((event) => event.errors).length, because).toBe(0);
        const heard = stream.events.map((event) => event.data.restaurantOrderUpdated);
        expect(
          heard.filter((order) => order.restaurant.databaseId !== restaurantId),
          because,
        ).toEqual([]);
      }
    } finally {
      for (const { stream } of streams) stream.close();
    }
  });
});

describe(`GraphQL: without a valid token (${backend})`, () => {
  /** One operation per field at the root of an order path; parts are inside these. */
  type Probe = { field: string; query: string; variables: () => Record<string, unknown>; sse?: boolean };
  const probes = Object.entries(GRAPHQL_FIELDS).flatMap(([field, entry]): Probe[] => {
    const order = () => fx.a;
    switch (entry.kind) {
      case 'part':
        return [];
      case 'action':
        return [
          {
            field,
            query: actionMutation(field),
            variables: () => ({ id: gid('Order', order().id), v: order().version, input: actionInput(entry.action, order(), DEMO.admin) }),
          },
        ];
      case 'create':
        return [{ field, query: CREATE_ORDER, variables: () => ({ input: createInput(randomUUID()) }) }];
      case 'subscription':
        return field === 'Subscription.orderUpdated'
          ? [{ field, query: ORDER_UPDATED, variables: () => ({ id: gid('Order', order().id) }), sse: true }]
          : [{ field, query: RESTAURANT_ORDER_UPDATED, variables: () => ({ id: gid('Restaurant', 1) }), sse: true }];
      default: {
        const queries: Record<string, string> = {
          'Query.order': `query($id: ID!) { order(id: $id) { ${ORDER_SELECTION} } }`,
          'Query.node': `query($id: ID!) { node(id: $id) { ... on Order { ${ORDER_SELECTION} } } }`,
          'Query.nodes': `query($id: ID!) { nodes(ids: [$id]) { ... on Order { ${ORDER_SELECTION} } } }`,
          'Query.orders': `{ orders { edges { node { ${ORDER_SELECTION} } } } }`,
          'Query.events': `{ events { edges { node { order { ${ORDER_SELECTION} } } } } }`,
          'Restaurant.orders': `{ restaurant(id: "1") { orders { edges { node { ${ORDER_SELECTION} } } } } }`,
        };
        return [{ field, query: queries[field]!, variables: () => ({ id: gid('Order', order().id) }) }];
      }
    }
  });
  const cases = probes.flatMap((probe) => (['none', 'garbage'] as const).map((token) => ({ ...probe, token })));

  it.each(cases)(
    '$field with token $token → UNAUTHENTICATED, no data, nothing changes',
    async ({ field, query, variables, sse, token }) => {
      const caller = token === 'none' ? null : 'garbage';
      if (sse) {
        // Refused with no data; which code it carries is the known bug below.
        expect(await refusedStreamCode(await subscribe(caller, query, variables()), field), field).toMatch(/^(UNAUTHENTICATED|NOT_FOUND)$/);
      } else {
        const body = await gql(caller, query, variables());
        expect(body.errors?.[0]?.extensions?.code, field).toBe('UNAUTHENTICATED');
        expect(JSON.stringify(body.data ?? null), field).not.toContain('databaseId');
      }
      await expectUnchanged(fx.a, field);
    },
  );

  // SPEC §3: no or a bad token is UNAUTHENTICATED in GraphQL, subscriptions included.
  it.each(probes.filter((probe) => probe.sse))('$field without a token is UNAUTHENTICATED', async ({ field, query, variables }) => {
    await expectRefusedStream(await subscribe(null, query, variables()), 'UNAUTHENTICATED', field);
  });
});
