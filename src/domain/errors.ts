/**
 * Domain errors: thrown by the services, each with a stable `code`, mapped once per transport
 * (a union member in GraphQL, a problem+json status in REST).
 */
import type { OrderActionName, OrderStatusName } from './orders/order-state-machine.ts';

export abstract class DomainError extends Error {
  abstract readonly code: string;
}

export class UnauthenticatedError extends DomainError {
  readonly code = 'UNAUTHENTICATED';
  constructor(message = 'Authentication required: send a valid bearer token') {
    super(message);
  }
}

export class NotFoundError extends DomainError {
  readonly code = 'NOT_FOUND';
  constructor(
    readonly resource: string,
    readonly id: string | number,
  ) {
    super(`${resource} ${id} was not found`);
  }
}

export class ForbiddenError extends DomainError {
  readonly code = 'FORBIDDEN';
}

export class VersionConflictError extends DomainError {
  readonly code = 'VERSION_CONFLICT';
  constructor(
    readonly currentVersion: number,
    readonly currentStatus: OrderStatusName,
    /** What the command expected; null for an unconditional action that kept losing the race to concurrent changes. */
    readonly expectedVersion: number | readonly number[] | null,
  ) {
    super(
      expectedVersion === null
        ? `The order kept changing while this action ran (now at version ${currentVersion}): re-read it and retry`
        : `The order is at version ${currentVersion}, not ${[expectedVersion].flat().join(' or ') || 'any version expected'}: re-read it and retry`,
    );
  }
}

export class InvalidTransitionError extends DomainError {
  readonly code = 'INVALID_TRANSITION';
  constructor(
    readonly action: OrderActionName,
    readonly currentStatus: OrderStatusName,
    /** What this actor may do in the current state. */
    readonly allowedActions: OrderActionName[],
    detail?: string,
  ) {
    super(detail ?? `Cannot ${action.replaceAll('_', ' ')} an order that is ${currentStatus.replaceAll('_', ' ')}`);
  }
}

export type FieldError = { path: string[]; message: string };

export class ValidationError extends DomainError {
  readonly code = 'VALIDATION_FAILED';
  constructor(readonly fields: FieldError[]) {
    super(fields.map((field) => (field.path.length ? `${field.path.join('.')}: ${field.message}` : field.message)).join('; '));
  }

  /** A validation error about a single field. */
  static of(path: string | string[], message: string): ValidationError {
    return new ValidationError([{ path: typeof path === 'string' ? [path] : path, message }]);
  }
}

export class IdempotencyKeyReusedError extends DomainError {
  readonly code = 'IDEMPOTENCY_KEY_REUSED';
  constructor() {
    super('This idempotency key was already used for a different request');
  }
}

export class IdempotencyKeyInProgressError extends DomainError {
  readonly code = 'IDEMPOTENCY_KEY_IN_PROGRESS';
  constructor() {
    super('A request with this idempotency key is still running; retry in a second');
  }
}

/** The payment provider could not be reached, answered 5xx or timed out: nothing was recorded, retry later. */
export class PaymentProviderUnavailableError extends DomainError {
  readonly code = 'PAYMENT_PROVIDER_UNAVAILABLE';
  constructor(
    /** Seconds after which a retry is worth it (REST Retry-After). */
    readonly retryAfterSeconds = 2,
  ) {
    super('The payment provider is unavailable: nothing was charged or recorded; retry with the same idempotency key');
  }
}

/**
 * Another payment of the same order is still with the provider. To clients it is the in-progress error of SPEC §4
 * (409, Retry-After: 1): a request like theirs is still running, and retrying shortly tells them how it ended.
 */
export class PaymentInProgressError extends IdempotencyKeyInProgressError {
  override readonly message = 'Another payment of this order is still being processed; retry in a second';
}
