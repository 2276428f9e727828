/** The `Error` interface and one object type per domain error, used as union members by the errors plugin. */
import {
  type DomainError,
  ForbiddenError,
  IdempotencyKeyInProgressError,
  IdempotencyKeyReusedError,
  InvalidTransitionError,
  NotFoundError,
  PaymentProviderUnavailableError,
  ValidationError,
  VersionConflictError,
} from '../../domain/errors.ts';
import { builder } from '../builder.ts';
import { OrderActionEnum, OrderStatusEnum } from './enums.ts';

export const ErrorInterface = builder.interfaceRef<DomainError>('Error').implement({
  fields: (t) => ({
    message: t.exposeString('message'),
    code: t.exposeString('code'),
  }),
});

/** An error type: its name, the Error interface, recognising its class; no fields beyond message and code. */
const errorType = <T extends DomainError>(ErrorClass: new (...args: never[]) => T, name: string) => ({
  name,
  interfaces: [ErrorInterface],
  isTypeOf: (value: unknown) => value instanceof ErrorClass,
  fields: () => ({}),
});

builder.objectType(VersionConflictError, {
  ...errorType(VersionConflictError, 'VersionConflictError'),
  fields: (t) => ({
    currentVersion: t.exposeInt('currentVersion'),
    currentStatus: t.field({ type: OrderStatusEnum, resolve: (error) => error.currentStatus }),
  }),
});

builder.objectType(InvalidTransitionError, {
  ...errorType(InvalidTransitionError, 'InvalidTransitionError'),
  fields: (t) => ({
    currentStatus: t.field({ type: OrderStatusEnum, resolve: (error) => error.currentStatus }),
    allowedActions: t.field({ type: [OrderActionEnum], resolve: (error) => error.allowedActions }),
  }),
});

builder.objectType(ForbiddenError, errorType(ForbiddenError, 'ForbiddenError'));
builder.objectType(NotFoundError, errorType(NotFoundError, 'NotFoundError'));
builder.objectType(IdempotencyKeyReusedError, errorType(IdempotencyKeyReusedError, 'IdempotencyKeyReusedError'));
builder.objectType(IdempotencyKeyInProgressError, errorType(IdempotencyKeyInProgressError, 'IdempotencyKeyInProgressError'));

builder.objectType(PaymentProviderUnavailableError, {
  ...errorType(PaymentProviderUnavailableError, 'PaymentProviderUnavailableError'),
  description:
    'The payment provider could not be reached, failed or timed out: nothing was charged or recorded. Retry with the same idempotency key.',
  fields: (t) => ({
    retryAfterSeconds: t.exposeInt('retryAfterSeconds', { description: 'When a retry is worth it.' }),
  }),
});

const FieldErrorType = builder.objectRef<{ path: string[]; message: string }>('FieldError').implement({
  description: 'One invalid input field: its path in the input (e.g. ["items", "0", "quantity"]) and what is wrong.',
  fields: (t) => ({
    path: t.exposeStringList('path'),
    message: t.exposeString('message'),
  }),
});

builder.objectType(ValidationError, {
  ...errorType(ValidationError, 'ValidationError'),
  fields: (t) => ({
    fields: t.field({ type: [FieldErrorType], resolve: (error) => error.fields }),
  }),
});

/** The error members of every action's result union on an existing order. */
export const ORDER_ACTION_ERRORS = [
  VersionConflictError,
  InvalidTransitionError,
  ForbiddenError,
  NotFoundError,
  ValidationError,
  IdempotencyKeyReusedError,
  IdempotencyKeyInProgressError,
];

/** payOrder's error members: every action's, plus the provider being unavailable (SPEC §8). */
export const PAY_ORDER_ERRORS = [...ORDER_ACTION_ERRORS, PaymentProviderUnavailableError];
