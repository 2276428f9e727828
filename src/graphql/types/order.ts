/** Order, its items, history and payment; the order queries and every order action mutation. */
import { GraphQLError } from 'graphql';
import { NotFoundError, ValidationError } from '../../domain/errors.ts';
import { PAGE_SIZE, visibleOrderWhere, visiblePaymentWhere } from '../../domain/orders/order.queries.ts';
import type { ActionResult, OrderCommand } from '../../domain/orders/order.service.ts';
import { availableActions } from '../../domain/orders/order-access.ts';
import type { OrderStatusName } from '../../domain/orders/order-state-machine.ts';
import { builder } from '../builder.ts';
import type { GraphQLContext } from '../context.ts';
import { byIdField, loadById, NODE_BY_ID, parseId } from '../ids.ts';
import { ActorRoleEnum, OrderActionEnum, OrderStatusEnum } from './enums.ts';
import { ORDER_ACTION_ERRORS, PAY_ORDER_ERRORS } from './errors.ts';

export const OrderRef = builder.prismaNode('Order', {
  ...NODE_BY_ID,
  // node(id:) finds only orders the viewer can see: anything else does not exist for it.
  findUnique: (id, ctx) => visibleOrderWhere(ctx.actor, Number(id)),
  fields: (t) => ({
    databaseId: t.exposeInt('id'),
    status: t.expose('status', { type: OrderStatusEnum }),
    version: t.exposeInt('version'),
    totalAmount: t.exposeInt('totalAmount', { description: 'Integer KRW.' }),
    deliveryAddress: t.exposeString('deliveryAddress'),
    items: t.relation('items', { query: { orderBy: { position: 'asc' } } }),
    restaurant: t.relation('restaurant'),
    rider: t.relation('rider', { nullable: true }),
    customer: t.relation('customer'),
    payment: t.field({
      type: PaymentRef,
      nullable: true,
      description: 'The latest payment attempt (an order has at most one successful payment).',
      select: { payments: { orderBy: { id: 'desc' }, take: 1 } },
      resolve: (order) => order.payments[0] ?? null,
    }),
    history: t.relation('events', { query: { orderBy: { version: 'asc' } } }),
    availableActions: t.field({
      type: [OrderActionEnum],
      description: 'What the viewer may do with this order now.',
      resolve: (order, _args, ctx) => (ctx.actor ? availableActions(ctx.actor, order) : []),
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

builder.prismaObject('OrderItem', {
  fields: (t) => ({
    menuItem: t.relation('menuItem'),
    name: t.exposeString('name', { description: 'The menu item name when the order was placed.' }),
    quantity: t.exposeInt('quantity'),
    unitPrice: t.exposeInt('unitPrice', { description: 'Integer KRW, fixed when the order was placed.' }),
    lineTotal: t.exposeInt('lineTotal'),
  }),
});

const EventActorRef = builder.objectRef<{ role: string; id: number }>('EventActor').implement({
  fields: (t) => ({
    role: t.field({ type: ActorRoleEnum, resolve: (actor) => actor.role as never }),
    databaseId: t.exposeInt('id'),
  }),
});

builder.prismaObject('OrderEvent', {
  description: 'One change of an order. The first entry is its creation (action and fromStatus null).',
  fields: (t) => ({
    version: t.exposeInt('version'),
    action: t.field({ type: OrderActionEnum, nullable: true, resolve: (event) => event.action as never }),
    fromStatus: t.field({ type: OrderStatusEnum, nullable: true, resolve: (event) => event.fromStatus }),
    toStatus: t.expose('toStatus', { type: OrderStatusEnum }),
    actor: t.field({ type: EventActorRef, resolve: (event) => ({ role: event.actorRole, id: event.actorId }) }),
    reason: t.exposeString('reason', { nullable: true }),
    at: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

export const PaymentRef = builder.prismaNode('Payment', {
  ...NODE_BY_ID,
  findUnique: (id, ctx) => visiblePaymentWhere(ctx.actor, Number(id)),
  fields: (t) => ({
    databaseId: t.exposeInt('id'),
    amount: t.exposeInt('amount'),
    method: t.exposeString('method'),
    status: t.exposeString('status', { description: '`succeeded` or `declined`.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

/** Checks a connection's page size (SPEC §4: 1–100, default 20). */
export function checkPageSize(first: number | null | undefined): void {
  if (first !== null && first !== undefined && (first < 1 || first > PAGE_SIZE.max)) {
    throw new GraphQLError(`first must be between 1 and ${PAGE_SIZE.max}`, { extensions: { code: 'BAD_USER_INPUT' } });
  }
}

builder.queryFields((t) => ({
  order: t.prismaField({
    type: 'Order',
    ...byIdField(t),
    // authScopes guarantee an actor here.
    resolve: loadById('Order', (ctx) => ctx.queries.visibleOrder.bind(null, ctx.actor!)),
  }),
  orders: t.prismaConnection({
    type: 'Order',
    cursor: 'id',
    defaultSize: PAGE_SIZE.default,
    maxSize: PAGE_SIZE.max,
    authScopes: { authenticated: true },
    description: 'The orders the viewer can see, newest first.',
    args: { status: t.arg({ type: [OrderStatusEnum], required: false }) },
    resolve: (query, _root, args, ctx) => {
      checkPageSize(args.first);
      return ctx.queries.visibleOrders(ctx.actor, (args.status ?? []) as OrderStatusName[], query);
    },
  }),
}));

/** `<Action>Success { order, replayed }`, one per action. */
function successType(name: string) {
  return builder.objectRef<ActionResult>(name).implement({
    isTypeOf: (value) => typeof value === 'object' && value !== null && 'replayed' in value && 'order' in value,
    fields: (t) => ({
      order: t.field({ type: OrderRef, nullable: false, resolve: (result) => result.order }),
      replayed: t.exposeBoolean('replayed', { description: 'True when this answers an idempotency key used before.' }),
    }),
  });
}

/** The order id of an action's arguments; an id that names no order is NotFoundError (data, not a GraphQL error). */
function orderCommand(
  ctx: GraphQLContext,
  args: { orderId: string | number; expectedVersion: number },
  idempotencyKey?: string | null,
): OrderCommand {
  const orderId = parseId(String(args.orderId), 'Order');
  if (orderId === null) throw new NotFoundError('Order', String(args.orderId));
  // authScopes guarantee an actor here.
  return { actor: ctx.actor!, orderId, expectedVersion: args.expectedVersion, idempotencyKey };
}

type ActionInputFields = Parameters<Parameters<typeof builder.inputType>[1]['fields']>[0];

/**
 * Defines `<name>(orderId: ID!, expectedVersion: Int!, input: <Name>Input!): <Name>Result!` over one service call.
 * Resolvers only translate: parse ids, build the command, call the service.
 */
function orderActionMutation<Input extends object>(
  name: string,
  description: string,
  inputFields: (t: ActionInputFields) => Record<string, unknown>,
  run: (ctx: GraphQLContext, command: OrderCommand, input: Input) => Promise<ActionResult>,
  errorTypes: readonly (new (...args: never[]) => Error)[] = ORDER_ACTION_ERRORS,
) {
  const typeName = name[0]!.toUpperCase() + name.slice(1);
  const InputType = builder.inputType(`${typeName}Input`, {
    fields: (t) => ({ idempotencyKey: t.string({ required: false }), ...(inputFields(t) as object) }) as never,
  });
  const Success = successType(`${typeName}Success`);
  builder.mutationField(name, (t) =>
    t.field({
      type: Success,
      description,
      authScopes: { authenticated: true },
      errors: { types: [...errorTypes], directResult: true, union: { name: `${typeName}Result` } },
      args: {
        orderId: t.arg.id({ required: true }),
        expectedVersion: t.arg.int({
          required: true,
          description: 'The version the client last saw; a stale one is VersionConflictError.',
        }),
        input: t.arg({ type: InputType, required: true }),
      },
      resolve: (_root, args, ctx) => {
        const input = args.input as unknown as Input & { idempotencyKey?: string | null };
        return run(ctx, orderCommand(ctx, args, input.idempotencyKey), input);
      },
    }),
  );
}

orderActionMutation<{ idempotencyKey: string; paymentMethod: string; amount: number }>(
  'payOrder',
  'Pays the exact total (customer). A declined payment succeeds as an action and leaves the order PAYMENT_FAILED.',
  (t) => ({
    idempotencyKey: t.string({ required: true }),
    paymentMethod: t.string({ required: true, description: 'card, bank_transfer, wallet, or test_decline (always declined).' }),
    amount: t.int({ required: true, description: 'Must equal the order total (integer KRW).' }),
  }),
  (ctx, command, input) => ctx.orders.payOrder({ ...command, paymentMethod: input.paymentMethod, amount: input.amount }),
  PAY_ORDER_ERRORS,
);

const reasonInput = (t: ActionInputFields) => ({ reason: t.string({ required: false }) });

/** The actions whose input is at most a reason: the service takes the command with the input's fields. */
const ACTIONS = [
  ['cancelOrder', 'Cancels an order before the restaurant accepts it (customer); a payment is refunded.', reasonInput],
  ['acceptOrder', 'Accepts a paid order (restaurant).', () => ({})],
  ['rejectOrder', 'Rejects a paid order (restaurant); the payment is refunded.', reasonInput],
  ['completeOrderPreparation', 'Marks the food ready for pickup (restaurant).', () => ({})],
  ['pickUpOrder', 'The assigned rider picks the food up.', () => ({})],
  ['deliverOrder', 'The assigned rider hands the food over.', () => ({})],
] as const;

for (const [name, description, inputFields] of ACTIONS) {
  orderActionMutation<{ reason?: string | null }>(name, description, inputFields, (ctx, command, input) =>
    ctx.orders[name]({ ...command, ...input }),
  );
}

orderActionMutation<{ riderId?: string | null }>(
  'assignRider',
  'A rider claims the order for itself (no riderId); an admin assigns the rider it names.',
  (t) => ({ riderId: t.id({ required: false, description: 'Required for an admin, refused for a rider.' }) }),
  (ctx, command, input) => {
    let riderId: number | null = null;
    if (input.riderId !== undefined && input.riderId !== null) {
      riderId = parseId(String(input.riderId), 'Rider');
      if (riderId === null) throw ValidationError.of('riderId', 'is not a rider id');
    }
    return ctx.orders.assignRider({ ...command, riderId });
  },
);

const OrderItemInput = builder.inputType('OrderItemInput', {
  fields: (t) => ({
    menuItemId: t.id({ required: true }),
    quantity: t.int({ required: true, description: '1–99' }),
  }),
});

const CreateOrderInput = builder.inputType('CreateOrderInput', {
  fields: (t) => ({
    idempotencyKey: t.string({ required: true }),
    restaurantId: t.id({ required: true }),
    items: t.field({ type: [OrderItemInput], required: true, description: '1–50 lines' }),
    deliveryAddress: t.string({ required: true, description: 'At most 500 characters.' }),
  }),
});

builder.mutationField('createOrder', (t) =>
  t.field({
    type: successType('CreateOrderSuccess'),
    description: 'Places an order (customer). Prices are fixed now; the order starts PENDING_PAYMENT at version 1.',
    authScopes: { authenticated: true },
    errors: { types: ORDER_ACTION_ERRORS, directResult: true, union: { name: 'CreateOrderResult' } },
    args: { input: t.arg({ type: CreateOrderInput, required: true }) },
    resolve: (_root, { input }, ctx) => {
      const restaurantId = parseId(String(input.restaurantId), 'Restaurant');
      if (restaurantId === null) throw ValidationError.of('restaurantId', 'is not a restaurant id');
      const items = input.items.map((item, index) => {
        const menuItemId = parseId(String(item.menuItemId), 'MenuItem');
        if (menuItemId === null) throw ValidationError.of(['items', String(index), 'menuItemId'], 'is not a menu item id');
        return { menuItemId, quantity: item.quantity };
      });
      return ctx.orders.createOrder({
        actor: ctx.actor!,
        idempotencyKey: input.idempotencyKey,
        restaurantId,
        items,
        deliveryAddress: input.deliveryAddress,
      });
    },
  }),
);
