/**
 * schema.graphql is the printed schema (SPEC §4), and the names SPEC §4 fixes are there. Pure: no database.
 */
import fs from 'node:fs';
import type {
  GraphQLEnumType,
  GraphQLField,
  GraphQLInputObjectType,
  GraphQLInterfaceType,
  GraphQLObjectType,
  GraphQLUnionType,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import { NODE_TYPENAMES } from '../../src/graphql/ids.ts';
import { printedSchema, schema } from '../../src/graphql/schema.ts';

const ERROR_TYPES = {
  VersionConflictError: 'VERSION_CONFLICT',
  InvalidTransitionError: 'INVALID_TRANSITION',
  ForbiddenError: 'FORBIDDEN',
  NotFoundError: 'NOT_FOUND',
  ValidationError: 'VALIDATION_FAILED',
  IdempotencyKeyReusedError: 'IDEMPOTENCY_KEY_REUSED',
  IdempotencyKeyInProgressError: 'IDEMPOTENCY_KEY_IN_PROGRESS',
} as const;

const ORDER_ACTION_MUTATIONS = [
  'payOrder',
  'cancelOrder',
  'acceptOrder',
  'rejectOrder',
  'completeOrderPreparation',
  'assignRider',
  'pickUpOrder',
  'deliverOrder',
] as const;

/**
 * The kind of a schema type by its toStringTag: `instanceof` is unreliable here, the schema may be built with the
 * other (CJS/ESM) copy of `graphql`.
 */
const kindOf = (name: string) => Object.prototype.toString.call(schema.getType(name)).slice(8, -1);
const objectType = (name: string) => {
  expect(kindOf(name), name).toBe('GraphQLObjectType');
  return schema.getType(name) as GraphQLObjectType;
};
const argTypes = (field: GraphQLField<unknown, unknown>) => Object.fromEntries(field.args.map((arg) => [arg.name, String(arg.type)]));
const fieldNames = (type: { getFields(): Record<string, unknown> }) => Object.keys(type.getFields());

describe('schema.graphql', () => {
  it('is the schema the code builds (run `npm run schema:print` after changing a GraphQL type)', () => {
    const committed = fs.readFileSync(new URL('../../schema.graphql', import.meta.url), 'utf8');
    expect(committed, 'schema.graphql is stale: run `npm run schema:print` and commit the result').toBe(printedSchema());
  });
});

describe('SPEC §4 names', () => {
  it('Query has node, viewer, order, orders, restaurant, restaurants, rider', () => {
    const query = schema.getQueryType()!;
    expect(fieldNames(query)).toEqual(expect.arrayContaining(['node', 'viewer', 'order', 'orders', 'restaurant', 'restaurants', 'rider']));
    const fields = query.getFields();
    expect(argTypes(fields.node!)).toEqual({ id: 'ID!' });
    expect(argTypes(fields.order!)).toEqual({ id: 'ID!' });
    expect(argTypes(fields.restaurant!)).toEqual({ id: 'ID!' });
    expect(argTypes(fields.rider!)).toEqual({ id: 'ID!' });
    expect(argTypes(fields.orders!)).toMatchObject({ first: 'Int', after: 'String', status: '[OrderStatus!]' });
    expect(String(fields.orders!.type)).toBe('QueryOrdersConnection!');
    expect(argTypes(fields.restaurants!)).toMatchObject({ first: 'Int', after: 'String' });
  });

  it('Node, Order and its related types carry the SPEC fields', () => {
    expect(kindOf('Node')).toBe('GraphQLInterfaceType');
    for (const name of ['Order', 'Restaurant', 'MenuItem', 'Rider']) {
      const type = objectType(name);
      expect(type.getInterfaces().map(String), name).toContain('Node');
      expect(String(type.getFields().id!.type), name).toBe('ID!');
      expect(String(type.getFields().databaseId!.type), name).toBe('Int!');
    }
    const order = objectType('Order').getFields();
    expect(Object.keys(order)).toEqual(
      expect.arrayContaining([
        'id',
        'databaseId',
        'status',
        'version',
        'totalAmount',
        'items',
        'restaurant',
        'rider',
        'customer',
        'payment',
        'history',
        'availableActions',
        'createdAt',
        'updatedAt',
      ]),
    );
    expect(String(order.items!.type)).toBe('[OrderItem!]!');
    expect(String(order.history!.type)).toBe('[OrderEvent!]!');
    expect(String(order.availableActions!.type)).toBe('[OrderAction!]!');
    expect(String(order.status!.type)).toBe('OrderStatus!');
    expect(fieldNames(objectType('OrderItem'))).toEqual(expect.arrayContaining(['menuItem', 'name', 'quantity', 'unitPrice', 'lineTotal']));
    const event = objectType('OrderEvent').getFields();
    expect(Object.keys(event)).toEqual(expect.arrayContaining(['version', 'action', 'fromStatus', 'toStatus', 'actor', 'reason', 'at']));
    expect(String(event.action!.type)).toBe('OrderAction');
    expect(String(event.fromStatus!.type)).toBe('OrderStatus');
    expect(String(event.toStatus!.type)).toBe('OrderStatus!');
    expect(fieldNames(objectType(String(event.actor!.type).replace('!', '')))).toEqual(expect.arrayContaining(['role', 'databaseId']));
    expect(fieldNames(objectType('Restaurant'))).toEqual(expect.arrayContaining(['name', 'address', 'menu', 'orders']));
    expect(String(objectType('Restaurant').getFields().menu!.type)).toBe('[MenuItem!]!');
    expect(fieldNames(objectType('MenuItem'))).toEqual(expect.arrayContaining(['name', 'price', 'available']));
    expect(fieldNames(objectType('Rider'))).toEqual(expect.arrayContaining(['name', 'currentLocation']));
    const item = schema.getType('OrderItemInput') as GraphQLInputObjectType;
    expect(Object.fromEntries(Object.values(item.getFields()).map((f) => [f.name, String(f.type)]))).toEqual({
      menuItemId: 'ID!',
      quantity: 'Int!',
    });
  });

  it('node(id:) knows every type implementing Node', () => {
    const implementing = Object.keys(schema.getTypeMap()).filter(
      (name) =>
        kindOf(name) === 'GraphQLObjectType' &&
        objectType(name)
          .getInterfaces()
          .some((i) => i.name === 'Node'),
    );
    expect([...NODE_TYPENAMES].sort()).toEqual(implementing.sort());
  });

  it('OrderStatus and OrderAction have exactly the SPEC values', () => {
    const values = (name: string) =>
      (schema.getType(name) as GraphQLEnumType)
        .getValues()
        .map((value) => value.name)
        .sort();
    expect(kindOf('OrderStatus')).toBe('GraphQLEnumType');
    expect(kindOf('OrderAction')).toBe('GraphQLEnumType');
    expect(values('OrderStatus')).toEqual([
      'CANCELLED',
      'DELIVERED',
      'IN_TRANSIT',
      'PAYMENT_FAILED',
      'PENDING_ACCEPTANCE',
      'PENDING_PAYMENT',
      'PREPARING',
      'READY_FOR_PICKUP',
      'REJECTED',
    ]);
    expect(values('OrderAction')).toEqual([
      'ACCEPT',
      'ASSIGN_RIDER',
      'CANCEL',
      'COMPLETE_PREPARATION',
      'DELIVER',
      'PAY',
      'PICK_UP',
      'REJECT',
    ]);
  });

  it('the Error interface and every error type, with their fields', () => {
    const error = schema.getType('Error');
    expect(kindOf('Error')).toBe('GraphQLInterfaceType');
    const errorFields = (error as GraphQLInterfaceType).getFields();
    expect(String(errorFields.message!.type)).toBe('String!');
    expect(String(errorFields.code!.type)).toBe('String!');
    for (const name of Object.keys(ERROR_TYPES)) expect(objectType(name).getInterfaces().map(String), name).toContain('Error');
    const fields = (name: string) => Object.fromEntries(Object.values(objectType(name).getFields()).map((f) => [f.name, String(f.type)]));
    expect(fields('VersionConflictError')).toMatchObject({ currentVersion: 'Int!', currentStatus: 'OrderStatus!' });
    expect(fields('InvalidTransitionError')).toMatchObject({ currentStatus: 'OrderStatus!', allowedActions: '[OrderAction!]!' });
    const fieldError = String(objectType('ValidationError').getFields().fields!.type).replace(/[[\]!]/g, '');
    expect(fields(fieldError)).toMatchObject({ path: '[String!]!', message: 'String!' });
  });

  it.each(ORDER_ACTION_MUTATIONS)('%s(orderId: ID!, expectedVersion: Int!, input: XInput!): XResult!', (name) => {
    const typeName = name[0]!.toUpperCase() + name.slice(1);
    const field = schema.getMutationType()!.getFields()[name]!;
    expect(field, name).toBeDefined();
    expect(argTypes(field)).toEqual({ orderId: 'ID!', expectedVersion: 'Int!', input: `${typeName}Input!` });
    expect(String(field.type)).toBe(`${typeName}Result!`);
    const result = schema.getType(`${typeName}Result`) as GraphQLUnionType;
    expect(kindOf(`${typeName}Result`)).toBe('GraphQLUnionType');
    // SPEC §8: a payment can also find the provider unavailable.
    const provider = name === 'payOrder' ? ['PaymentProviderUnavailableError'] : [];
    expect(result.getTypes().map(String).sort()).toEqual([`${typeName}Success`, ...Object.keys(ERROR_TYPES), ...provider].sort());
    expect(Object.fromEntries(Object.values(objectType(`${typeName}Success`).getFields()).map((f) => [f.name, String(f.type)]))).toEqual({
      order: 'Order!',
      replayed: 'Boolean!',
    });
    const input = (schema.getType(`${typeName}Input`) as GraphQLInputObjectType).getFields();
    expect(String(input.idempotencyKey!.type)).toBe(name === 'payOrder' ? 'String!' : 'String');
  });

  it('the inputs SPEC §4 spells out', () => {
    const input = (name: string) =>
      Object.fromEntries(Object.values((schema.getType(name) as GraphQLInputObjectType).getFields()).map((f) => [f.name, String(f.type)]));
    expect(input('PayOrderInput')).toEqual({ idempotencyKey: 'String!', paymentMethod: 'String!', amount: 'Int!' });
    expect(input('CreateOrderInput')).toEqual({
      idempotencyKey: 'String!',
      restaurantId: 'ID!',
      items: '[OrderItemInput!]!',
      deliveryAddress: 'String!',
    });
    expect(input('AcceptOrderInput')).toEqual({ idempotencyKey: 'String' });
    expect(input('CancelOrderInput')).toEqual({ idempotencyKey: 'String', reason: 'String' });
    expect(input('RejectOrderInput')).toEqual({ idempotencyKey: 'String', reason: 'String' });
    expect(input('AssignRiderInput')).toEqual({ idempotencyKey: 'String', riderId: 'ID' });
    const create = schema.getMutationType()!.getFields().createOrder!;
    expect(argTypes(create)).toEqual({ input: 'CreateOrderInput!' });
    expect(String(create.type)).toBe('CreateOrderResult!');
    const location = schema.getMutationType()!.getFields().updateRiderLocation!;
    expect(input(String(location.args[0]!.type).replace('!', ''))).toEqual({ lat: 'Float!', lng: 'Float!' });
  });

  it('the subscriptions of SPEC §4', () => {
    const subscription = schema.getSubscriptionType();
    expect(subscription, 'no Subscription type').toBeDefined();
    const fields = subscription!.getFields();
    expect(argTypes(fields.orderUpdated!)).toEqual({ orderId: 'ID!' });
    expect(String(fields.orderUpdated!.type)).toBe('Order!');
    expect(argTypes(fields.restaurantOrderUpdated!)).toEqual({ restaurantId: 'ID!' });
    expect(String(fields.restaurantOrderUpdated!.type)).toBe('Order!');
  });
});
