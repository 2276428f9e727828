/** Enums: domain names (snake_case) inside, UPPER_SNAKE_CASE in the schema. */
import { ROLES } from '../../domain/auth.ts';
import { ORDER_ACTIONS, ORDER_STATUSES } from '../../domain/orders/order-state-machine.ts';
import { builder } from '../builder.ts';

const upper = <T extends string>(values: readonly T[]) =>
  Object.fromEntries(values.map((value) => [value.toUpperCase(), { value }])) as { [K in T as Uppercase<K>]: { value: K } };

export const OrderStatusEnum = builder.enumType('OrderStatus', { values: upper(ORDER_STATUSES) });
export const OrderActionEnum = builder.enumType('OrderAction', { values: upper(ORDER_ACTIONS) });
export const ActorRoleEnum = builder.enumType('ActorRole', { values: upper(ROLES) });
