/**
 * Property-based hostile input (SPEC §7, issue 6): fast-check generates requests against REST v1, REST v2 and
 * GraphQL — malformed and deeply nested JSON, wrong types, unknown fields, 10k-character and hostile strings, bogus
 * ids and forged tokens — and checks that the service never answers 5xx, that every REST error is a 4xx in its
 * version's error format, that GraphQL always answers JSON with data or errors, that a refused request writes
 * nothing, and that afterwards the database invariants hold and /readyz is 200.
 *
 * The seed is random per run; fast-check prints it (with the shrunk counterexample) on failure. Reproduce with
 * FC_SEED=<seed> npx vitest run test/hostile.
 */

import fc from 'fast-check';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Actor, secretKey, signToken } from '../../src/domain/auth.ts';
import { findViolations, formatViolations } from '../../src/domain/invariants.ts';
import { backend, DEMO, MENU, setUpTestService } from '../support/harness.ts';
import { orderIn } from '../support/orders.ts';

const service = setUpTestService({}, { resetEach: false });
/** Ids of real orders in assorted states, so generated requests also reach the deeper layers. */
let orderIds: number[] = [];
/** Authorization header values by label (undefined: no header). */
const auth = new Map<string, string | undefined>();
let cases = 0;
/** Responses by transport and status, printed at the end so a run shows which layers the generators reached. */
const statuses = new Map<string, number>();

const FC_PARAMS = process.env.FC_SEED ? { seed: Number(process.env.FC_SEED) } : {};

beforeAll(async () => {
  const orders = await Promise.all([
    orderIn(service, 'pending_payment'),
    orderIn(service, 'pending_payment'),
    orderIn(service, 'pending_payment', { customer: DEMO.customer2, restaurantId: 2 }),
    orderIn(service, 'pending_acceptance'),
    orderIn(service, 'preparing', { withRider: true }),
    orderIn(service, 'in_transit'),
    orderIn(service, 'delivered'),
  ]);
  orderIds = orders.map((order) => order.id);

  const key = secretKey(service.config.jwtSecret);
  const now = Math.floor(Date.now() / 1000);
  const forged = (claims: Record<string, unknown>, secret = key, exp: number = now + 3600) =>
    new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setIssuedAt().setExpirationTime(exp).sign(secret);
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const valid = async (actor: Actor) => `Bearer ${await service.token(actor)}`;
  const customer1 = await service.token(DEMO.customer1);
  const entries: [string, string | undefined][] = [
    ['customer1', await valid(DEMO.customer1)],
    ['customer2', await valid(DEMO.customer2)],
    ['restaurant1', await valid(DEMO.restaurant1)],
    ['rider1', await valid(DEMO.rider1)],
    ['admin', await valid(DEMO.admin)],
    ['none', undefined],
    ['empty', ''],
    ['garbage', 'Bearer garbage'],
    ['basic', 'Basic dXNlcjpwYXNz'],
    ['lowercase scheme', `bearer ${customer1}`],
    ['tampered signature', `Bearer ${customer1.slice(0, -3)}AAA`],
    ['trailing junk', `Bearer ${customer1}.x`],
    ['wrong secret', `Bearer ${await signToken(DEMO.customer1, secretKey('not-the-secret'), '1h')}`],
    ['expired', `Bearer ${await signToken(DEMO.customer1, key, now - 60)}`],
    ['unknown actor', `Bearer ${await forged({ role: 'customer', sub: '999999' })}`],
    ['unknown role', `Bearer ${await forged({ role: 'superuser', sub: '1' })}`],
    ['sub -1', `Bearer ${await forged({ role: 'customer', sub: '-1' })}`],
    ['sub 1e20', `Bearer ${await forged({ role: 'customer', sub: '1e20' })}`],
    ['sub as number', `Bearer ${await forged({ role: 'admin', sub: 1 })}`],
    ['alg none', `Bearer ${b64({ alg: 'none', typ: 'JWT' })}.${b64({ role: 'admin', sub: '1', exp: now + 3600 })}.`],
    ['sql in token', "Bearer ' OR 1=1 --"],
    ['huge token', `Bearer ${'A'.repeat(10_000)}`],
  ];
  for (const [label, value] of entries) auth.set(label, value);
}, 120_000);

afterAll(() => {
  const histogram = [...statuses]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, count]) => `${key}×${count}`)
    .join(' ');
  console.info(`[hostile/property] ${cases} generated requests on ${backend}: ${histogram}`);
});

// ─── Generators ────────────────────────────────────────────────────────────────────────────────────────────────

const HOSTILE_STRINGS = [
  '',
  ' ',
  '"',
  "'",
  '\\',
  '`',
  '"\'\\"',
  '\u0000',
  'a\u0000b',
  '\uD800',
  '\uDFFF',
  'x\uDBFFy',
  '\u202E',
  '\u200F\u202Bשלום\u202C',
  '\u200B\uFEFF',
  '🍜',
  '👨‍👩‍👧‍👦',
  '🏳️‍🌈',
  '주문',
  "'; DROP TABLE orders; --",
  "1' OR '1'='1",
  '1; SELECT pg_sleep(10)',
  '<script>alert(1)</script>',
  '<img src=x onerror=alert(1)>',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a template-injection probe, meant literally
  '${process.env}',
  '{{7*7}}',
  '%00',
  '%',
  '%zz',
  '../../etc/passwd',
  '\r\n\t',
  'null',
  'undefined',
  'NaN',
  '-0',
  '1e999',
  '__proto__',
  'constructor',
  'o1-v1',
];

/** Strings of any UTF-16 code units, lone surrogates and controls included. */
const codeUnitString = fc
  .array(
    fc.oneof(
      fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code)),
      fc.constantFrom(...HOSTILE_STRINGS),
    ),
    { maxLength: 12 },
  )
  .map((parts) => parts.join(''));

const HUGE = 10_000;
const hugeString = fc
  .oneof(
    fc.constantFrom('a', '🍜', "'", '\uD800', '\u0000', '\u202E', '<b>'),
    codeUnitString.filter((s) => s.length > 0),
  )
  .map((unit) => unit.repeat(Math.ceil(HUGE / unit.length)).slice(0, HUGE));

const hostileString = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
  { weight: 3, arbitrary: codeUnitString },
  { weight: 1, arbitrary: hugeString },
);

/** A placeholder replaced by a depth-1000 JSON text after JSON.stringify. */
const DEEP = '\u0001__DEEP__\u0001';
const DEPTH = 1000;
const DEEP_TEXTS = [
  '['.repeat(DEPTH) + ']'.repeat(DEPTH),
  `${'{"a":'.repeat(DEPTH)}1${'}'.repeat(DEPTH)}`,
  `${'[{"a":'.repeat(DEPTH / 2)}null${'}]'.repeat(DEPTH / 2)}`,
];
const deepText = fc.constantFrom(...DEEP_TEXTS);

const hostileNumber = fc.oneof(
  fc.constantFrom(-1, 0, -0, 1.5, 1e20, -1e20, 2 ** 31, 2 ** 31 - 1, 2 ** 53 + 2, Number.MAX_VALUE, 1e-300, 22_000, 1),
  fc.integer(),
  fc.double(), // NaN and ±Infinity become null in JSON
);

/** Any JSON value a client might put where another type belongs. */
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: hostileString },
  { weight: 3, arbitrary: hostileNumber },
  { weight: 1, arbitrary: fc.constantFrom(null, true, false, [], {}, { $ne: 1 }, JSON.parse('{"__proto__": {"admin": true}}'), [1, 2]) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.constant(DEEP) },
);

type Mutation =
  | { kind: 'set'; path: string[]; value: unknown }
  | { kind: 'add'; name: string; value: unknown }
  | { kind: 'delete'; path: string[] };

/** Paths (into `valid`) a mutation may touch, nested ones included. */
function pathsOf(value: unknown, prefix: string[] = []): string[][] {
  if (value === null || typeof value !== 'object') return [prefix];
  const children = Object.entries(value as Record<string, unknown>).flatMap(([key, child]) => pathsOf(child, [...prefix, key]));
  return prefix.length ? [prefix, ...children] : children;
}

function applyMutations(valid: unknown, mutations: Mutation[]): unknown {
  let root = structuredClone(valid) as unknown;
  for (const generated of mutations) {
    // fast-check hands out the same instance of a constant object to several mutations; set it as is and one
    // mutation could put the object inside itself (a circular body), or change the constant for later runs.
    const mutation = 'value' in generated ? { ...generated, value: structuredClone(generated.value) } : generated;
    const path = mutation.kind === 'add' ? [] : mutation.path;
    if (mutation.kind === 'set' && path.length === 0) {
      root = mutation.value;
      continue;
    }
    let parent = root as Record<string, unknown>;
    for (const key of path.slice(0, -1)) {
      const next = parent?.[key];
      if (next === null || typeof next !== 'object') {
        parent = undefined as never;
        break;
      }
      parent = next as Record<string, unknown>;
    }
    if (!parent || typeof parent !== 'object') continue;
    if (mutation.kind === 'set') parent[path.at(-1)!] = mutation.value;
    else if (mutation.kind === 'delete') delete parent[path.at(-1)!];
    else Object.defineProperty(parent, mutation.name, { value: mutation.value, enumerable: true, configurable: true, writable: true });
  }
  return root;
}

/** JSON text for a value, with each DEEP placeholder replaced by a depth-1000 structure. */
function toJsonText(value: unknown, deep: string): string {
  return (JSON.stringify(value) ?? 'null').replaceAll(JSON.stringify(DEEP), deep);
}

/** A valid body, changed by 0–3 mutations (set a field to a hostile value, add an unknown field, drop a field). */
function mutatedValue(valid: unknown): fc.Arbitrary<unknown> {
  const paths = pathsOf(valid);
  const mutation: fc.Arbitrary<Mutation> = fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record({ kind: fc.constant('set' as const), path: fc.constantFrom(...paths, []), value: hostileValue }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('add' as const),
        name: fc.oneof(
          fc.constantFrom('total_amount', 'status', 'version', '__proto__', 'constructor', 'id', 'customer_id'),
          hostileString,
        ),
        value: hostileValue,
      }),
    },
    ...(paths.length
      ? [{ weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), path: fc.constantFrom(...paths) }) }]
      : []),
  );
  return fc.array(mutation, { minLength: 0, maxLength: 3 }).map((mutations) => applyMutations(valid, mutations));
}

const MALFORMED_JSON = [
  '{',
  '{"restaurant_id": 1,',
  '[1, 2',
  'nul',
  '{"a": 1,}',
  "{'a': 1}",
  '{a: 1}',
  '{"a": 1}{"b": 2}',
  '\uFEFF{"a": 1}',
  '\u0000',
  'NaN',
  '1e999',
  '"\\ud800"',
  '{"a": "\\u0000"}',
  '{"a": "\\x41"}',
  '{"a": 01}',
  '{"a": .5}',
  '{"a": 1e}',
  '<xml/>',
  'payment_method=card&amount=1',
  '[',
  ']',
  '{"a": "unterminated',
  '{"__proto__": {"polluted": true}}',
];

/** Text of a request body built around `valid`; undefined sends no body. */
function bodyFor(valid: unknown): fc.Arbitrary<string | undefined> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.tuple(mutatedValue(valid), deepText).map(([value, deep]) => toJsonText(value, deep)) },
    { weight: 1, arbitrary: fc.constantFrom(...MALFORMED_JSON) },
    { weight: 1, arbitrary: deepText },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value)) },
    { weight: 1, arbitrary: fc.constant(undefined) },
  );
}

const contentType = fc.oneof(
  { weight: 8, arbitrary: fc.constant('application/json') },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      undefined,
      'text/plain',
      'application/json; charset=utf-16',
      'application/json; charset="\u00ff"',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/problem+json',
      'application/vnd.api+json',
      'APPLICATION/JSON',
      ';;;',
    ),
  },
);

/** A header value the Fetch API accepts (bytes ≤ 0xFF, no NUL/CR/LF) made from a hostile string. */
const headerSafe = (value: string) =>
  [...value]
    .filter((char) => char !== '\u0000' && char !== '\r' && char !== '\n')
    .map((char) => (char.charCodeAt(0) > 0xff ? '?' : char))
    .join('');

/** encodeURIComponent that never throws: lone surrogates become U+FFFD first. */
const encode = (value: string) =>
  encodeURIComponent(value.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD'));

const AUTH_LABELS = [
  'customer1',
  'customer2',
  'restaurant1',
  'rider1',
  'admin',
  'none',
  'empty',
  'garbage',
  'basic',
  'lowercase scheme',
  'tampered signature',
  'trailing junk',
  'wrong secret',
  'expired',
  'unknown actor',
  'unknown role',
  'sub -1',
  'sub 1e20',
  'sub as number',
  'alg none',
  'sql in token',
  'huge token',
] as const;
const authLabel = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('customer1', 'customer1', 'customer2', 'restaurant1', 'rider1', 'admin') },
  { weight: 2, arbitrary: fc.constantFrom(...AUTH_LABELS) },
);

const globalId = (typename: string, id: string | number) => Buffer.from(`${typename}:${id}`).toString('base64');

/** An order id as a path segment: a real one, or something that is not an id. */
const pathId = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 6 }).map((index) => String(orderIds[index])) },
  {
    weight: 4,
    arbitrary: fc
      .oneof(
        fc.constantFrom('-1', '0', '1e20', '1e3', 'abc', '1.5', '9007199254740993', '2147483648', '99999999999', '0x10', '01', ' 1'),
        fc.constantFrom('NaN', 'Infinity', '..', '.', globalId('Order', 1), globalId('Restaurant', 1), globalId('Order', 'abc')),
        hostileString,
        fc.integer().map(String),
      )
      .map(encode),
  },
  { weight: 1, arbitrary: fc.constantFrom('%00', '%2F', '%2e%2e', '%', '%zz', '%FF%FE', '1%20OR%201=1') },
);

const idempotencyKey = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 1, max: 30 }).map((n) => `key-${n}`) },
  { weight: 1, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', '""', '"quoted"', '"', 'k'.repeat(255), 'k'.repeat(256), 'k'.repeat(HUGE)) },
  { weight: 2, arbitrary: hostileString.map(headerSafe) },
);

const ifMatch = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .tuple(fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 8 }), fc.boolean())
      .map(([index, version, weak]) => `${weak ? 'W/' : ''}"o${orderIds[index]}-v${version}"`),
  },
  { weight: 2, arbitrary: fc.constantFrom('*', undefined, '', ' , ', '"a", "b"', '*, "o1-v1"', '"unterminated', 'W/', '""') },
  { weight: 2, arbitrary: hostileString.map(headerSafe) },
);

type GeneratedRequest = {
  transport: 'rest' | 'graphql';
  method: string;
  path: string;
  auth: string;
  headers: Record<string, string | undefined>;
  body?: string | undefined;
  contentType?: string | undefined;
};

// REST v2: POST /orders, actions, GETs.
const validCreate = { restaurant_id: 1, items: [{ menu_item_id: MENU.r1[0], quantity: 2 }], delivery_address: '1 Test Street' };
const V2_ACTIONS: Record<string, unknown> = {
  payment: { payment_method: 'card', amount: 22_000 },
  cancellation: { reason: 'changed my mind' },
  acceptance: {},
  rejection: { reason: 'closed' },
  'preparation-complete': {},
  'rider-assignment': { rider_id: 1 },
  pickup: {},
  delivery: {},
};

const v2Create: fc.Arbitrary<GeneratedRequest> = fc
  .record({ auth: authLabel, key: idempotencyKey, body: bodyFor(validCreate), contentType })
  .map(({ auth, key, body, contentType }) => ({
    transport: 'rest' as const,
    method: 'POST',
    path: '/api/v2/orders',
    auth,
    headers: { 'idempotency-key': key },
    body,
    contentType,
  }));

const v2Action: fc.Arbitrary<GeneratedRequest> = fc
  .constantFrom(...Object.keys(V2_ACTIONS), 'refund', 'PAYMENT', 'payment/', '')
  .chain((action) =>
    fc.record({
      action: fc.constant(action),
      id: pathId,
      auth: authLabel,
      ifMatch,
      key: idempotencyKey,
      body: bodyFor(V2_ACTIONS[action] ?? {}),
      contentType,
    }),
  )
  .map(({ action, id, auth, ifMatch, key, body, contentType }) => ({
    transport: 'rest' as const,
    method: 'POST',
    path: `/api/v2/orders/${id}/${action}`,
    auth,
    headers: { 'if-match': ifMatch, 'idempotency-key': key },
    body,
    contentType,
  }));

const queryValue = fc.oneof(
  fc.constantFrom('pending_payment', 'preparing,delivered', 'PENDING_PAYMENT', 'pending_payment,', '20', '0', '101', '-1', '1e20', '1.5'),
  fc.constantFrom('restaurant', 'restaurant,rider', 'rider,rider', 'restaurant,,rider', 'driver', 'eyJpZCI6MX0', 'AAAA'),
  hostileString,
);
const queryString = fc
  .array(
    fc.oneof(
      {
        weight: 4,
        arbitrary: fc.tuple(fc.constantFrom('status', 'limit', 'cursor', 'include'), queryValue).map(([k, v]) => `${k}=${encode(v)}`),
      },
      { weight: 1, arbitrary: fc.tuple(hostileString, queryValue).map(([k, v]) => `${encode(k)}=${encode(v)}`) },
      {
        weight: 1,
        arbitrary: fc.constantFrom(
          'cursor=%FF%FE',
          'limit=%',
          'status=%zz',
          'include',
          '&&',
          '==',
          'limit=1&limit=2',
          'a[b]=1',
          'cursor=%00',
        ),
      },
    ),
    { maxLength: 4 },
  )
  .map((pairs) => (pairs.length ? `?${pairs.join('&')}` : ''));

const getRequest: fc.Arbitrary<GeneratedRequest> = fc
  .record({
    target: fc.constantFrom('v2 list', 'v2 order', 'v1 list', 'v1 order', 'v2 restaurant', 'v2 rider'),
    id: pathId,
    query: queryString,
    auth: authLabel,
    ifNoneMatch: ifMatch,
  })
  .map(({ target, id, query, auth, ifNoneMatch }) => {
    const paths: Record<string, string> = {
      'v2 list': '/api/v2/orders',
      'v2 order': `/api/v2/orders/${id}`,
      'v1 list': '/api/v1/orders',
      'v1 order': `/api/v1/orders/${id}`,
      'v2 restaurant': `/api/v2/restaurants/${id}`,
      'v2 rider': `/api/v2/riders/${id}`,
    };
    return { transport: 'rest' as const, method: 'GET', path: `${paths[target]}${query}`, auth, headers: { 'if-none-match': ifNoneMatch } };
  });

// REST v1: PUT/PATCH status, pay, create.
const LEGACY_TARGETS = [
  'cancelled',
  'preparing',
  'rejected',
  'ready_for_pickup',
  'in_transit',
  'delivered',
  'pending_payment',
  'payment_failed',
];
const v1Request: fc.Arbitrary<GeneratedRequest> = fc.oneof(
  fc
    .record({
      method: fc.constantFrom('PUT', 'PATCH'),
      id: pathId,
      auth: authLabel,
      body: fc.constantFrom(...LEGACY_TARGETS).chain((status) => bodyFor({ status })),
      contentType,
    })
    .map(({ method, id, auth, body, contentType }) => ({
      transport: 'rest' as const,
      method,
      path: `/api/v1/orders/${id}`,
      auth,
      headers: {},
      body,
      contentType,
    })),
  fc
    .record({ id: pathId, auth: authLabel, key: idempotencyKey, body: bodyFor({ payment_method: 'card', amount: 22_000 }), contentType })
    .map(({ id, auth, key, body, contentType }) => ({
      transport: 'rest' as const,
      method: 'POST',
      path: `/api/v1/orders/${id}/pay`,
      auth,
      headers: { 'idempotency-key': key },
      body,
      contentType,
    })),
  fc.record({ auth: authLabel, key: idempotencyKey, body: bodyFor(validCreate), contentType }).map(({ auth, key, body, contentType }) => ({
    transport: 'rest' as const,
    method: 'POST',
    path: '/api/v1/orders',
    auth,
    headers: { 'idempotency-key': key },
    body,
    contentType,
  })),
);

// GraphQL: createOrder / payOrder variables, raw documents, malformed bodies.
const RESULT = '__typename ... on Error { message }';
const CREATE_ORDER = `mutation Create($input: CreateOrderInput!) { createOrder(input: $input) { ${RESULT} ... on CreateOrderSuccess { replayed order { id status version } } } }`;
const PAY_ORDER = `mutation Pay($id: ID!, $v: Int!, $input: PayOrderInput!) { payOrder(orderId: $id, expectedVersion: $v, input: $input) { ${RESULT} ... on PayOrderSuccess { replayed order { id status version } } } }`;

const graphqlId = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 6 }).map((index): unknown => String(orderIds[index])) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 6 }).map((index): unknown => globalId('Order', orderIds[index]!)) },
  {
    weight: 3,
    arbitrary: fc.oneof(
      fc.constantFrom<unknown>(-1, 0, 1e20, 'abc', '-1', '0', '1e20', 1.5, null, true, [], {}),
      fc.constantFrom(
        globalId('Restaurant', 1),
        globalId('Payment', 1),
        globalId('Order', 'abc'),
        globalId('Order', -1),
        globalId('Nope', 1),
      ),
      fc.constantFrom(globalId('Order', '1e20'), globalId('Order', '99999999999'), 'T3JkZXI6', '====', globalId('Order', '\u0000')),
      hostileValue,
    ),
  },
);

const graphqlCreate = fc
  .record({
    auth: authLabel,
    key: fc.oneof(
      fc.integer({ min: 1, max: 30 }).map((n) => `key-${n}`),
      hostileString,
    ),
    input: mutatedValue({ restaurantId: '1', items: [{ menuItemId: String(MENU.r1[0]), quantity: 2 }], deliveryAddress: '1 Test Street' }),
    deep: deepText,
    wholeVariables: fc.option(hostileValue, { freq: 8 }),
  })
  .map(({ auth, key, input, deep, wholeVariables }) => {
    const withKey = input !== null && typeof input === 'object' && !Array.isArray(input) ? { idempotencyKey: key, ...input } : input;
    const variables = wholeVariables ?? { input: withKey };
    return { auth, body: toJsonText({ query: CREATE_ORDER, variables }, deep) };
  });

const graphqlPay = fc
  .record({
    auth: authLabel,
    id: graphqlId,
    version: fc.oneof(fc.integer({ min: 0, max: 4 }), hostileValue),
    input: mutatedValue({ idempotencyKey: 'key-1', paymentMethod: 'card', amount: 22_000 }),
    key: fc.oneof(
      fc.integer({ min: 1, max: 30 }).map((n) => `key-${n}`),
      hostileString,
    ),
    deep: deepText,
  })
  .map(({ auth, id, version, input, key, deep }) => {
    const withKey =
      input !== null && typeof input === 'object' && !Array.isArray(input) && 'idempotencyKey' in input
        ? { ...input, idempotencyKey: key }
        : input;
    return { auth, body: toJsonText({ query: PAY_ORDER, variables: { id, v: version, input: withKey } }, deep) };
  });

const rawDocument = fc.oneof(
  hostileString,
  fc.constantFrom(
    `{${' a {'.repeat(DEPTH)}${'}'.repeat(DEPTH)}}`,
    `query { ${'order(id: 1) { id restaurant { id orders { edges { node { id '.repeat(50)} }`,
    '{ viewer { id } }',
    '{ __schema { types { name } } }',
    'mutation { payOrder(orderId: "1", expectedVersion: 1, input: {idempotencyKey: "k", paymentMethod: "card", amount: 22000}) { __typename } }',
    `mutation { ${Array.from({ length: 30 }, (_, i) => `a${i}: createOrder(input: {idempotencyKey: "alias-${i}", restaurantId: "1", items: [{menuItemId: "1", quantity: 1}], deliveryAddress: "x"}) { __typename }`).join(' ')} }`,
    '{ order(id: "\\u0000") { id } }',
    '{ order(id: "\' OR 1=1 --") { id } }',
    `{ order(id: "${'9'.repeat(400)}") { id } }`,
    '{ node(id: "T3JkZXI6MQ==") { id } }',
    'subscription { orderChanged(orderId: "1") { id } }',
    'query @skip(if: true) { viewer { id } }',
    '{ orders(first: -1) { edges { node { id } } } }',
    '{ orders(first: 1000000000000) { edges { node { id } } } }',
    '{ orders(after: "garbage") { edges { node { id } } } }',
    '{ restaurants { edges { node { menu { name } } } } }',
    'fragment F on Order { ...F } { viewer { id } }',
  ),
);

const graphqlRaw = fc.oneof(
  fc
    .record({
      auth: authLabel,
      query: rawDocument,
      operationName: fc.option(hostileValue, { freq: 3 }),
      variables: fc.option(hostileValue, { freq: 3 }),
      deep: deepText,
    })
    .map(({ auth, query, operationName, variables, deep }) => ({
      auth,
      body: toJsonText({ query, ...(operationName !== null && { operationName }), ...(variables !== null && { variables }) }, deep),
    })),
  fc
    .record({
      auth: authLabel,
      body: fc.oneof(
        fc.constantFrom(...MALFORMED_JSON),
        deepText,
        hostileString,
        fc.jsonValue().map((v) => JSON.stringify(v)),
      ),
    })
    .map(({ auth, body }) => ({ auth, body })),
);

const graphqlRequest: fc.Arbitrary<GeneratedRequest> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.tuple(fc.oneof(graphqlCreate, graphqlPay, graphqlRaw), contentType).map(
      ([made, type]): GeneratedRequest => ({
        transport: 'graphql',
        method: 'POST',
        path: '/graphql',
        headers: {},
        contentType: type,
        ...made,
      }),
    ),
  },
  {
    weight: 2,
    arbitrary: fc
      .record({
        auth: authLabel,
        query: rawDocument,
        accept: fc.constantFrom(undefined, 'application/json', 'application/graphql-response+json', '*/*'),
      })
      .map(({ auth, query, accept }) => ({
        transport: 'graphql' as const,
        method: 'GET',
        path: `/graphql?query=${encode(query)}`,
        auth,
        headers: { accept },
      })),
  },
);

// ─── Sending and checking ─────────────────────────────────────────────────────────────────────────────────────

type Snapshot = Record<string, number>;

/** Everything a write would change, in one round trip. */
async function snapshot(): Promise<Snapshot> {
  const [row] = await service.container.db.prisma.$queryRawUnsafe<Snapshot[]>(
    `SELECT (SELECT count(*) FROM orders)::int AS orders,
            (SELECT coalesce(sum(version), 0) FROM orders)::int AS versions,
            (SELECT count(*) FROM order_items)::int AS items,
            (SELECT count(*) FROM order_events)::int AS events,
            (SELECT count(*) FROM payments)::int AS payments,
            (SELECT count(*) FROM refunds)::int AS refunds,
            (SELECT count(*) FROM idempotency_records)::int AS records`,
  );
  return row!;
}

const describeRequest = (request: GeneratedRequest) =>
  `${request.method} ${request.path.slice(0, 300)} as ${request.auth}; headers ${JSON.stringify(request.headers).slice(0, 300)}; ` +
  `content-type ${request.contentType}; body ${JSON.stringify(request.body?.slice(0, 300))}${(request.body?.length ?? 0) > 300 ? '…' : ''}`;

async function send(request: GeneratedRequest) {
  const headers = new Headers();
  const authorization = auth.get(request.auth);
  if (authorization !== undefined) headers.set('authorization', authorization);
  for (const [name, value] of Object.entries(request.headers)) if (value !== undefined) headers.set(name, value);
  if (request.body !== undefined && request.contentType !== undefined) headers.set('content-type', request.contentType);
  const response = await service.app.request(request.path, { method: request.method, headers, body: request.body });
  const text = await response.text();
  return { status: response.status, contentType: response.headers.get('content-type') ?? '', text };
}

const parse = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

/** Sends one generated request and checks every property that concerns a single response. */
async function check(request: GeneratedRequest): Promise<void> {
  cases++;
  const before = await snapshot();
  const response = await send(request);
  const bucket = `${request.transport} ${response.status}`;
  statuses.set(bucket, (statuses.get(bucket) ?? 0) + 1);
  const context = `${describeRequest(request)}\n→ ${response.status} ${response.contentType} ${response.text.slice(0, 500)}`;
  expect(response.status, context).toBeLessThan(500);
  const body = parse(response.text) as Record<string, unknown> | undefined;
  let refused: boolean;

  if (request.transport === 'rest') {
    refused = response.status >= 400;
    if (refused) {
      const pathname = new URL(request.path, 'http://localhost').pathname;
      expect(body, context).toBeTypeOf('object');
      if (pathname.startsWith('/api/v1/')) {
        expect(response.contentType, context).toMatch(/^application\/json/);
        expect(body, context).toMatchObject({ error: expect.any(String), code: expect.any(String) });
      } else {
        expect(response.contentType, context).toMatch(/^application\/problem\+json/);
        expect(body, context).toMatchObject({
          type: expect.any(String),
          title: expect.any(String),
          status: response.status,
          code: expect.any(String),
        });
      }
    }
  } else {
    expect(response.contentType, context).toMatch(/json/);
    expect(body, context).toBeTypeOf('object');
    expect(typeof body === 'object' && body !== null && ('data' in body || 'errors' in body), context).toBe(true);
    // A mutation changed something only if one of its fields answered a *Success type.
    const data = body?.data as Record<string, { __typename?: string } | null> | null | undefined;
    const succeeded = Object.values(data ?? {}).some((field) => field?.__typename?.endsWith('Success'));
    refused = !succeeded;
  }

  if (refused || request.method === 'GET') expect(await snapshot(), `a refused request wrote something: ${context}`).toEqual(before);
}

describe(`hostile input, property-based (${backend})`, () => {
  it('REST v2 POST /orders and actions: never 5xx, errors are problem+json 4xx, refusals write nothing', async () => {
    await fc.assert(fc.asyncProperty(fc.oneof({ weight: 1, arbitrary: v2Create }, { weight: 3, arbitrary: v2Action }), check), {
      ...FC_PARAMS,
      numRuns: 250,
    });
  }, 120_000);

  it('REST v1 PUT/PATCH, pay and create: never 5xx, errors are v1 {"error"} 4xx, refusals write nothing', async () => {
    await fc.assert(fc.asyncProperty(v1Request, check), { ...FC_PARAMS, numRuns: 150 });
  }, 120_000);

  it('REST GETs with hostile ids, query strings and If-None-Match: never 5xx, never a write', async () => {
    await fc.assert(fc.asyncProperty(getRequest, check), { ...FC_PARAMS, numRuns: 120 });
  }, 120_000);

  it('GraphQL createOrder/payOrder variables, raw documents and bodies: always JSON with data or errors, never 5xx', async () => {
    await fc.assert(fc.asyncProperty(graphqlRequest, check), { ...FC_PARAMS, numRuns: 250 });
  }, 120_000);

  it('afterwards: every database invariant holds and the service is ready', async () => {
    const violations = await findViolations(service.container.db.prisma);
    expect(violations, formatViolations(violations)).toEqual([]);
    const ready = await service.app.request('/readyz');
    expect(ready.status, await ready.text()).toBe(200);
  });
});
