/**
 * Names that exist on every JavaScript object (issue 11, item 4). A body key `__proto__`, `constructor` or `toString`
 * was looked up in a plain object while the error was described, so the problem read "[object Object]: is not a known
 * field" with `fields[].path` `[{}]` or `[null]`, which the service's own OpenAPI schema refuses. Every such name,
 * wherever a client can put it, must come back as the client wrote it, in an error its OpenAPI document allows.
 */
import { Buffer } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { backend, DEMO, graphql, setUpTestService } from '../support/harness.ts';
import { orderIn } from '../support/orders.ts';
import { createBody, type RestResponse, rest } from '../support/rest-client.ts';

/** Every own property name of Object.prototype, `__proto__`, `constructor` and `toString` among them. */
const NAMES = Object.getOwnPropertyNames(Object.prototype);
const PROTOTYPE_BEFORE = [...NAMES];

const service = setUpTestService({}, { resetEach: false });
let validateProblem: (body: unknown) => boolean;
let validateLegacyError: (body: unknown) => boolean;
let orderId: number;

beforeAll(async () => {
  const document = (await rest(service, null, 'GET', '/api/openapi.json')).body;
  const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
  ajv.addSchema({ $id: 'openapi.json', components: document.components });
  validateProblem = ajv.compile({ $ref: 'openapi.json#/components/schemas/Problem' });
  validateLegacyError = ajv.compile({ $ref: 'openapi.json#/components/schemas/LegacyError' });
  await service.reset();
  orderId = (await orderIn(service, 'pending_payment')).id;
});

/** A body with `name` as a key, written as JSON text (JSON.stringify of an object could not hold `__proto__`). */
const withKey = (json: string, name: string, value = '1') => `${json.slice(0, -1)}${json.length > 2 ? ',' : ''}"${name}":${value}}`;

/** A 400 naming `path` as an unknown field, valid against the document's Problem (v2) or LegacyError (v1) schema. */
function expectUnknownField(response: RestResponse, path: string[], kind = 'field') {
  expect(response.status, response.text).toBe(400);
  const fields = response.body.fields as { path: unknown[]; message: string }[];
  expect(fields).toContainEqual({ path, message: `is not a known ${kind}` });
  expect(response.body.detail ?? response.body.error).toContain(`${path.join('.')}: is not a known ${kind}`);
  expect(response.text).not.toMatch(/\[object Object\]|\[native code\]/);
  const isV2 = response.headers.get('content-type')?.startsWith('application/problem+json');
  const valid = isV2 ? validateProblem(response.body) : validateLegacyError(response.body);
  expect(valid, response.text).toBe(true);
}

describe(`Object.prototype's names as field names (${backend})`, () => {
  it.each(NAMES)('%s as a key of a v2 or v1 body: 400 naming it, a problem the OpenAPI document allows', async (name) => {
    const create = JSON.stringify(createBody());
    const key = (headers: Record<string, string> = {}) => ({ 'Idempotency-Key': randomUUID(), ...headers });
    const cases: [RestResponse, string[]][] = [
      [await rest(service, DEMO.customer1, 'POST', '/api/v2/orders', { body: withKey(create, name), headers: key() }), [name]],
      [
        await rest(service, DEMO.customer1, 'POST', '/api/v2/orders', {
          body: JSON.stringify(createBody()).replace('"quantity":2', `"quantity":2,"${name}":{"x":1}`),
          headers: key(),
        }),
        ['items', '0', name],
      ],
      [
        await rest(service, DEMO.customer1, 'POST', `/api/v2/orders/${orderId}/cancellation`, {
          body: withKey('{}', name, '"x"'),
          headers: key({ 'If-Match': '*' }),
        }),
        [name],
      ],
      [await rest(service, DEMO.rider1, 'PUT', '/api/v2/riders/1/location', { body: withKey('{"lat":1,"lng":1}', name) }), [name]],
      [await rest(service, DEMO.customer1, 'POST', '/api/v1/orders', { body: withKey(create, name) }), [name]],
      [await rest(service, DEMO.customer1, 'PUT', `/api/v1/orders/${orderId}`, { body: withKey('{"status":"cancelled"}', name) }), [name]],
    ];
    for (const [response, path] of cases) expectUnknownField(response, path);
  });

  it.each(NAMES)('%s as a query parameter or a value: 400 naming the parameter', async (name) => {
    const encoded = encodeURIComponent(name);
    expectUnknownField(await rest(service, DEMO.customer1, 'GET', `/api/v2/orders?${encoded}=1`), [name], 'query parameter');
    expectUnknownField(await rest(service, DEMO.customer1, 'GET', `/api/v2/orders/${orderId}?${encoded}=1`), [name], 'query parameter');
    for (const path of [`/api/v2/orders?status=${encoded}`, `/api/v2/orders?include=${encoded}`]) {
      const response = await rest(service, DEMO.customer1, 'GET', path);
      expect(response.status).toBe(400);
      expect(validateProblem(response.body), response.text).toBe(true);
    }
    const legacy = await rest(service, DEMO.customer1, 'PUT', `/api/v1/orders/${orderId}`, { json: { status: name } });
    expect(legacy.status).toBe(400);
    expect(legacy.body.fields).toEqual([{ path: ['status'], message: expect.stringMatching(/^unknown status/) }]);
    const payment = await rest(service, DEMO.customer1, 'POST', `/api/v2/orders/${orderId}/payment`, {
      json: { payment_method: name, amount: 22_000 },
      headers: { 'If-Match': '*', 'Idempotency-Key': randomUUID() },
    });
    expect(payment.status).toBe(400);
    expect(payment.body.fields[0].path).toEqual(['payment_method']);
    expect(validateProblem(payment.body), payment.text).toBe(true);
  });

  it('reports an unknown key as the client spelled it, camelCase included', async () => {
    const body = JSON.stringify({ restaurant_id: 1, items: [{ menu_item_id: 1, quantity: 1 }], deliveryAddress: 'x' });
    const response = await rest(service, DEMO.customer1, 'POST', '/api/v2/orders', { body, headers: { 'Idempotency-Key': randomUUID() } });
    expectUnknownField(response, ['deliveryAddress']);
    expect(response.body.fields).toContainEqual({ path: ['delivery_address'], message: expect.any(String) });
  });

  it('takes __proto__ and constructor as idempotency keys like any other key', async () => {
    for (const key of ['__proto__', 'constructor']) {
      const first = await rest(service, DEMO.customer1, 'POST', '/api/v2/orders', {
        json: createBody(),
        headers: { 'Idempotency-Key': key },
      });
      const again = await rest(service, DEMO.customer1, 'POST', '/api/v2/orders', {
        json: createBody(),
        headers: { 'Idempotency-Key': key },
      });
      expect(first.status).toBe(201);
      expect(again.status).toBe(201);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect(again.body.id).toBe(first.body.id);
    }
  });

  it.each(NAMES)('%s in GraphQL inputs and global ids names nothing', async (name) => {
    const input = `{"idempotencyKey":"${randomUUID()}","restaurantId":"1","items":[{"menuItemId":"1","quantity":1}],"deliveryAddress":"x"}`;
    const created = await graphql(
      service,
      DEMO.customer1,
      'mutation($input: CreateOrderInput!) { createOrder(input: $input) { __typename } }',
      JSON.parse(`{"input":${withKey(input, name)}}`),
    );
    expect(created.data).toBeUndefined();
    expect(created.errors?.[0]?.message).toContain(`"${name}"`);
    const forged = Buffer.from(`${name}:${orderId}`).toString('base64');
    const node = await graphql(service, DEMO.admin, 'query($id: ID!) { node(id: $id) { id } }', { id: forged });
    expect(node).toEqual({ data: { node: null } });
    const paid = await graphql(
      service,
      DEMO.customer1,
      `mutation($id: ID!, $input: PayOrderInput!) {
        payOrder(orderId: $id, expectedVersion: 1, input: $input) { __typename ... on ValidationError { fields { path } } }
      }`,
      { id: String(orderId), input: { idempotencyKey: randomUUID(), paymentMethod: name, amount: 22_000 } },
    );
    expect(paid.data.payOrder).toEqual({ __typename: 'ValidationError', fields: [{ path: ['paymentMethod'] }] });
  });

  it('left Object.prototype as it was', () => {
    expect(Object.getOwnPropertyNames(Object.prototype)).toEqual(PROTOTYPE_BEFORE);
    expect(Object.getPrototypeOf({})).toBe(Object.prototype);
  });
});
